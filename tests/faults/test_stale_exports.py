"""An empty or stale export does not end every treatment (issue 9.4).

Syncing an empty folder recorded Abmeldungen for every patient in treatment (6/6 in the
demo) with "Findings: 0". A sync whose input has no events, or whose newest event is
older than the 10-day window, may now end at most max(2, 20 % of the open
registrations) by R-EP-3 at once; more is an `error` finding naming the export's newest
day and the count, and nothing of the run is kept, until `--accept-mass-end` (D-48).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import CONFIG, SYNC, Cli
from tests.storage import EVERY_KIND, Database, make_twin, open_store
from tests.sync import fhir
from tests.sync.helpers import ledger, run_sync

START = date(2026, 3, 2)


def _practice(tmp_path: Path, name: str, ends: dict[str, date]) -> Path:
    """Patients taking their drug daily from START to the day given for each."""
    resources: list[dict[str, Any]] = [fhir.doctor()]
    for n, (patient, last) in enumerate(sorted(ends.items())):
        resources.append(fhir.patient(patient, given=f"Anna{chr(65 + n)}"))
        resources += fhir.daily(patient, START, last)
    return fhir.write_bundle(tmp_path / f"{name}.json", resources)


def test_an_empty_folder_ends_no_treatment(cli: Cli) -> None:
    """The demo synced, then an empty folder two weeks later: one error naming that the
    input holds no events and 4 of 6 registrations, nothing recorded, the refusal audited,
    exit 1 (nothing was kept: a nightly job must not pass it by), and no "Next:" line."""
    cli.synced()
    before = cli.ledger_ids()
    (cli.tmp / "empty").mkdir()
    result = cli.run(
        "sync", str(cli.tmp / "empty"), "--config", str(CONFIG), "--as-of", "2026-01-14"
    )
    assert (result.status, result.err) == (1, "")
    out = result.out
    assert "Nothing was recorded: the input holds no events, yet 4 of 6 open registrations" in out
    assert "Nothing was kept of this run" in out
    assert "Next:" not in out and "Run " not in out
    assert cli.ledger_ids() == before
    [refused] = cli.audit("sync.refused")
    assert '"ending":4' in refused["details"] and '"open":6' in refused["details"]


def test_the_same_export_three_weeks_on_ends_no_treatment(cli: Cli) -> None:
    """The demo's export (last events 2025-12-31) again on 2026-01-20: refused, naming
    its newest day; with --accept-mass-end the five Abmeldungen are recorded."""
    cli.synced()
    stale = [*SYNC[:-1], "2026-01-20", "--format", "json"]
    refused = cli.run(*stale)
    assert refused.status == 1
    result = json.loads(refused.out)
    assert result["run_id"] is None
    [error] = [f for f in result["findings"] if f["rule"] == "R-EP-3"]
    assert "newest event is from 2025-12-31 (20 days before 2026-01-20)" in error["message"]
    # D-236: the command's own way on, not the service's routes
    assert "run this command again with --accept-mass-end" in error["message"]
    assert "/sync/held" not in error["message"]
    assert result["recorded"] == []
    accepted = cli.json(*stale, "--accept-mass-end")
    assert [r["rule"] for r in accepted["recorded"]] == ["R-EP-3"] * 5
    assert any("as a person accepted" in f["message"] for f in accepted["findings"])


def test_a_current_export_ends_those_who_stayed_away(db: Database, tmp_path: Path) -> None:
    """No false alarm: three of four patients stayed away, one came every day: the export
    is current, so the three Abmeldungen are what the data says."""
    store, _ = open_store(db)
    last = START + timedelta(days=30)
    ends = {"p1": START + timedelta(days=5), "p2": START + timedelta(days=6)}
    ends |= {"p3": START + timedelta(days=7), "p4": last}
    data = _practice(tmp_path, "current", ends)
    run_sync(store, [data], START + timedelta(days=4))
    result = run_sync(store, [data], last)
    assert sorted(r.report.rule for r in result.recorded) == ["R-EP-3"] * 3
    assert not [f for f in result.findings if f.severity == "error"]


def _take_home(patient: str, day: date, days: int) -> dict[str, Any]:
    """A dispense of a take-home supply: the patient is covered without coming in."""
    return {
        "resourceType": "MedicationDispense",
        "id": f"take-home-{patient}",
        "status": "completed",
        "medicationCodeableConcept": fhir.LEVOMETHADON,
        "subject": {"reference": f"Patient/{patient}"},
        "authorizingPrescription": [{"reference": f"MedicationRequest/r-{patient}-{day}"}],
        "whenHandedOver": day.isoformat(),
        "daysSupply": {"value": days, "unit": "d"},
    }


@pytest.mark.parametrize(
    ("ending", "refused"), [(2, False), (3, True)], ids=["two-of-ten", "three-of-ten"]
)
def test_the_threshold_is_two_or_a_fifth_of_the_open_registrations(
    ending: int, refused: bool, tmp_path: Path
) -> None:
    """Ten open registrations, an export whose last event is 12 days old: the patients on
    a take-home go on, the others end. Two may end at once (max(2, 20 %)), three may not."""
    store, _ = make_twin()
    stop = START + timedelta(days=5)
    patients = [f"p{n:02d}" for n in range(10)]
    data = _practice(tmp_path, "all", dict.fromkeys(patients, stop))
    take_homes = [_take_home(p, stop, 30) for p in patients[ending:]]
    export = fhir.write_bundle(
        tmp_path / "export.json",
        [*_resources(data), *take_homes],
    )
    run_sync(store, [export], stop)
    before = ledger(store)
    result = run_sync(store, [export], stop + timedelta(days=12))
    recorded = [r.report.rule for r in result.recorded]
    if refused:
        assert recorded == []
        [error] = [f for f in result.findings if f.rule == "R-EP-3"]
        assert "yet 3 of 10 open registrations would end" in error.message
        assert f"newest event is from {stop.isoformat()} (12 days before" in error.message
        assert ledger(store) == before
    else:
        assert recorded == ["R-EP-3"] * 2


def _resources(bundle: Path) -> list[dict[str, Any]]:
    return [e["resource"] for e in json.loads(bundle.read_text(encoding="utf-8"))["entry"]]


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_refused_mass_end_keeps_nothing_so_the_next_sync_sees_it_again(
    db: Database, tmp_path: Path
) -> None:
    """Refused, the run left no state: the same stale export is refused again, and a
    current one afterwards records what is due."""
    store, _ = open_store(db)
    stop = START + timedelta(days=5)
    ends = {f"p{n}": stop for n in range(4)}
    data = _practice(tmp_path, "p", ends)
    run_sync(store, [data], stop)
    day = stop + timedelta(days=13)
    assert run_sync(store, [data], day).recorded == []
    assert run_sync(store, [data], day).recorded == []
    accepted = run_sync(store, [data], day, accept_mass_end=True)
    assert len(accepted.recorded) == 4
