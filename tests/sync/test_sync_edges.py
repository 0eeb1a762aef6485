"""Cases where resuming or storing could go wrong: each gives what a fresh derive gives."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.errors import SyncError
from adapter.services import derive
from adapter.services.retention import apply_retention
from adapter.settings.practice import PracticeConfig
from adapter.store.database import open_engine
from adapter.store.facts import StoredState
from adapter.store.schema import patient_mapping
from adapter.store.sql.backend import SqlDatabase
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR, NOW, Database, make_store, make_twin
from tests.sync import fhir
from tests.sync.helpers import keys_of, ledger, run_sync

D = date
SR = "https://fhir.substreg.dev"


def _episode(kind: str, start: date, end: date | None = None) -> dict[str, Any]:
    period = {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})}
    return {
        "resourceType": "EpisodeOfCare",
        "id": f"eoc-{kind}",
        "status": "finished" if end else "active",
        "type": [{"coding": [{"system": f"{SR}/CodeSystem/episode-type", "code": kind}]}],
        "patient": {"reference": "Patient/p1"},
        "period": period,
        "careManager": {"reference": "Practitioner/doc"},
    }


def _in_episode(events: list[dict[str, Any]], episode: str) -> list[dict[str, Any]]:
    for event in events:
        if event["resourceType"] == "MedicationAdministration":
            event["context"] = {"reference": f"EpisodeOfCare/{episode}"}
        else:
            event["supportingInformation"] = [{"reference": f"EpisodeOfCare/{episode}"}]
    return events


def test_a_detox_that_outlasts_thirty_days_is_reported_without_new_data(
    database: Database, tmp_path: Path
) -> None:
    """R-NOT-1: the detox decision changes with the day, so its patient is walked afresh."""
    store, _ = make_store(database.url)
    start = D(2025, 3, 3)
    events = _in_episode(fhir.daily("p1", start, start + timedelta(days=20)), "eoc-detox")
    data = fhir.write_bundle(
        tmp_path / "a.json", [fhir.doctor(), fhir.patient(), _episode("detox", start), *events]
    )
    assert run_sync(store, [data], start + timedelta(days=20)).recorded == []
    later = start + timedelta(days=45)
    result = run_sync(store, [fhir.write_bundle(tmp_path / "b.json", [fhir.doctor()])], later)
    assert keys_of(r.report for r in result.recorded) == keys_of(
        derive([data], as_of=later).reports
    )
    assert result.recorded


def _dispense(n: int, day: date) -> dict[str, Any]:
    return {
        "resourceType": "MedicationDispense",
        "id": f"md-{n}",
        "status": "completed",
        "medicationCodeableConcept": fhir.LEVOMETHADON,
        "subject": {"reference": "Patient/p1"},
        "whenHandedOver": day.isoformat(),
        "daysSupply": {"value": 7, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"},
        "authorizingPrescription": [{"reference": "MedicationRequest/r-standing"}],
    }


def test_a_standing_order_dispensed_for_months_stays_tied(
    database: Database, tmp_path: Path
) -> None:
    """A prescription written in January, dispensed weekly until August: one phase."""
    store, _ = make_store(database.url)
    start = D(2025, 1, 6)
    base = [fhir.doctor(), fhir.patient(), fhir.request("r-standing", "p1", start)]
    everything = list(base)
    for week in range(30):
        day = start + timedelta(days=7 * week)
        everything.append(_dispense(week, day))
        run_sync(
            store,
            [fhir.write_bundle(tmp_path / f"w{week}.json", [*base, _dispense(week, day)])],
            day,
        )
    end = start + timedelta(days=7 * 29 + 30)
    run_sync(store, [fhir.write_bundle(tmp_path / "end.json", base)], end)
    whole = fhir.write_bundle(tmp_path / "all.json", everything)
    assert keys_of(h.report for h in ledger(store)) == keys_of(derive([whole], as_of=end).reports)


def test_a_changed_ehr_base_url_is_refused(tmp_path: Path) -> None:
    """One installation serves one EHR: another base would make every patient new (D-23)."""
    store, _ = make_twin()
    data = fhir.write_bundle(
        tmp_path / "a.json",
        [fhir.doctor(), fhir.patient(), *fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 5))],
    )
    run_sync(store, [data], D(2025, 3, 5))
    other = PracticeConfig(ehr_base_url="https://ehr.example/fhir")
    with pytest.raises(SyncError, match="one installation serves one EHR"):
        run_sync(store, [data], D(2025, 3, 6), config=other)


def test_an_index_migration_keeps_what_was_read(database: Database, tmp_path: Path) -> None:
    """After `keys migrate-index`, administrations entered in error still leave the archive."""
    store, keyring = make_store(database.url)
    start = D(2025, 3, 3)
    events = fhir.daily("p1", start, start + timedelta(days=20))
    resources = [fhir.doctor(), fhir.patient(), *events]
    run_sync(store, [fhir.write_bundle(tmp_path / "a.json", resources)], start + timedelta(days=20))
    rotated = keyring.rotated("index", NOW.isoformat())
    after = Store(SqlDatabase(open_engine(database.url)), lambda: rotated, clock=lambda: NOW)
    after.run(ACTOR, lambda space: space.mappings.migrate_index())
    corrected = copy.deepcopy(resources)
    cut = (start + timedelta(days=15)).isoformat()
    for resource in corrected:
        day = str(resource.get("effectiveDateTime", resource.get("authoredOn", "")))[:10]
        if resource["resourceType"].startswith("Medication") and day > cut:
            resource["status"] = "entered-in-error"
    second = fhir.write_bundle(tmp_path / "b.json", corrected)
    run_sync(after, [second], start + timedelta(days=40))
    expected = derive([second], as_of=start + timedelta(days=40)).reports
    assert keys_of(h.report for h in ledger(after)) == keys_of(expected)


def test_a_second_change_of_the_same_day_learned_later_is_a_notice_too(
    database: Database, tmp_path: Path
) -> None:
    """R-CHG-4: the address notice was made; a phone change of that day comes later."""
    store, _ = make_store(database.url)
    changed = fhir.doctor()
    changed["address"] = [
        {
            "use": "work",
            "line": ["Westhoffstraße 8"],
            "postalCode": "44145",
            "city": "Dortmund",
            "period": {"end": "2025-03-09"},
        },
        {
            "use": "work",
            "line": ["Neue Straße 1"],
            "postalCode": "44145",
            "city": "Dortmund",
            "period": {"start": "2025-03-10"},
        },
    ]
    events = fhir.daily("p1", D(2025, 3, 3), D(2025, 3, 23))
    run_sync(
        store,
        [fhir.write_bundle(tmp_path / "a.json", [changed, fhir.patient(), *events])],
        D(2025, 3, 23),
    )
    phoned = {
        **changed,
        "telecom": [
            {
                "system": "phone",
                "value": "0231 123456",
                "use": "work",
                "period": {"end": "2025-03-09"},
            },
            {
                "system": "phone",
                "value": "0231 999999",
                "use": "work",
                "period": {"start": "2025-03-10"},
            },
        ],
    }
    result = run_sync(store, [fhir.write_bundle(tmp_path / "b.json", [phoned])], D(2025, 3, 24))
    [notice] = [r.report for r in result.recorded]
    assert notice.kind == "mitteilung" and any("0231 999999" in r for r in notice.remarks)


def test_a_patient_merged_in_the_ehr_goes_on_under_the_code_reported(
    database: Database, tmp_path: Path
) -> None:
    """Patient.link replaced-by: the survivor continues the registration, no second one."""
    store, _ = make_store(database.url)
    start = D(2025, 3, 3)
    first = [
        fhir.doctor(),
        fhir.patient("p2"),
        *fhir.daily("p2", start, start + timedelta(days=20)),
    ]
    [anmeldung] = run_sync(
        store, [fhir.write_bundle(tmp_path / "a.json", first)], start + timedelta(days=20)
    ).recorded
    merged = fhir.patient("p2")
    merged["link"] = [{"other": {"reference": "Patient/p1"}, "type": "replaced-by"}]
    moved = json.loads(
        json.dumps(fhir.daily("p2", start, start + timedelta(days=22))).replace(
            "Patient/p2", "Patient/p1"
        )
    )
    second = [fhir.doctor(), fhir.patient("p1"), merged, *moved]
    again = run_sync(
        store, [fhir.write_bundle(tmp_path / "b.json", second)], start + timedelta(days=22)
    )
    assert again.recorded == []
    assert not [f for f in again.findings if f.severity == "error"]
    closing = run_sync(
        store, [fhir.write_bundle(tmp_path / "c.json", [fhir.doctor()])], start + timedelta(days=40)
    )
    assert [(r.report.kind, r.report.patient_code) for r in closing.recorded] == [
        ("abmeldung", anmeldung.report.patient_code)
    ]
    with store.engine.connect() as connection:
        assert len(connection.execute(patient_mapping.select()).all()) == 1


def test_a_sync_for_a_day_in_the_future_is_refused(tmp_path: Path) -> None:
    """R-DATE-3: no report is dated after the day it is made; a typo would block all later."""
    store, _ = make_twin()
    data = fhir.write_bundle(tmp_path / "a.json", [fhir.doctor(), fhir.patient()])
    with pytest.raises(SyncError, match="lies in the future"):
        run_sync(store, [data], NOW.date() + timedelta(days=1))


def test_an_export_sent_again_after_retention_keeps_nothing_of_the_shredded(
    database: Database, tmp_path: Path
) -> None:
    """The shredded patient's old events come back with the export: nothing is made of them."""
    store, _ = make_store(database.url)
    start = D(2010, 3, 3)
    events = fhir.daily("p1", start, start + timedelta(days=20))
    resources = [
        fhir.doctor(),
        fhir.patient(),
        _episode("substitution", start, start + timedelta(days=20)),
        *events,
    ]
    data = fhir.write_bundle(tmp_path / "a.json", resources)
    run_sync(store, [data], start + timedelta(days=45))  # within 31 days of the data (D-47)
    run_sync(store, [data], D(2025, 6, 1))  # years on: nobody walked (D-47 lets it)
    result = apply_retention(
        store, ACTOR, as_of=D(2025, 6, 1), clock_checked=True
    )  # not far after it (D-81)
    assert len(result.shredded) == 1
    again = run_sync(store, [data], D(2025, 6, 2))
    assert again.recorded == []
    with store.engine.connect() as connection:
        assert [r.status for r in connection.execute(patient_mapping.select())] == ["shredded"]


def test_a_patient_seen_only_at_an_encounter_leaves_no_trace(tmp_path: Path) -> None:
    """Data minimisation: a consultation without any drug keeps no mapping row."""
    store, _ = make_twin()
    encounter = {
        "resourceType": "Encounter",
        "id": "e-p2",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/p2"},
        "participant": [{"individual": {"reference": "Practitioner/doc"}}],
        "period": {"start": "2025-03-05T09:00:00+01:00"},
    }
    resources = [fhir.doctor(), fhir.patient(), fhir.patient("p2", given="Otto"), encounter]
    resources += fhir.daily("p1", D(2025, 3, 3), D(2025, 3, 8))
    run_sync(store, [fhir.write_bundle(tmp_path / "a.json", resources)], D(2025, 3, 8))
    assert len(store.run(ACTOR, lambda space: space.mappings.readable())) == 1


def test_a_damaged_state_is_derived_afresh_without_showing_its_content(tmp_path: Path) -> None:
    """A stored state that does not read back no longer stops sync (issue 9.6): the
    patient is derived afresh from its records, with a warning naming the mapping only."""
    store, _ = make_twin()
    data = fhir.write_bundle(
        tmp_path / "a.json",
        [fhir.doctor(), fhir.patient(), *fhir.daily("p1", D(2025, 3, 3), D(2025, 3, 8))],
    )
    run_sync(store, [data], D(2025, 3, 8))

    def damage(space: Workspace) -> None:
        facts = space.facts
        [state] = facts.states([], with_live=True)
        content = orjson.loads(state.data)
        content["profile"]["patient"]["birth_date"] = {
            "was": content["profile"]["patient"]["birth_date"]
        }
        dek = space.mappings.get(state.mapping_id).dek_id
        damaged = StoredState(
            state.mapping_id, state.format, orjson.dumps(content), state.walked_to, state.live
        )
        facts.save_states([(damaged, dek)])

    store.run(ACTOR, damage)
    result = run_sync(store, [data], D(2025, 3, 25))
    [warning] = [f for f in result.findings if "stored state of mapping" in f.message]
    assert warning.severity == "warning"
    assert "1980" not in warning.message
    assert [r.report.kind for r in result.recorded] == ["abmeldung"]  # R-EP-3, as ever
