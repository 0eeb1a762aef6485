"""The simulator accepts and acknowledges the adapter's bulk reports as the domain makes
them: the Inventur-Meldung (R-INV-1) and the Pauschalabmeldung (R-PAU-1)."""

from __future__ import annotations

from dataclasses import replace
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


def test_an_inventory_that_arrives_first_makes_the_register_refuse_the_anmeldung(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """Why an inventory report is held back (D-196): sent before the Anmeldung it confirms,
    it opens the registration, and the Anmeldung is refused as a second one (R-EP-4)."""
    stock = _inventory(CODE, JAN5, "m1")
    post(client, state, practice, "b-1", *stock)
    anmeldung = report("anmeldung", CODE, JAN5)
    response, envelope = post(client, state, practice, "b-2", anmeldung)
    (result,) = receipt_of(response, state, "b-2", envelope).results
    assert result.status == "rejected" and "R-EP-4" in (result.reason or "")


def test_in_one_batch_a_new_code_s_anmeldung_is_refused_after_its_inventory(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """Why one batch is not enough either (D-196): the register takes a batch by date, and
    the inventory report of a new code (R-CHG-1) is dated at the phase's first use, before
    the new code's Anmeldung, which is then refused as a second one (R-EP-4)."""
    post(client, state, practice, "b-1", report("anmeldung", CODE, JAN5))
    jan8 = date(2026, 1, 8)
    pair = [
        replace(report("abmeldung", CODE, jan8, number=1), rule="R-CHG-1"),
        replace(report("anmeldung", CODE2, jan8, number=2), rule="R-CHG-1"),
    ]
    stock = _inventory(CODE2, JAN5, "m1")
    response, envelope = post(client, state, practice, "b-2", *pair, *stock)
    results = receipt_of(response, state, "b-2", envelope).results
    assert [r.status for r in results] == ["accepted", "rejected", "accepted"]


def test_sent_after_its_anmeldung_the_inventory_confirms_the_registration(
    client: TestClient, state: Path, practice: Practice
) -> None:
    """D-196: the order the outbox keeps: the Anmeldung first, the inventory report in a
    later batch; both accepted, one registration open, no duplicate notice."""
    post(client, state, practice, "b-1", report("anmeldung", CODE, JAN5))
    response, envelope = post(client, state, practice, "b-2", *_inventory(CODE, JAN5, "m1"))
    receipt = receipt_of(response, state, "b-2", envelope)
    assert [r.status for r in receipt.results] == ["accepted"] and receipt.notices == ()
    assert overview(client)["counts"]["open"] == 1
