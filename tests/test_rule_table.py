"""docs/RULES-IN-CODE.md names, for every rule id, the one function that decides it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "RULES-IN-CODE.md"
RULES = ROOT.parent / "shared" / "domain" / "RULES.md"
RULE_ID = re.compile(r"\bR-[A-Z]+-\d+\b")
ROW = re.compile(r"^\| (R-[A-Z]+-\d+) \| (.+?) \| (.+?) \|$")


def rows() -> list[tuple[str, str, str]]:
    found = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            found.append((match.group(1), match.group(2), match.group(3)))
    return found


def _resolve(dotted: str) -> object:
    """`adapter.domain.phases._Walk._open`: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    msg = f"nothing importable in {dotted}"
    raise ModuleNotFoundError(msg)


@pytest.mark.parametrize(("rule", "where", "what"), rows(), ids=lambda v: str(v)[:40])
def test_each_rule_names_a_function_that_exists_or_the_issue_that_brings_it(
    rule: str, where: str, what: str
) -> None:
    """A renamed or deleted function fails here; a rule not decided yet names its issue."""
    if where.startswith("not yet"):
        assert re.fullmatch(r"not yet: issue \d+", where), (rule, where)
        return
    dotted = where.strip("`")
    assert callable(_resolve(dotted)), (rule, dotted)
    assert what.strip(), rule


def test_the_table_has_each_rule_once() -> None:
    """One row per rule id."""
    ids = [rule for rule, _, _ in rows()]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 50


def test_every_rule_of_rules_md_is_in_the_table() -> None:
    """Every rule id RULES.md defines has its row (skipped in a clone without ../shared)."""
    if not RULES.is_file():
        pytest.skip(f"{RULES} is not beside this clone")
    defined = {
        match.group(0)
        for line in RULES.read_text(encoding="utf-8").splitlines()
        if line.startswith("- R-")
        for match in [RULE_ID.search(line)]
        if match
    }
    assert defined - {rule for rule, _, _ in rows()} == set()
