# The first two commands on a fresh machine: `make run` and `make test`.
# Both create .venv and install what they need; nothing is assumed installed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
AS_OF ?= 2025-12-31
SCENARIOS := ../shared/scenarios

.PHONY: run test lint typecheck unit scenarios bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	@echo "Deriving the register reports of the bundled demo practice (demo/) as of $(AS_OF):"
	$(BIN)/substreg derive demo/ --as-of $(AS_OF) --config demo/practice.toml --format table
	@echo
	@echo "Where to look: the table above lists every report due by $(AS_OF) and the findings."
	@echo "  JSON (REPORTS.md):  $(BIN)/substreg derive demo/ --as-of $(AS_OF) --config demo/practice.toml"
	@echo "  Your own export:    $(BIN)/substreg derive PATH... --as-of YYYY-MM-DD [--config practice.toml]"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term:skip-covered -q

scenarios: $(STAMP)
	@if [ -d $(SCENARIOS) ]; then \
		$(BIN)/python $(SCENARIOS)/check.py $(SCENARIOS) --cmd "$(CURDIR)/$(BIN)/substreg"; \
	else echo "$(SCENARIOS) not present: the public scenarios run from tests/ only when it is"; fi

test: lint typecheck unit scenarios

bench: $(STAMP)
	$(BIN)/python benchmarks/derive.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis
