"""Two inputs on which sync and derive once disagreed (issue 9.7) now give one ledger:
a MedicationRequest without `subject`, and a registration of one day whose Anmeldung and
Abmeldung are made on the same day (sync recorded only the Anmeldung: open for good).
Each is synced in one batch and in day-ordered batches, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapter.services import derive
from tests.storage import Database, make_store, make_twin
from tests.sync import fhir
from tests.sync.helpers import batches_by_day, cuts_before, keys_of, ledger, run_sync

SR = "https://fhir.substreg.dev"
DAY = date(2026, 3, 2)


def _episode(episode_id: str, kind: str, start: date, end: date | None = None) -> dict[str, Any]:
    period = {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})}
    return {
        "resourceType": "EpisodeOfCare",
        "id": episode_id,
        "status": "active",
        "type": [{"coding": [{"system": f"{SR}/CodeSystem/episode-type", "code": kind}]}],
        "patient": {"reference": "Patient/p1"},
        "period": period,
        "careManager": {"reference": "Practitioner/doc"},
    }


def _given_in(admin_id: str, day: date, episode_id: str) -> dict[str, Any]:
    admin = fhir.administration(admin_id, "p1", day, "none")
    del admin["request"]
    admin["context"] = {"reference": f"EpisodeOfCare/{episode_id}"}
    admin["performer"] = [{"actor": {"reference": "Practitioner/doc"}}]
    return admin


def one_day_registration() -> tuple[list[dict[str, Any]], date]:
    """A one-day detox that turns out to be substitution (R-NOT-5) 35 days later: its
    Anmeldung and its R-EP-3 Abmeldung, both dated 2 March, are made together (D-13)."""
    later = DAY + timedelta(days=35)
    return [
        _episode("d1", "detox", DAY, DAY + timedelta(days=40)),
        _given_in("a1", DAY, "d1"),
        _episode("s1", "substitution", later),
        _given_in("a2", later, "s1"),
    ], date(2026, 4, 20)


def request_without_subject() -> tuple[list[dict[str, Any]], date]:
    """The S request of the first intake has no subject: it belongs to nobody, so the
    intake is not tied to substitution by it; the daily intakes after are."""
    request = fhir.request("r-first", "p1", DAY)
    del request["subject"]
    return [
        request,
        fhir.administration("a-first", "p1", DAY, "r-first"),
        *fhir.daily("p1", DAY + timedelta(days=1), DAY + timedelta(days=5)),
    ], date(2026, 4, 1)


CASES: dict[str, Callable[[], tuple[list[dict[str, Any]], date]]] = {
    "one-day-registration": one_day_registration,
    "request-without-subject": request_without_subject,
}


def _bundle(tmp_path: Path, case: str) -> tuple[Path, date]:
    resources, as_of = CASES[case]()
    path = fhir.write_bundle(tmp_path / f"{case}.json", [fhir.doctor(), fhir.patient(), *resources])
    return path, as_of


@pytest.mark.parametrize("case", list(CASES))
def test_one_batch_records_what_derive_reports(
    case: str, database: Database, tmp_path: Path
) -> None:
    """The ledger of one sync holds derive's reports, once each."""
    bundle, as_of = _bundle(tmp_path, case)
    store, _ = make_store(database.url)
    run_sync(store, [bundle], as_of)
    expected = derive([bundle], as_of=as_of).reports
    assert expected
    assert keys_of(h.report for h in ledger(store)) == keys_of(expected)


@pytest.mark.parametrize("case", list(CASES))
def test_day_ordered_batches_record_what_derive_reports(
    case: str, database: Database, tmp_path: Path
) -> None:
    """Synced a few days at a time, the ledger ends as derive's reports."""
    bundle, as_of = _bundle(tmp_path, case)
    store, _ = make_store(database.url)
    cuts = cuts_before(as_of, (45, 30, 14, 3))
    for batch, cut in zip(batches_by_day(bundle, cuts, tmp_path), cuts, strict=True):
        run_sync(store, [batch], cut)
    assert keys_of(h.report for h in ledger(store)) == keys_of(
        derive([bundle], as_of=as_of).reports
    )


def test_the_one_day_registration_is_closed_in_the_ledger(tmp_path: Path) -> None:
    """The Abmeldung dated the day of its own Anmeldung is recorded, not refused (R-EP-4)."""
    bundle, as_of = _bundle(tmp_path, "one-day-registration")
    store, _ = make_twin()
    result = run_sync(store, [bundle], as_of)
    first = [r.report.kind for r in result.recorded if r.report.date == DAY]
    assert sorted(first) == ["abmeldung", "anmeldung"]
    assert not [f for f in result.findings if f.rule == "R-EP-4"]


def test_the_request_without_subject_is_named_the_same_by_both(tmp_path: Path) -> None:
    """derive and sync leave the request out with the same finding."""
    bundle, as_of = _bundle(tmp_path, "request-without-subject")
    store, _ = make_twin()
    synced = run_sync(store, [bundle], as_of).findings
    derived = derive([bundle], as_of=as_of).findings
    about = [f.message for f in derived if "MedicationRequest/r-first" in f.sources]
    assert about == [f.message for f in synced if "MedicationRequest/r-first" in f.sources]
    assert about and "subject is required" in about[0]
