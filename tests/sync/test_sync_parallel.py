"""Two syncs of the same data at the same time record each report exactly once.

The writer lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL) makes
parallel runs take turns; underneath it, the UNIQUE slot of the ledger decides, so the
result holds even when the lock is off and both runs plan the same reports at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapter.crypto import save_keyring
from adapter.services.sync import SyncResult
from adapter.store.ledger import Ledger
from adapter.store.schema import report
from tests.storage import Database, make_store
from tests.sync import fhir
from tests.sync.helpers import ledger, run_sync

D = date
ROOT = Path(__file__).resolve().parents[2]


def _slots(store_ledger: list[object]) -> Counter[tuple[object, ...]]:
    return Counter(
        (h.report.kind, h.report.date, h.report.patient_code)  # type: ignore[attr-defined]
        for h in store_ledger
    )


def _practice(tmp_path: Path, patients: int = 4) -> Path:
    resources = [fhir.doctor()]
    for n in range(patients):
        resources.append(
            fhir.patient(f"p{n}", given=f"Anna{chr(65 + n)}", birth_date=f"198{n}-0{n + 1}-1{n}")
        )
        resources += fhir.daily(f"p{n}", D(2025, 3, 1), D(2025, 3, 10 + n))
    # A patient who goes on keeps the export current: four ends at once on an export without
    # recent events would be a mass end (D-48).
    resources.append(fhir.patient("p9", given="Berta", birth_date="1979-09-19"))
    resources += fhir.daily("p9", D(2025, 3, 1), D(2025, 3, 24))
    return fhir.write_bundle(tmp_path / "practice.json", resources)


def test_two_processes_syncing_the_same_data_record_each_report_once(
    database: Database, tmp_path: Path
) -> None:
    """`substreg sync` started twice at once: every report is in the ledger exactly once."""
    store, keyring = make_store(database.url)
    keyring_file = tmp_path / "keyring.json"
    save_keyring(keyring, keyring_file)
    data = _practice(tmp_path)
    env = {
        **os.environ,
        "SUBSTREG_DATABASE_URL": database.url,
        "SUBSTREG_KEYRING_FILE": str(keyring_file),
        "SUBSTREG_HOME": str(tmp_path / "home"),
    }
    argv = [sys.executable, "-m", "adapter.cli", "sync", str(data), "--as-of", "2025-03-24"]
    runs = [
        subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
    counts = _slots(ledger(store))
    assert len(counts) == 9  # four patients with an Anmeldung and an Abmeldung, one going on
    assert set(counts.values()) == {1}


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_without_the_writer_lock_the_unique_slot_still_decides(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both transactions plan the same Abmeldungen before either writes: one row each."""
    first, keyring = make_store(database.url)
    data = _practice(tmp_path)
    run_sync(first, [data], D(2025, 3, 16))  # the Anmeldungen, and the mapping rows
    barrier = threading.Barrier(2, timeout=30)
    waited: set[int] = set()
    record_many = Ledger.record_many

    def planned_together(self: Ledger, items: list[object]) -> list[str | None]:
        if threading.get_ident() not in waited:  # only the first attempt of each thread
            waited.add(threading.get_ident())
            barrier.wait()
        return record_many(self, items)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "record_many", planned_together)
    stores = [make_store(database.url, keyring, serialize_writers=False)[0] for _ in range(2)]
    results: list[SyncResult] = []
    errors: list[BaseException] = []

    def sync_in_thread(index: int) -> None:
        try:
            results.append(run_sync(stores[index], [data], D(2025, 3, 24)))
        except BaseException as exc:  # the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=sync_in_thread, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(len(r.recorded) for r in results) == [0, 4]
    with first.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(report)).scalar_one() == 9
    assert set(_slots(ledger(first)).values()) == {1}
