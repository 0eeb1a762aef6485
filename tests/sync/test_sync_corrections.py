"""Later data that changes what was reported: nothing changes silently (R-CODE-8, R-EP-5)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapter.crypto import generate_keyring
from adapter.domain.codes import NameParts, patient_code
from adapter.errors import KeyringError, SyncError
from adapter.services import derive
from tests.storage import NOW, Database, make_store, make_twin
from tests.sync import fhir
from tests.sync.helpers import ledger, mark_sent, run_sync, sync_practice

D = date


def _kinds(store_ledger: list[object]) -> list[tuple[str, date, str | None, str]]:
    return [(h.report.kind, h.report.date, h.report.patient_code, h.origin) for h in store_ledger]  # type: ignore[attr-defined]


def _code(given: str, birth: str) -> str:
    from adapter.mappings import load_mappings

    outcome = patient_code(NameParts((given,), "Hartmann"), "F", birth, load_mappings().names)
    return outcome.value  # type: ignore[union-attr]


def _event_day(resource: dict[str, str]) -> str:
    return (resource.get("effectiveDateTime") or resource["authoredOn"])[:10]


def test_silvia_sylvia_the_abmeldung_carries_the_code_of_the_anmeldung(
    database: Database, tmp_path: Path
) -> None:
    """A corrected spelling (no name period) never changes the code of an open phase."""
    store, _ = make_store(database.url)
    first = [
        fhir.doctor(),
        fhir.patient(given="Silvia"),
        *fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 20)),
    ]
    run_sync(store, [fhir.write_bundle(tmp_path / "a.json", first)], D(2025, 3, 21))
    later = [
        fhir.doctor(),
        fhir.patient(given="Sylvia"),
        *fhir.daily("p1", D(2025, 3, 21), D(2025, 3, 25)),
    ]
    result = run_sync(store, [fhir.write_bundle(tmp_path / "b.json", later)], D(2025, 4, 10))
    silvia, sylvia = _code("Silvia", "1980-05-14"), _code("Sylvia", "1980-05-14")
    assert silvia != sylvia
    assert _kinds(ledger(store)) == [
        ("anmeldung", D(2025, 3, 1), silvia, "derived"),
        ("abmeldung", D(2025, 3, 25), silvia, "derived"),
    ]
    assert any(f.rule == "R-CODE-8" and f.severity == "info" for f in result.findings)
    # derive, which keeps no ledger, would spell it the new way: the ledger is the memory.
    replay = derive([tmp_path / "a.json", tmp_path / "b.json"], as_of=D(2025, 4, 10))
    assert {r.patient_code for r in replay.reports} == {sylvia}


def _late_data(tmp_path: Path) -> tuple[Path, Path]:
    early = [fhir.doctor(), fhir.patient(), *fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 10))]
    late = [
        fhir.doctor(),
        fhir.patient(),
        *fhir.daily("p1", D(2025, 3, 15), D(2025, 3, 15), prefix="late-"),
        *fhir.daily("p1", D(2025, 3, 22), D(2025, 3, 30)),
    ]
    return fhir.write_bundle(tmp_path / "early.json", early), fhir.write_bundle(
        tmp_path / "late.json", late
    )


def test_a_late_administration_after_an_abmeldung_is_a_finding_not_a_silent_change(
    database: Database, tmp_path: Path
) -> None:
    """R-EP-5: the register was told the phase ended; later data says it went on."""
    store, _ = make_store(database.url)
    early, late = _late_data(tmp_path)
    run_sync(store, [early], D(2025, 3, 25))
    mark_sent(store)
    before = _kinds(ledger(store))
    assert [k[:2] for k in before] == [("anmeldung", D(2025, 3, 1)), ("abmeldung", D(2025, 3, 10))]
    result = run_sync(store, [late], D(2025, 4, 1))
    assert result.recorded == []
    assert _kinds(ledger(store)) == before
    [finding] = [f for f in result.findings if f.rule == "R-EP-5"]
    assert finding.severity == "error"
    assert "abmeldung dated 2025-03-10" in finding.message
    assert "an anmeldung dated 2025-03-11" in finding.message
    assert "Patient/p1" in finding.sources


def test_accepting_corrections_records_them_and_later_syncs_go_on_normally(
    database: Database, tmp_path: Path
) -> None:
    """--accept-corrections: the contradicted Abmeldung is superseded, the correction made."""
    store, _ = make_store(database.url)
    early, late = _late_data(tmp_path)
    run_sync(store, [early], D(2025, 3, 25))
    mark_sent(store)
    run_sync(store, [late], D(2025, 4, 1))
    accepted = run_sync(store, [late], D(2025, 4, 1), accept_corrections=True)
    assert [(r.report.kind, r.report.date, r.origin) for r in accepted.recorded] == [
        ("anmeldung", D(2025, 3, 11), "correction")
    ]
    assert accepted.superseded == 1
    held = ledger(store)
    assert [h.superseded for h in held if h.report.kind == "abmeldung"] == [True]
    code = held[0].report.patient_code
    later = run_sync(store, [late], D(2025, 4, 20))
    assert [(r.report.kind, r.report.date, r.report.patient_code) for r in later.recorded] == [
        ("abmeldung", D(2025, 3, 30), code)
    ]
    assert not [f for f in later.findings if f.rule == "R-EP-5"]


def test_a_corrected_birth_date_keeps_the_reported_code_and_names_the_correction(
    database: Database, tmp_path: Path
) -> None:
    """R-CODE-8: new birth digits give a warning with the correction reports; nothing sent."""
    store, _ = make_store(database.url)
    events = fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 20))
    sync_practice(store, tmp_path / "a.json", events, D(2025, 3, 20))
    corrected = [fhir.doctor(), fhir.patient(birth_date="1980-05-15"), *events]
    result = run_sync(store, [fhir.write_bundle(tmp_path / "b.json", corrected)], D(2025, 3, 22))
    assert result.recorded == []
    [warning] = [f for f in result.findings if f.rule == "R-CODE-8"]
    assert warning.severity == "warning"
    assert "Abmeldung under the reported code" in warning.message
    closing = run_sync(store, [fhir.write_bundle(tmp_path / "c.json", corrected)], D(2025, 4, 5))
    assert [r.report.patient_code for r in closing.recorded] == [_code("Silvia", "1980-05-14")]


def test_administrations_entered_in_error_after_the_anmeldung_are_a_contradiction(
    database: Database, tmp_path: Path
) -> None:
    """Events withdrawn later move the first-use date: the register's cannot move (R-EP-5)."""
    store, _ = make_store(database.url)
    events = fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 20))
    sync_practice(store, tmp_path / "a.json", events, D(2025, 3, 21))
    mark_sent(store)
    withdrawn = [
        {**r, "status": "entered-in-error"} if _event_day(r) < "2025-03-06" else r for r in events
    ]
    result = sync_practice(store, tmp_path / "b.json", withdrawn, D(2025, 3, 22))
    [finding] = [f for f in result.findings if f.rule == "R-EP-5"]
    assert "anmeldung dated 2025-03-01" in finding.message
    assert "no report can change dates" in finding.message
    assert result.recorded == []


def test_a_phase_withdrawn_entirely_is_ended_by_the_correction(
    database: Database, tmp_path: Path
) -> None:
    """R-EP-5: nothing may stay registered by mistake: the correction is an Abmeldung."""
    store, _ = make_store(database.url)
    events = fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 5))
    sync_practice(store, tmp_path / "a.json", events, D(2025, 3, 6))
    mark_sent(store)
    gone = [{**r, "status": "entered-in-error"} for r in events]
    accepted = sync_practice(
        store, tmp_path / "b.json", gone, D(2025, 3, 7), accept_corrections=True
    )
    assert [(r.report.kind, r.report.date, r.origin) for r in accepted.recorded] == [
        ("abmeldung", D(2025, 3, 1), "correction")
    ]


def test_a_report_not_yet_sent_that_the_data_no_longer_calls_for_is_withdrawn(
    database: Database, tmp_path: Path
) -> None:
    """Still pending: the wrong Abmeldung is rejected before it is sent, not corrected."""
    store, _ = make_store(database.url)
    early, late = _late_data(tmp_path)
    run_sync(store, [early], D(2025, 3, 25))
    result = run_sync(store, [late], D(2025, 4, 1))
    [finding] = [f for f in result.findings if f.rule == "R-EP-5"]
    assert finding.severity == "warning" and "withdrawn" in finding.message
    held = {(h.report.kind, h.report.date): h.state for h in ledger(store)}
    assert held == {
        ("anmeldung", D(2025, 3, 1)): "pending",
        ("abmeldung", D(2025, 3, 10)): "rejected",
    }
    closing = run_sync(store, [late], D(2025, 4, 20))
    assert [(r.report.kind, r.report.date) for r in closing.recorded] == [
        ("abmeldung", D(2025, 3, 30))
    ]


def test_a_doctors_phone_change_sent_later_yields_a_notice(
    database: Database, tmp_path: Path
) -> None:
    """R-CHG-4: a Practitioner sent again with a new phone from a day of an open phase."""
    store, _ = make_store(database.url)
    events = fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 20))
    sync_practice(store, tmp_path / "a.json", events, D(2025, 3, 20))
    moved = fhir.doctor()
    moved["telecom"] = [
        {"system": "phone", "value": "0231 123456", "use": "work", "period": {"end": "2025-03-09"}},
        {
            "system": "phone",
            "value": "0231 654321",
            "use": "work",
            "period": {"start": "2025-03-10"},
        },
    ]
    result = run_sync(store, [fhir.write_bundle(tmp_path / "b.json", [moved])], D(2025, 3, 20))
    [notice] = [r.report for r in result.recorded]
    assert (notice.kind, notice.date, notice.rule) == ("mitteilung", D(2025, 3, 10), "R-CHG-4")
    assert any("0231 654321" in remark for remark in notice.remarks)


def test_events_whose_patient_comes_later_are_reported_when_it_does(
    database: Database, tmp_path: Path
) -> None:
    """Administrations before their Patient resource: kept, reported once the patient is known."""
    store, _ = make_store(database.url)
    events = fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 10))
    first = run_sync(
        store, [fhir.write_bundle(tmp_path / "a.json", [fhir.doctor(), *events])], D(2025, 3, 10)
    )
    assert first.recorded == []
    assert any(f.rule == "INPUT" and "Patient/p1" in f.message for f in first.findings)
    second = run_sync(
        store, [fhir.write_bundle(tmp_path / "b.json", [fhir.patient()])], D(2025, 3, 10)
    )
    assert [(r.report.kind, r.report.date) for r in second.recorded] == [
        ("anmeldung", D(2025, 3, 1))
    ]


def test_a_sync_for_a_day_before_the_last_sync_is_refused(tmp_path: Path) -> None:
    """The ledger already holds what was due until the last sync's day."""
    store, _ = make_twin()
    data = fhir.write_bundle(
        tmp_path / "a.json",
        [fhir.doctor(), fhir.patient(), *fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 5))],
    )
    run_sync(store, [data], D(2025, 3, 31))
    with pytest.raises(SyncError, match=r"lies before the last sync .* `substreg runs undo`"):
        run_sync(store, [data], D(2025, 3, 20))


def test_another_installations_keyring_writes_nothing(tmp_path: Path) -> None:
    """Fail closed: the database's keys are not in this keyring, so nothing is read or written."""
    url = f"sqlite:///{tmp_path / 'substreg.db'}"
    store, _ = make_store(url)
    data = fhir.write_bundle(
        tmp_path / "a.json",
        [fhir.doctor(), fhir.patient(), *fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 5))],
    )
    run_sync(store, [data], D(2025, 3, 6))
    held = ledger(store)
    stranger, _ = make_store(url, generate_keyring(NOW.isoformat()), initialised=False)
    later = fhir.write_bundle(tmp_path / "b.json", fhir.daily("p1", D(2025, 3, 6), D(2025, 3, 9)))
    with pytest.raises(KeyringError, match="does not hold the key"):
        run_sync(stranger, [later], D(2025, 3, 30))
    assert ledger(store) == held
