"""Sync records exactly what derive reports, whether the data arrives at once or day by day.

Every worked case (../shared/scenarios and tests/cases) is synced into a fresh database
in one batch, and in date-ordered batches with a sync after each; the ledger must then
hold the reports `derive` gives for the whole data at the case's as-of day, once each.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from adapter.domain.model import Finding
from adapter.services import derive
from tests.storage import Database, make_store, make_twin
from tests.sync.helpers import batches_by_day, cuts_before, keys_of, ledger, run_sync
from tests.test_scenarios import OWN_CASES, SHARED_CASES

CASES = [*SHARED_CASES, *OWN_CASES]
# Cases whose expected reports are not empty: with or without ../shared beside the clone,
# the first of them give the twice-run test something to record.
REPORTING = [c for c in CASES if json.loads((c / "expected.json").read_text())["reports"]]


def _name(case: Path) -> str:
    return case.name


SPLITS = {
    "one-batch": (),
    "three-batches": (40, 20, 7),
    "six-batches": (90, 60, 30, 11, 3),
}


def _as_of(case: Path) -> date:
    return date.fromisoformat(json.loads((case / "expected.json").read_text())["as_of"])


def _identity(finding: Finding) -> tuple[str, str, str]:
    """What a finding is about: its severity, rule and first source (the patient or the
    resource). A count in its message may differ between batches (R-SUB-5 counts the events
    new in the batch), its subject may not."""
    return (finding.severity, finding.rule, finding.sources[0] if finding.sources else "")


@pytest.mark.parametrize("split", list(SPLITS), ids=str)
@pytest.mark.parametrize("case", CASES, ids=_name)
def test_sync_in_batches_records_what_derive_reports(
    case: Path, split: str, tmp_path: Path
) -> None:
    """Day-ordered batches, each synced, leave the ledger holding derive's reports once, and
    show derive's findings: all of them in one batch, each at least once over the batches,
    and none in the last run that derive does not give."""
    as_of = _as_of(case)
    store, _ = make_twin()
    cuts = cuts_before(as_of, SPLITS[split])
    shown: set[tuple[str, str, str]] = set()
    last = None
    for batch, cut in zip(batches_by_day(case / "input.json", cuts, tmp_path), cuts, strict=True):
        last = run_sync(store, [batch], cut)
        shown |= {_identity(f) for f in last.findings}
    assert last is not None
    expected = derive([case / "input.json"], as_of=as_of)
    assert keys_of(h.report for h in ledger(store)) == keys_of(expected.reports)
    if split == "one-batch":
        assert last.findings == expected.findings
    else:
        assert {_identity(f) for f in expected.findings} <= shown
        assert {_identity(f) for f in last.findings} <= {_identity(f) for f in expected.findings}


@pytest.mark.parametrize("path", CASES[:8], ids=_name)
def test_sync_in_batches_on_both_databases(path: Path, database: Database, tmp_path: Path) -> None:
    """SQLite and PostgreSQL end with the same ledger for the same batches."""
    as_of = _as_of(path)
    store, _ = make_store(database.url)
    cuts = cuts_before(as_of, SPLITS["three-batches"])
    for batch, cut in zip(batches_by_day(path / "input.json", cuts, tmp_path), cuts, strict=True):
        run_sync(store, [batch], cut)
    assert keys_of(h.report for h in ledger(store)) == keys_of(
        derive([path / "input.json"], as_of=as_of).reports
    )


@pytest.mark.parametrize("path", REPORTING[:6], ids=_name)
def test_running_sync_twice_adds_nothing(path: Path, tmp_path: Path) -> None:
    """The same data on the same day twice: the second run records no report."""
    store, _ = make_twin()
    first = run_sync(store, [path / "input.json"], _as_of(path))
    second = run_sync(store, [path / "input.json"], _as_of(path))
    assert first.recorded
    assert second.recorded == []
    assert second.changed == 0
    assert len(ledger(store)) == len(first.recorded)


@pytest.mark.parametrize("path", CASES, ids=_name)
def test_deriving_everything_afresh_agrees_with_the_incremental_ledger(
    path: Path, tmp_path: Path
) -> None:
    """After incremental syncs, a sync with --rebuild finds nothing new and no contradiction."""
    as_of = _as_of(path)
    store, _ = make_twin()
    cuts = cuts_before(as_of, SPLITS["six-batches"])
    batches = batches_by_day(path / "input.json", cuts, tmp_path)
    for batch, cut in zip(batches, cuts, strict=True):
        run_sync(store, [batch], cut)
    again = run_sync(store, [batches[-1]], as_of, rebuild=True)
    assert again.recorded == []
    assert again.rebuilt == again.walked
    assert not [f for f in again.findings if f.rule == "R-EP-5"]
