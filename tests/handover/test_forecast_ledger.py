"""`substreg forecast --stored` counts the handovers (N7, D-226, D-227): at the receiving
installation the reports sync holds back or waives are no deadlines but settled with the
handover's name, and an open handover's day 31 falls due (R-HO-1, R-EP-5, R-ABS-1/2/3,
D-202); at the sending one the Abmeldung stays due and names the handover; the file
forecast cannot know the ledger and says so once. On SQLite, the main cases on PostgreSQL
too."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.handover.cases import fhir
from tests.handover.cases.sites import Site
from tests.handover.test_worked_cases import KLINIK, ROTH, SOMMER, WOLFF, _import, _treatment
from tests.storage import BACKENDS

WINTER_A = fhir.Person("p-4711", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
WINTER_B = fhir.Person("gef-0815", "Winter", "Marcel", "1988-06-21", "male", "W123456789")


def _stored(site: Site, as_of: str, days: str = "30") -> dict[str, Any]:
    argv = ("forecast", "--stored", "--as-of", as_of, "--days", days, "--format", "json")
    found: dict[str, Any] = json.loads(site.ok(*argv))
    return found


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_held_handover_settles_the_receiver_s_reports_and_its_day_31_falls_due(
    two: tuple[Site, Site],
    tmp_path: Path,
) -> None:
    """JVA Leipzig hands Marcel Winter to JVA Dresden on 2025-05-15; Dresden's data stops
    on 05-20. Its 10-day Abmeldung (due 05-31) is held back by the open handover, so the
    forecast lists it as settled, not due; 06-14, day 31, falls due with the sending
    doctor's Abmeldung and `handover release` (D-202). Released, the Abmeldung is due."""
    leipzig, dresden = two
    a = tmp_path / "a-data"
    _treatment(a, SOMMER, WINTER_A, date(2025, 3, 3), date(2025, 5, 14))
    leipzig.sync(a, "2025-05-14")
    document, signer = leipzig.export("Patient/p-4711", "JVA Dresden", "2025-05-15")
    b = _treatment(tmp_path / "b-data", ROTH, WINTER_B, date(2025, 5, 15), date(2025, 5, 20))
    handover, _ = _import(dresden, document, signer)
    dresden.sync(b, "2025-05-20")

    held = _stored(dresden, "2025-05-20")
    assert held["ledger"] is True and held["deadlines"] == []
    [settled] = held["settled"]
    assert (settled["kind"], settled["due"], settled["report"]["date"]) == (
        "abmeldung",
        "2025-05-31",
        "2025-05-20",
    )
    assert f"held back by handover {handover}" in settled["why"]
    [day31] = held["handovers"]
    assert (day31["due"], day31["handover"]) == ("2025-06-14", handover)
    assert f"substreg handover release {handover}" in day31["why"]
    assert day31["patient"] == held["open_phases"][0]["patient"]  # the pseudonym
    text = dresden.ok("forecast", "--stored", "--as-of", "2025-05-20", "--days", "30")
    assert "Not made, as the ledger stands: 1" in text
    assert "Handovers received, past the substitute time: 1" in text

    _treatment(a, SOMMER, WINTER_A, date(2025, 3, 3), date(2025, 5, 14), end=date(2025, 5, 14))
    leipzig.sync(a, "2025-05-16")
    dresden.ok("handover", "release", handover, "--on", "2025-05-16")
    dresden.sync(b, "2025-05-21")
    released = _stored(dresden, "2025-05-21")
    assert [(d["kind"], d["due"]) for d in released["deadlines"]] == [("abmeldung", "2025-05-31")]
    assert (released["settled"], released["handovers"]) == ([], [])


def test_day_31_passed_is_shown_overdue_and_a_short_horizon_leaves_it_out(
    two: tuple[Site, Site],
    tmp_path: Path,
) -> None:
    """A forecast from day 31 on names the handover's end as overdue (sync makes the hold an
    error then, D-202); one whose horizon ends before day 31 does not name it yet."""
    leipzig, dresden = two
    _treatment(tmp_path / "a-data", SOMMER, WINTER_A, date(2025, 3, 3), date(2025, 5, 14))
    leipzig.sync(tmp_path / "a-data", "2025-05-14")
    document, signer = leipzig.export("Patient/p-4711", "JVA Dresden", "2025-05-15")
    handover, _ = _import(dresden, document, signer)
    b = _treatment(tmp_path / "b-data", ROTH, WINTER_B, date(2025, 5, 15), date(2025, 6, 16))
    dresden.sync(b, "2025-06-16")
    assert _stored(dresden, "2025-05-20", days="7")["handovers"] == []
    [late] = _stored(dresden, "2025-06-16", days="7")["handovers"]
    assert (late["due"], late["handover"]) == ("2025-06-14", handover)
    text = dresden.ok("forecast", "--stored", "--as-of", "2025-06-16", "--days", "7")
    assert "2025-06-14, overdue" in text


def test_the_file_forecast_says_once_that_it_cannot_count_the_ledger(
    two: tuple[Site, Site],
    tmp_path: Path,
) -> None:
    """D-226: with a database set up, `forecast PATH` names the held Abmeldung as due (it
    reads the files only) and says so in one line on stderr; stdout stays the document."""
    _, dresden = two
    b = _treatment(tmp_path / "b-data", ROTH, WINTER_B, date(2025, 5, 15), date(2025, 5, 20))
    result = dresden.run("forecast", str(b), "--as-of", "2025-05-20", "--format", "json")
    assert result.status == 0
    assert json.loads(result.out)["ledger"] is False
    [note] = result.err.splitlines()
    assert note.startswith("substreg: note: this forecast reads the files only")
    assert "forecast --stored" in note


def test_the_sender_s_abmeldung_stays_due_and_names_the_handover(
    two: tuple[Site, Site],
    tmp_path: Path,
) -> None:
    """D-227: JVA Leipzig's export holds nothing back there; its 10-day Abmeldung (dated
    05-14, due 05-25) is what sync will make, so it stays a deadline, and says it is the one
    the receiving side waits for, or what keeps it from being made (R-EP-2, R-ABS-3)."""
    leipzig, _ = two
    a = tmp_path / "a-data"
    _treatment(a, SOMMER, WINTER_A, date(2025, 3, 3), date(2025, 5, 14))
    leipzig.sync(a, "2025-05-14")
    before = _stored(leipzig, "2025-05-15")
    document, _ = leipzig.export("Patient/p-4711", "JVA Dresden", "2025-05-15")
    after = _stored(leipzig, "2025-05-15")
    [deadline] = after["deadlines"]
    assert (deadline["kind"], deadline["due"]) == ("abmeldung", "2025-05-25")
    assert deadline["why"].startswith(before["deadlines"][0]["why"])
    handed = f"handed over on 2025-05-15 (handover document {document.stem.split('-', 1)[1]}"
    assert handed in deadline["why"] and "(R-EP-2, R-ABS-2)" in deadline["why"]
    assert after["settled"] == [] and after["handovers"] == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_stay_the_patient_returned_from_is_settled_as_waived(
    two: tuple[Site, Site], tmp_path: Path
) -> None:
    """Olga Brandt in hospital 2025-06-10 … 06-21, back on 06-22 (`handover return`): the
    hospital's 10-day Abmeldung (dated 06-21, due 07-02) is waived, never sent (R-ABS-3),
    so the forecast lists it as settled; once sync recorded it waived, as decided."""
    practice, hospital = two
    at_a = fhir.Person("p-olga", "Brandt", "Olga", "1977-03-03", "female", "B987654321")
    at_b = fhir.Person("fall-2025-0610", "Brandt", "Olga", "1977-03-03", "female", "B987654321")
    a = _treatment(tmp_path / "a-data", WOLFF, at_a, date(2025, 4, 1), date(2025, 6, 9))
    practice.sync(a, "2025-06-09")
    document, signer = practice.export("Patient/p-olga", "Klinikum St. Georg", "2025-06-10")
    b = _treatment(tmp_path / "b-data", KLINIK, at_b, date(2025, 6, 10), date(2025, 6, 21))
    handover, _ = _import(hospital, document, signer)
    hospital.sync(b, "2025-06-12")
    hospital.ok("handover", "return", handover, "--on", "2025-06-22")

    returned = _stored(hospital, "2025-06-22")
    [settled] = returned["settled"]
    assert (settled["kind"], settled["due"]) == ("abmeldung", "2025-07-02")
    assert "waived: the patient returned on 2025-06-22" in settled["why"]
    assert (returned["deadlines"], returned["handovers"]) == ([], [])
    hospital.sync(b, "2025-07-05")
    [decided] = _stored(hospital, "2025-06-22")["settled"]
    assert "as waived (never sent)" in decided["why"]
