"""Reconciling the desired register state with the ledger (R-CODE-8, R-EP-4, R-EP-5, D-20)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from adapter.domain.ledger import STATES, TRANSITIONS, transition_problem
from adapter.domain.model import Report
from adapter.domain.reconcile import PRACTICE, Desired, Reported, reconcile, slot_key

from .builders import report

D = date
SUBJECT = "mapping-1"
PATIENT = "Patient/p1"
AS_OF = D(2025, 6, 30)


def want(r: Report, subject: str = SUBJECT) -> Desired:
    return Desired(subject, PATIENT, r)


def held(
    r: Report,
    ledger_id: str,
    *,
    state: str = "sent",
    origin: str = "derived",
    superseded: bool = False,
    subject: str = SUBJECT,
) -> Reported:
    return Reported(
        ledger_id,
        subject,
        r.kind,
        r.doctor.btm_number or "",
        r.date,
        r.patient_code,
        state,
        origin,  # type: ignore[arg-type]
        superseded,
        r,
    )


ANM = report("anmeldung", made_on=D(2025, 3, 1))
ABM = report("abmeldung", made_on=D(2025, 3, 21), dated=D(2025, 3, 10))
LATER_ANM = report("anmeldung", made_on=D(2025, 4, 1))


def _planned(plan: object) -> list[tuple[str, date, str | None, str]]:
    return [
        (p.report.kind, p.report.date, p.report.patient_code, p.origin)
        for p in plan.record  # type: ignore[attr-defined]
    ]


def test_an_empty_ledger_records_every_desired_report() -> None:
    """First sync: everything the data calls for is recorded, in order."""
    plan = reconcile([want(ABM), want(ANM)], [], as_of=AS_OF)
    assert _planned(plan) == [
        ("anmeldung", D(2025, 3, 1), ANM.patient_code, "derived"),
        ("abmeldung", D(2025, 3, 10), ANM.patient_code, "derived"),
    ]
    assert plan.findings == [] and plan.supersede == []


def test_slots_already_in_the_ledger_are_never_made_again() -> None:
    """Running twice adds nothing; a rejected slot stays decided too."""
    reported = [held(ANM, "l1"), held(ABM, "l2", state="rejected")]
    assert reconcile([want(ANM), want(ABM)], reported, as_of=AS_OF).record == []


def test_the_abmeldung_carries_the_code_the_register_holds() -> None:
    """R-CODE-8: a new spelling in the data never reaches the Abmeldung of that Anmeldung."""
    respelled = replace(ABM, patient_code="SYHAF450")
    plan = reconcile([want(ANM), want(respelled)], [held(ANM, "l1")], as_of=AS_OF)
    assert _planned(plan) == [("abmeldung", D(2025, 3, 10), ANM.patient_code, "derived")]


def test_a_new_spelling_of_a_registered_code_is_an_info_finding() -> None:
    """Only the letters differ: the reported code is kept, and the practice is told."""
    respelled = replace(ANM, patient_code="SYMÜF284")
    plan = reconcile([want(respelled)], [held(ANM, "l1")], as_of=AS_OF)
    [finding] = plan.findings
    assert (finding.severity, finding.rule) == ("info", "R-CODE-8")


def test_new_birth_digits_are_a_warning_naming_the_correction() -> None:
    """Sex or birth digits differ: a warning with the Abmeldung and Anmeldung that would fix it."""
    redated = replace(ANM, patient_code=ANM.patient_code[:5] + "999")  # type: ignore[index]
    plan = reconcile([want(redated)], [held(ANM, "l1")], as_of=AS_OF)
    [finding] = plan.findings
    assert (finding.severity, finding.rule) == ("warning", "R-CODE-8")
    assert "dated 2025-06-30" in finding.message and "dated 2025-07-01" in finding.message


@pytest.mark.parametrize(
    ("ledger", "desired", "problem"),
    [
        ([ANM], [LATER_ANM], "registration since 2025-03-01"),
        ([], [ABM], "no open Anmeldung"),
        ([LATER_ANM], [replace(ABM, date=D(2025, 3, 10))], "lies before the Anmeldung"),
    ],
    ids=["second-anmeldung", "abmeldung-without-anmeldung", "abmeldung-before-anmeldung"],
)
def test_reports_the_register_cannot_take_are_refused_with_r_ep_4(
    ledger: list[Report], desired: list[Report], problem: str
) -> None:
    """R-EP-4: no second Anmeldung while one is open, no Abmeldung without one."""
    reported = [held(r, f"l{n}") for n, r in enumerate(ledger)]
    plan = reconcile(
        [want(r) for r in desired], reported, as_of=AS_OF, partial=frozenset({SUBJECT})
    )
    assert plan.record == []
    [finding] = plan.findings
    assert finding.rule == "R-EP-4" and problem in finding.message


PAIR_ABM = report("abmeldung", made_on=D(2025, 4, 15), dated=D(2025, 4, 14))
PAIR_ANM = report("anmeldung", made_on=D(2025, 4, 15), dated=D(2025, 4, 15))


def _blanket(day: date) -> Reported:
    """The doctor's blanket deregistration of `day`, pending (a report of the practice)."""
    pau = report("pauschalabmeldung", made_on=D(2025, 4, 28), dated=day, code=None)
    return held(pau, f"pau-{day.isoformat()}", state="pending", subject=PRACTICE)


@pytest.mark.parametrize(
    "blanket",
    [D(2025, 4, 14), D(2025, 4, 10)],
    ids=["blanket-on-the-pair-s-abmeldung-day", "blanket-before-it"],
)
def test_a_change_pair_s_abmeldung_the_blanket_ended_is_covered_on_a_rebuild(
    blanket: date,
) -> None:
    """R-PAU-1, R-EP-4 (D-225): the blanket took the pair's unsent Abmeldung of 04-14
    back; derived afresh, it is covered although the new code's Anmeldung of 04-15 is
    open now: nothing recorded, no finding."""
    reported = [held(ANM, "l1", state="pending"), held(PAIR_ANM, "l3", state="pending")]
    desired = [want(ANM), want(PAIR_ABM), want(PAIR_ANM)]
    plan = reconcile(desired, [*reported, _blanket(blanket)], as_of=D(2025, 4, 28))
    assert plan.record == [] and plan.findings == [] and plan.withdraw == []


def test_without_the_blanket_the_same_abmeldung_is_refused_with_r_ep_4() -> None:
    """The control: no blanket ended that registration, so the register cannot take an
    Abmeldung dated before the Anmeldung it holds, and sync says so (R-EP-4)."""
    reported = [held(ANM, "l1", state="pending"), held(PAIR_ANM, "l3", state="pending")]
    plan = reconcile([want(PAIR_ABM)], reported, as_of=D(2025, 4, 28), partial=frozenset({SUBJECT}))
    [finding] = plan.findings
    assert finding.rule == "R-EP-4" and "lies before the Anmeldung" in finding.message


def test_a_contradicted_abmeldung_records_nothing_and_names_the_correction() -> None:
    """R-EP-5: the data now shows the phase going on after the reported end."""
    plan = reconcile([want(ANM)], [held(ANM, "l1"), held(ABM, "l2")], as_of=AS_OF)
    assert plan.record == [] and plan.supersede == []
    assert plan.contradicted == {SUBJECT}
    [finding] = plan.findings
    assert finding.rule == "R-EP-5"
    assert "an anmeldung dated 2025-03-11" in finding.message
    assert "ledger l2" in finding.sources


def test_accepted_corrections_supersede_and_record() -> None:
    """With --accept-corrections: the stale entry is superseded, the correction recorded."""
    plan = reconcile(
        [want(ANM)], [held(ANM, "l1"), held(ABM, "l2")], as_of=AS_OF, accept_corrections=True
    )
    assert plan.supersede == ["l2"]
    assert _planned(plan) == [("anmeldung", D(2025, 3, 11), ANM.patient_code, "correction")]
    assert plan.record[0].report.rule == "R-EP-5"
    assert plan.contradicted == set()


def test_a_registration_the_data_no_longer_shows_is_ended_by_the_correction() -> None:
    """R-EP-5: nothing stays registered by mistake; the Abmeldung uses the ledger's report."""
    plan = reconcile([], [held(ANM, "l1")], as_of=AS_OF, accept_corrections=True)
    assert _planned(plan) == [("abmeldung", D(2025, 3, 1), ANM.patient_code, "correction")]
    assert plan.record[0].report.made_on == AS_OF


def test_both_ended_with_a_later_end_in_the_data_gives_anmeldung_and_abmeldung() -> None:
    """The register's phase ended early; the data's went on and ended: both corrections."""
    early_end = replace(ABM, date=D(2025, 3, 5))
    plan = reconcile(
        [want(ANM), want(ABM)],
        [held(ANM, "l1"), held(early_end, "l2")],
        as_of=AS_OF,
        accept_corrections=True,
    )
    assert [(k, d, o) for k, d, _, o in _planned(plan)] == [
        ("anmeldung", D(2025, 3, 6), "correction"),
        ("abmeldung", D(2025, 3, 10), "correction"),
    ]


def test_an_earlier_first_use_cannot_be_corrected_and_the_new_slot_is_waived() -> None:
    """Both open, the data's start earlier: no report changes it; accepting waives the slot."""
    earlier = replace(ANM, date=D(2025, 2, 20))
    plan = reconcile([want(earlier)], [held(ANM, "l1")], as_of=AS_OF, accept_corrections=True)
    assert "no report can change dates" in plan.findings[0].message
    assert _planned(plan) == [("anmeldung", D(2025, 2, 20), ANM.patient_code, "waived")]


def test_superseded_entries_and_corrections_are_never_stale() -> None:
    """After an accepted correction the pair is consistent: later syncs go on normally."""
    correction = replace(ANM, date=D(2025, 3, 11), rule="R-EP-5")
    reported = [
        held(ANM, "l1"),
        held(ABM, "l2", superseded=True),
        held(correction, "l3", origin="correction"),
    ]
    end = replace(ABM, date=D(2025, 3, 30), made_on=D(2025, 4, 10))
    plan = reconcile([want(ANM), want(end)], reported, as_of=AS_OF)
    assert plan.findings == []
    assert _planned(plan) == [("abmeldung", D(2025, 3, 30), ANM.patient_code, "derived")]


def test_a_partial_subject_is_not_contradicted_by_missing_older_reports() -> None:
    """A resumed walk gives only its new reports: older ledger slots are not stale."""
    end = replace(ABM, date=D(2025, 3, 30), made_on=D(2025, 4, 10))
    plan = reconcile([want(end)], [held(ANM, "l1")], as_of=AS_OF, partial=frozenset({SUBJECT}))
    assert plan.findings == []
    assert _planned(plan) == [("abmeldung", D(2025, 3, 30), ANM.patient_code, "derived")]


def test_notices_are_never_contradicted() -> None:
    """A notice once made stays made: its absence from the data is no contradiction."""
    notice = report("mitteilung", made_on=D(2025, 3, 5), code=None)
    plan = reconcile([], [held(notice, "n1", subject=PRACTICE)], as_of=AS_OF)
    assert plan.findings == [] and plan.record == []


def test_the_slot_key_holds_only_our_ids_and_a_date() -> None:
    """kind|subject|BtM number|date: the ledger's uniqueness names no patient."""
    assert slot_key("anmeldung", SUBJECT, "1111111", D(2025, 3, 1)) == (
        "anmeldung|mapping-1|1111111|2025-03-01"
    )


@pytest.mark.parametrize("state", STATES, ids=str)
def test_every_state_either_moves_on_or_is_final(state: str) -> None:
    """The ledger's states form one path: each move allowed is named, others refused."""
    for target in STATES:
        problem = transition_problem(state, target)
        assert (problem is None) is (target in TRANSITIONS[state])  # type: ignore[index]
        if problem is not None:
            assert state in problem


def test_an_unknown_state_is_named() -> None:
    """A state the ledger does not know is refused with its name."""
    assert transition_problem("lost", "approved") == "its state 'lost' is unknown"
