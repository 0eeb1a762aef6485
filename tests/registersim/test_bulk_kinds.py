"""The simulator accepts and acknowledges the adapter's bulk reports as the domain makes
them: the Inventur-Meldung (R-INV-1) and the Pauschalabmeldung (R-PAU-1)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from adapter.domain.bulk import Held, blanket_report, inventory_reports
from adapter.domain.model import Report
from tests.registersim.helpers import DOCTOR, Practice, report
from tests.registersim.test_app import overview, post, receipt_of

CODE, CODE2 = "HAMÜF284", "MAMUM385"
JAN5, JAN10 = date(2026, 1, 5), date(2026, 1, 10)


def _inventory(code: str, began: date, subject: str) -> list[Report]:
    """The adapter's Inventur-Meldung of an Anmeldung of `code` begun on `began`."""
    anmeldung = report("anmeldung", code, began)
    held = Held(subject, "l-" + subject, began, anmeldung)
    return [p.report for p in inventory_reports([held], DOCTOR, JAN10)]


def test_an_inventory_confirms_one_registration_and_opens_another(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """An Inventur of a code the register holds is confirmed; of one it lacks, opened."""
    response, envelope = post(client, state, practice, "b-1", report("anmeldung", CODE, JAN5))
    assert [r.status for r in receipt_of(response, state, "b-1", envelope).results] == ["accepted"]
    reports = _inventory(CODE, JAN5, "m1") + _inventory(CODE2, JAN5, "m2")
    response, envelope = post(client, state, practice, "b-2", *reports)
    receipt = receipt_of(response, state, "b-2", envelope)
    assert [(r.report_id, r.status) for r in receipt.results] == [
        (reports[0].id, "accepted"),
        (reports[1].id, "accepted"),
    ]
    assert receipt.notices == ()
    assert overview(client)["counts"]["open"] == 2


def test_a_blanket_deregistration_is_acknowledged_and_ends_every_registration(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """R-PAU-1: accepted without a code; the doctor's registrations are closed after it."""
    opened = [report("anmeldung", CODE, JAN5, number=1), report("anmeldung", CODE2, JAN5, number=2)]
    post(client, state, practice, "b-1", *opened)
    blanket = blanket_report(DOCTOR, JAN10, made_on=JAN10).report
    response, envelope = post(client, state, practice, "b-2", blanket)
    receipt = receipt_of(response, state, "b-2", envelope)
    assert [(r.report_id, r.status) for r in receipt.results] == [(blanket.id, "accepted")]
    counts = overview(client)["counts"]
    assert (counts["open"], counts["closed"]) == (0, 2)
