"""The register's bulk reports from the ledger: the inventory report (R-INV-1) and the
blanket deregistration (R-PAU-1), and how the reconciler reads a blanket (D-165, D-166)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.bulk import (
    Listed,
    blanket_report,
    blanket_statement,
    held_open,
    inventories_resting_on,
    inventory_reports,
    inventory_waits_for,
)
from adapter.domain.model import Report
from adapter.domain.reconcile import PRACTICE, Desired, Reported, reconcile

from .builders import report

D = date
DOCTOR = "1111111"
OTHER = "2222222"
AS_OF = D(2025, 6, 30)


def held(r: Report, ledger_id: str, subject: str = "m1", *, state: str = "sent") -> Reported:
    return Reported(
        ledger_id,
        subject,
        r.kind,
        r.doctor.btm_number or "",
        r.date,
        r.patient_code,
        state,
        "derived",
        False,
        r,
    )


ANM = report("anmeldung", made_on=D(2025, 3, 1))
ABM = report("abmeldung", made_on=D(2025, 3, 21), dated=D(2025, 3, 10))
BLANKET = blanket_report(ANM.doctor, D(2025, 6, 15), made_on=D(2025, 6, 16)).report


def test_the_statement_is_the_register_s_sentence_with_the_german_date() -> None:
    """R-PAU-1: the signed statement in 004 §3.7's words."""
    assert blanket_statement(D(2025, 6, 15)) == (
        "Am 15.06.2025 habe ich alle von mir durchgeführten Substitutionsbehandlungen beendet."
    )


def test_a_blanket_names_no_patient_and_carries_the_statement() -> None:
    """R-PAU-1: no code, the date, the statement as remark; the practice's report."""
    planned = blanket_report(ANM.doctor, D(2025, 6, 15), made_on=D(2025, 6, 16))
    assert planned.subject == PRACTICE
    assert planned.report.patient_code is None
    assert planned.report.date == D(2025, 6, 15)
    assert planned.report.remarks == (blanket_statement(D(2025, 6, 15)),)
    assert planned.slot == f"pauschalabmeldung|{PRACTICE}|{DOCTOR}|2025-06-15"


def test_only_registrations_open_on_the_key_date_are_held() -> None:
    """R-INV-1: ended before the key date, or begun after it: not in the inventory."""
    ended = [held(ANM, "a1", "m1"), held(ABM, "a2", "m1")]
    open_now = [held(replace(ANM, date=D(2025, 5, 1)), "b1", "m2")]
    later = [held(replace(ANM, date=D(2025, 7, 1)), "c1", "m3")]
    found = held_open(ended + open_now + later, DOCTOR, D(2025, 6, 1))
    assert [(h.subject, h.began) for h in found] == [("m2", D(2025, 5, 1))]


def test_another_doctor_s_and_rejected_registrations_are_not_held() -> None:
    """A registration with another doctor, or one the register refused, is not held."""
    other = report("anmeldung", made_on=D(2025, 3, 1), btm_number=OTHER)
    rows = [held(other, "o1", "m1"), held(ANM, "r1", "m2", state="rejected")]
    assert held_open(rows, DOCTOR, D(2025, 6, 1)) == []


def test_a_pair_that_continues_the_phase_keeps_its_first_use() -> None:
    """R-INV-1: the first use of the current phase, across a new consulting doctor (R-CHG-3),
    with the code and consulting doctor of the open Anmeldung."""
    split_end = replace(ABM, date=D(2025, 4, 30))
    split = replace(ANM, date=D(2025, 5, 1), rule="R-CHG-3", patient_code="NEUCODE1")
    rows = [held(ANM, "a1"), held(split_end, "a2"), held(split, "a3")]
    [found] = held_open(rows, DOCTOR, D(2025, 6, 1))
    assert (found.began, found.ledger_id) == (D(2025, 3, 1), "a3")
    [planned] = inventory_reports([found], ANM.doctor, D(2025, 6, 1))
    assert planned.report.patient_code == "NEUCODE1"
    assert planned.report.date == D(2025, 3, 1)


def test_a_re_registration_after_an_end_starts_a_new_phase() -> None:
    """A new Anmeldung after an Abmeldung (no change pair) is the first use of a new phase."""
    again = replace(ANM, date=D(2025, 4, 20))
    [found] = held_open([held(ANM, "a1"), held(ABM, "a2"), held(again, "a3")], DOCTOR, AS_OF)
    assert found.began == D(2025, 4, 20)


def test_an_inventory_report_is_made_on_the_key_date_and_slotted_by_it() -> None:
    """R-INV-1: made on the key date; its slot is the key date, so one per patient and day."""
    [found] = held_open([held(ANM, "a1")], DOCTOR, D(2025, 6, 1))
    [planned] = inventory_reports([found], ANM.doctor, D(2025, 6, 1))
    r = planned.report
    assert (r.kind, r.made_on, r.date, r.substance) == (
        "inventur",
        D(2025, 6, 1),
        D(2025, 3, 1),
        "Methadon",
    )
    assert planned.slot == f"inventur|m1|{DOCTOR}|2025-06-01"
    [again] = inventory_reports([found], ANM.doctor, D(2025, 6, 1))
    assert again.report.id == r.id


def test_a_blanket_ends_what_is_open_on_its_day_for_the_inventory() -> None:
    """R-PAU-1: after the blanket, nothing of the doctor is held open."""
    rows = [held(ANM, "a1"), held(BLANKET, "p1", PRACTICE)]
    assert held_open(rows, DOCTOR, D(2025, 6, 14)) != []
    assert held_open(rows, DOCTOR, D(2025, 6, 15)) == []


def test_the_reconciler_sends_no_single_abmeldung_a_blanket_covers() -> None:
    """D-166: the data's Abmeldung of a registration the blanket ended is not recorded, and
    no finding is made; the register treats it as ended on the blanket's date."""
    abm = replace(ABM, date=D(2025, 6, 13), made_on=D(2025, 6, 16))
    reported = [held(ANM, "a1"), held(BLANKET, "p1", PRACTICE, state="pending")]
    plan = reconcile(
        [Desired("m1", "Patient/p1", ANM), Desired("m1", "Patient/p1", abm)], reported, as_of=AS_OF
    )
    assert plan.record == [] and plan.findings == []


def test_the_successor_s_anmeldung_follows_the_data() -> None:
    """R-CHG-6: the successor registers the patient anew, whatever the blanket."""
    successor = report("anmeldung", made_on=D(2025, 6, 18), btm_number=OTHER)
    reported = [held(ANM, "a1"), held(BLANKET, "p1", PRACTICE)]
    plan = reconcile(
        [Desired("m1", "Patient/p1", ANM), Desired("m1", "Patient/p1", successor)],
        reported,
        as_of=AS_OF,
    )
    assert [(p.report.kind, p.report.doctor.btm_number) for p in plan.record] == [
        ("anmeldung", OTHER)
    ]


def test_a_rejected_blanket_leaves_the_single_abmeldung_to_be_sent() -> None:
    """A blanket the register refused (or a person rejected) ends nothing."""
    abm = replace(ABM, date=D(2025, 6, 13), made_on=D(2025, 6, 16))
    reported = [held(ANM, "a1"), held(BLANKET, "p1", PRACTICE, state="rejected")]
    plan = reconcile(
        [Desired("m1", "Patient/p1", ANM), Desired("m1", "Patient/p1", abm)], reported, as_of=AS_OF
    )
    assert [p.report.kind for p in plan.record] == ["abmeldung"]


def test_inventory_and_blanket_entries_are_never_stale() -> None:
    """They are made on request, not from the data: never withdrawn nor contradicted."""
    [found] = held_open([held(ANM, "a1")], DOCTOR, D(2025, 6, 1))
    [inv] = inventory_reports([found], ANM.doctor, D(2025, 6, 1))
    reported = [held(ANM, "a1"), held(inv.report, "i1", state="pending")]
    plan = reconcile([Desired("m1", "Patient/p1", ANM)], reported, as_of=AS_OF)
    assert plan.withdraw == [] and plan.findings == [] and plan.record == []


@given(
    start=st.dates(D(2024, 1, 1), D(2025, 12, 31)),
    blanket=st.dates(D(2024, 1, 1), D(2025, 12, 31)),
    key=st.dates(D(2024, 1, 1), D(2025, 12, 31)),
)
def test_held_on_a_day_exactly_when_begun_by_it_and_not_blanketed_by_it(
    start: date, blanket: date, key: date
) -> None:
    """A registration is in the inventory iff it began by the key date and no blanket of its
    doctor on or before the key date came on or after its start."""
    anm = replace(ANM, date=start)
    end = blanket_report(ANM.doctor, blanket, made_on=blanket + timedelta(days=1)).report
    found = held_open([held(anm, "a1"), held(end, "p1", PRACTICE)], DOCTOR, key)
    expected = start <= key and not (start <= blanket <= key)
    assert bool(found) == expected


KEY = D(2025, 6, 10)
STOCK = Listed("l-inv", "m1", "inventur", DOCTOR, D(2025, 3, 1), KEY, "approved")


def _single(ledger_id: str, state: str, **changes: object) -> Listed:
    """A single Anmeldung of m1 with DOCTOR on 2025-03-01 in `state`, changed as given."""
    return replace(
        Listed(ledger_id, "m1", "anmeldung", DOCTOR, D(2025, 3, 1), D(2025, 3, 2), state),
        **changes,
    )


def test_an_inventory_waits_for_its_patient_s_reports_not_yet_sent() -> None:
    """D-196: pending, approved and queued single reports up to the key date hold it back."""
    ledger = [_single(f"l-{s}", s) for s in ("pending", "approved", "queued")]
    assert inventory_waits_for(STOCK, [STOCK, *ledger]) == ("l-approved", "l-pending", "l-queued")


def test_an_inventory_goes_once_the_register_had_them() -> None:
    """D-196: sent, acknowledged or rejected single reports hold nothing back."""
    ledger = [_single(f"l-{s}", s) for s in ("sent", "acknowledged", "rejected")]
    assert inventory_waits_for(STOCK, [STOCK, *ledger]) == ()


def test_other_patients_doctors_later_days_and_waived_reports_hold_nothing_back() -> None:
    """D-196: only this patient's and doctor's single reports up to the key date count."""
    ledger = [
        _single("l-other", "approved", subject="m2"),
        _single("l-doctor", "approved", doctor=OTHER),
        _single("l-later", "approved", day=KEY + timedelta(days=1)),
        _single("l-waived", "pending", origin="waived"),
        _single("l-notice", "approved", kind="mitteilung"),
    ]
    assert inventory_waits_for(STOCK, ledger) == ()


def test_only_an_inventory_report_is_ever_held_back() -> None:
    """D-196: an Anmeldung, an Abmeldung or a blanket waits for nothing."""
    ledger = [_single("l-a", "approved")]
    for kind in ("anmeldung", "abmeldung", "pauschalabmeldung"):
        assert inventory_waits_for(replace(STOCK, kind=kind), ledger) == ()
    assert inventory_waits_for(STOCK, [_single("l-on-the-day", "approved", day=KEY)]) == (
        "l-on-the-day",
    )


def test_an_inventory_rests_on_the_newest_anmeldung_up_to_its_key_date() -> None:
    """D-196: rejecting the Anmeldung the inventory names takes it back; one after the key
    date, or one before the phase it states began, does not."""
    old = _single("l-old", "rejected", day=D(2025, 2, 1))
    new = _single("l-new", "rejected", day=D(2025, 5, 1))
    kept = replace(new, state="pending")
    later = _single("l-later", "rejected", day=KEY + timedelta(days=1))
    assert inventories_resting_on(new, [STOCK, old, new]) == ("l-inv",)
    assert inventories_resting_on(old, [STOCK, old, kept]) == ()
    assert inventories_resting_on(later, [STOCK, later, kept]) == ()


def test_an_inventory_rests_on_the_anmeldung_that_gives_its_first_use() -> None:
    """D-217: the phase's first Anmeldung (the inventory's date), though a change pair's
    newer one is the one named, takes the inventory back when rejected (R-CHG-1)."""
    first = _single("l-first", "rejected")  # dated 03-01, the inventory's first use
    named = _single("l-named", "pending", day=D(2025, 5, 1))
    assert inventories_resting_on(first, [STOCK, first, named]) == ("l-inv",)


def test_only_an_unsent_inventory_of_the_pair_is_taken_back() -> None:
    """D-196: a sent inventory, another patient's or doctor's, and a rejected Abmeldung
    take nothing back."""
    anmeldung = _single("l-a", "rejected")
    others = [
        replace(STOCK, ledger_id="l-sent", state="sent"),
        replace(STOCK, ledger_id="l-m2", subject="m2"),
        replace(STOCK, ledger_id="l-doc", doctor=OTHER),
    ]
    assert inventories_resting_on(anmeldung, [anmeldung, *others]) == ()
    assert inventories_resting_on(replace(anmeldung, kind="abmeldung"), [STOCK]) == ()
