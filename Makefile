# The first two commands on a fresh machine: `make run` and `make test`.
# Both create .venv and install what they need; nothing is assumed installed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
AS_OF ?= 2025-12-31
SCENARIOS := ../shared/scenarios

.PHONY: run stop test soak lint typecheck unit scenarios bench bench-sync clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The embedded default: a SQLite file and a keyring under .run/ (never a default key).
RUN_ENV := SUBSTREG_HOME=$(CURDIR)/.run/home SUBSTREG_DATABASE_URL=sqlite:///$(CURDIR)/.run/substreg.db

run: $(STAMP)
	@echo "== 1. The register reports of the bundled demo practice (demo/), derived as of $(AS_OF):"
	$(BIN)/substreg derive demo/ --as-of $(AS_OF) --config demo/practice.toml --format table
	@echo
	@echo "== 2. The same data synced into the embedded database (.run/): ledger, pseudonyms, audit"
	$(RUN_ENV) $(BIN)/substreg init
	$(RUN_ENV) $(BIN)/substreg sync demo/ --as-of $(AS_OF) --config demo/practice.toml
	@$(RUN_ENV) BIN=$(BIN) demo/round.sh
	@echo
	@echo "Where to look:"
	@echo "  the ledger:        $(RUN_ENV) $(BIN)/substreg reports list"
	@echo "  one report:        $(RUN_ENV) $(BIN)/substreg reports show LEDGER_ID"
	@echo "  a batch, receipt:  $(RUN_ENV) $(BIN)/substreg outbox show BATCH_ID"
	@echo "  the setup:         .run/practice.toml, .run/keys/ (the simulator: .run/register/, its log .run/register-sim.log)"
	@echo "  the simulator:     $(BIN)/substreg register-sim --state .run/register  (then GET http://127.0.0.1:8765/registrations)"
	@echo "  JSON (REPORTS.md): $(BIN)/substreg derive demo/ --as-of $(AS_OF) --config demo/practice.toml"
	@echo "  your own export:   $(BIN)/substreg sync PATH... [--as-of YYYY-MM-DD] [--config practice.toml]"
	@echo "  how it is sent:    docs/SUBMISSION.md"
	@echo "  (running make run again adds nothing: sync records each report once, nothing is left to approve or send)"
	@BIN=$(BIN) AS_OF=$(AS_OF) demo/serve.sh

# The service make run leaves running in the background (.run/service.pid).
stop:
	@BIN=$(BIN) demo/serve.sh stop

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Branch coverage is measured where it is read, in CI: `.ci/run` runs `make test` with
# COVERAGE=1, and the report fails under the floor in pyproject.toml. A developer's
# `make test` runs every test without the tracer, which costs 70 % more CPU (D-152).
COVERAGE ?= 0
COVERAGE_ARGS := $(if $(filter 1,$(COVERAGE)),--cov --cov-report=term:skip-covered,)

# Compiled modules are cached under .venv/pycache, also where the shell sets
# PYTHONDONTWRITEBYTECODE: without the cache every test worker compiles the package and
# rewrites every test module again (≈ 8 s of CPU a worker), and nothing lands in the tree.
PYCACHE := env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache

# worksteal: a worker that runs out takes queued tests from the other, so the long tests
# (collected first, tests/conftest.py) do not leave one core idle at the end.
unit: $(STAMP)
	$(PYCACHE) $(BIN)/pytest -n auto --dist worksteal $(COVERAGE_ARGS) -q

scenarios: $(STAMP)
	@if [ -d $(SCENARIOS) ]; then \
		$(BIN)/python $(SCENARIOS)/check.py $(SCENARIOS) --cmd "$(CURDIR)/$(BIN)/substreg"; \
	else echo "$(SCENARIOS) not present: the public scenarios run from tests/ only when it is"; fi

# The crash test (tests/submission/test_crash.py) runs here with 12 kills per database and
# 96 reports, so that its path is always exercised; `make soak` runs it in full (D-117, D-218).
test: export SUBSTREG_CRASH_KILLS ?= 12
test: export SUBSTREG_CRASH_REPORTS ?= 96
test: export SUBSTREG_TEST_DEPTH ?= quick
test: lint typecheck unit scenarios

# The tests `make test` runs at a quick depth (tests/depth.py), in full: the crash test
# with 240 SIGKILLs per database (the issue asks for at least 200), on SQLite and
# PostgreSQL; every byte of an envelope flipped; every scenario tenant's round on both
# databases. CI runs it after `make test` on every change (D-117, D-218).
DEEP_TESTS := tests/submission/test_crash.py tests/crypto/test_envelope_tamper.py tests/e2e
soak: $(STAMP)
	SUBSTREG_TEST_DEPTH=full SUBSTREG_CRASH_KILLS=$${SUBSTREG_CRASH_KILLS:-240} \
		SUBSTREG_CRASH_REPORTS=1000 $(PYCACHE) $(BIN)/pytest -q -p no:cacheprovider -s $(DEEP_TESTS)

bench: $(STAMP)
	$(BIN)/python benchmarks/derive.py
	$(BIN)/python benchmarks/submit_roundtrip.py --database sqlite
	$(BIN)/python benchmarks/submit_roundtrip.py --database postgresql

bench-sync: $(STAMP)
	$(BIN)/python benchmarks/sync.py

clean: stop
	rm -rf $(VENV) .run .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis
