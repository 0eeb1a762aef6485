"""An incremental sync reads the audit log's chain records of the patients it walks and
of the notices only, never those of the rest of the ledger (D-199): a day's sync costs as
much as that day's patients' history, not the whole ledger's."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapter.store.sql.ledger import SqlLedgerRows
from tests.storage import Database, make_store
from tests.sync import fhir
from tests.sync.helpers import run_sync

START = date(2025, 3, 3)
CHAIN = "ledger.row"


def _days(patients: list[str], first: int, last: int) -> list[dict[str, Any]]:
    since, until = START + timedelta(first), START + timedelta(last)
    return [r for p in patients for r in fhir.daily(p, since, until)]


def test_an_incremental_sync_reads_the_chain_of_its_patients_only(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Of four patients in the ledger, three of them ended, the sync of one patient's new
    days reads the chain records of that patient (and the notices) only."""
    store, _ = make_store(database.url)
    patients = ["p1", "p2", "p3", "p4"]
    base = [fhir.doctor(), *(fhir.patient(p, given=f"Name{p}") for p in patients)]
    first = fhir.write_bundle(tmp_path / "base.json", [*base, *_days(patients, 0, 9)])
    run_sync(store, [first], START + timedelta(9))
    ended = fhir.write_bundle(tmp_path / "ended.json", _days(["p1"], 10, 60))
    run_sync(store, [ended], START + timedelta(60))  # the others' treatments end (R-EP-3)
    with store.database.transaction(write=False) as rows:
        whole = rows.ledger.chained(CHAIN)
    ledger_patients = {e["mapping_id"] for e in whole.values()} - {None}
    assert len(ledger_patients) == len(patients)

    read: list[dict[str, Any]] = []
    original = SqlLedgerRows.chained

    def counted(self: SqlLedgerRows, action: str, *args: Any, **kwargs: Any) -> Any:
        found = original(self, action, *args, **kwargs)
        read.extend(found.values())
        return found

    monkeypatch.setattr(SqlLedgerRows, "chained", counted)
    later = fhir.write_bundle(tmp_path / "later.json", _days(["p1"], 61, 62))
    result = run_sync(store, [later], START + timedelta(62))

    assert result.walked == 1
    assert read  # the walked patient's rows were checked against the log
    assert len({e["mapping_id"] for e in read} - {None}) == 1
    assert len(read) < len(whole)
