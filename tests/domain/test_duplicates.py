"""The register's duplicate notice (004 §10): its format, the doctors' answer, and what the
reconciler makes of an agreed Abmeldung afterwards (R-NOTE-1, R-EP-5, D-170, D-171)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.duplicate_notice import (
    DuplicateNotice,
    OtherDoctor,
    notice_json,
    parse_notice,
    refuse_letter_to_come,
)
from adapter.domain.duplicates import agreed_answer, agreed_off, answers_by_id, contradicting
from adapter.domain.model import Report
from adapter.domain.reconcile import Desired, Reported, reconcile
from adapter.errors import NoticeError

from .builders import CODE, report

D = date
SUBJECT = "mapping-1"
OTHER = OtherDoctor("Dr. Anna Beispiel", "7654321", "Hauptstr. 1, 10115 Berlin", D(2025, 11, 3))
NOTICE = DuplicateNotice("Az. 2026-0042", D(2026, 1, 5), "1111111", CODE, (OTHER,))
ANM = report("anmeldung", made_on=D(2025, 3, 1))
TODAY = D(2026, 1, 8)


def document(**changes: Any) -> dict[str, Any]:
    """The notice above as JSON, with fields changed (None: the field removed)."""
    base: dict[str, Any] = json.loads(notice_json(NOTICE))
    for key, value in changes.items():
        if value is None:
            del base[key]
        else:
            base[key] = value
    return base


def test_a_typed_notice_is_read_and_its_code_written_as_the_register_holds_it() -> None:
    """Lower case typed: the code in upper case, "ß" kept (R-CODE-5)."""
    typed = document(patient_code=CODE.lower())
    assert parse_notice(json.dumps(typed).encode()) == NOTICE
    assert parse_notice(notice_json(NOTICE)) == NOTICE


BAD = {
    "not-json": b"{",
    "not-an-object": b"[]",
    "missing-field": json.dumps(document(reference=None)).encode(),
    "extra-field": json.dumps(document(remark="x")).encode(),
    "other-format": json.dumps(document(format="notice/2")).encode(),
    "bad-code": json.dumps(document(patient_code="HAMÜX284")).encode(),
    "bad-btm": json.dumps(document(doctor_btm_number="123456")).encode(),
    "no-other-doctor": json.dumps(document(other_doctors=[])).encode(),
    "bad-day": json.dumps(document(letter_date="05.01.2026")).encode(),
    "two-line-reference": json.dumps(document(reference="Az.\n42")).encode(),
    "other-without-first-use": json.dumps(
        document(other_doctors=[{"name": "A", "btm_number": None, "contact": "B"}])
    ).encode(),
}


@pytest.mark.parametrize("data", BAD.values(), ids=BAD.keys())
def test_a_notice_that_is_not_one_is_refused_without_echoing_the_code(data: bytes) -> None:
    """NoticeError (exit 2) naming what is wrong; the code never appears in the message."""
    with pytest.raises(NoticeError) as refused:
        parse_notice(data)
    assert "HAMÜ" not in str(refused.value)
    assert str(refused.value)


def test_the_other_doctor_continues_gives_the_abmeldung_on_the_agreed_last_use() -> None:
    """R-EP-5: the doctor who stops deregisters, with the registration's code and doctor."""
    answer = agreed_answer(
        NOTICE, "other", ANM, made_on=TODAY, last_use=D(2026, 1, 2), continuing=OTHER
    )
    assert (answer.kind, answer.date, answer.made_on) == ("abmeldung", D(2026, 1, 2), TODAY)
    assert (answer.patient_code, answer.doctor, answer.rule) == (CODE, ANM.doctor, "R-EP-5")
    assert "Dr. Anna Beispiel" in answer.remarks[0] and "05.01.2026" in answer.remarks[0]
    assert answer.id.startswith("abm-")


@pytest.mark.parametrize(
    ("outcome", "words"),
    [("us", "führe ich fort"), ("different-people", "unterschiedliche Patienten")],
    ids=["us", "different-people"],
)
def test_the_other_outcomes_are_notices_with_the_remark_the_register_expects(
    outcome: Any, words: str
) -> None:
    """R-NOTE-1: a Mitteilung with the code and the result in the remarks."""
    answer = agreed_answer(NOTICE, outcome, ANM, made_on=TODAY)
    assert (answer.kind, answer.date, answer.rule) == ("mitteilung", TODAY, "R-NOTE-1")
    assert answer.patient_code == CODE
    assert words in answer.remarks[0] and "Az. 2026-0042" in answer.remarks[0]


@pytest.mark.parametrize(
    ("outcome", "last_use"),
    [("other", None), ("other", D(2025, 2, 1)), ("other", D(2026, 1, 9)), ("us", D(2026, 1, 2))],
    ids=["other-without-day", "before-the-anmeldung", "in-the-future", "us-with-a-day"],
)
def test_a_last_use_that_cannot_be_is_refused(outcome: Any, last_use: date | None) -> None:
    """R-DATE-3 and R-EP-4: not in the future, not before the first use, only for `other`."""
    with pytest.raises(NoticeError):
        agreed_answer(NOTICE, outcome, ANM, made_on=TODAY, last_use=last_use, continuing=OTHER)


# -- the reconciler after an agreed Abmeldung (D-171) ---------------------------------


def _held(r: Report, ledger_id: str, origin: str = "derived") -> Reported:
    return Reported(
        ledger_id,
        SUBJECT,
        r.kind,
        "1111111",
        r.date,
        r.patient_code,
        "sent",
        origin,
        False,
        r,  # type: ignore[arg-type]
    )


AGREED = agreed_answer(
    NOTICE, "other", ANM, made_on=TODAY, last_use=D(2025, 12, 20), continuing=OTHER
)


def test_an_agreed_abmeldung_is_not_undone_by_the_data_of_the_registration_it_ended() -> None:
    """The data still shows the phase open or ending later: no new report, no withdrawal,
    and a warning when the data goes on after the agreed day."""
    later_end = report("abmeldung", made_on=D(2026, 1, 11), dated=D(2025, 12, 31))
    reported = [_held(ANM, "l1"), _held(AGREED, "l2", origin="agreement")]
    plan = reconcile(
        [Desired(SUBJECT, "Patient/p1", ANM), Desired(SUBJECT, "Patient/p1", later_end)],
        reported,
        as_of=D(2026, 1, 20),
    )
    assert plan.record == [] and plan.withdraw == [] and plan.supersede == []
    assert [(f.severity, f.rule) for f in plan.findings] == [("warning", "R-EP-5")]


def test_a_new_treatment_after_the_agreed_day_is_registered_again() -> None:
    """Data of a phase begun after the agreed Abmeldung is a new treatment (D-171)."""
    again = report("anmeldung", made_on=D(2026, 2, 1), report_id="anm-1")
    reported = [_held(ANM, "l1"), _held(AGREED, "l2", origin="agreement")]
    wanted = [Desired(SUBJECT, "Patient/p1", ANM), Desired(SUBJECT, "Patient/p1", again)]
    plan = reconcile(wanted, reported, as_of=D(2026, 2, 1))
    assert [(p.report.kind, p.report.date) for p in plan.record] == [("anmeldung", D(2026, 2, 1))]


def test_a_rejected_agreement_settles_nothing() -> None:
    """A person rejected the agreed Abmeldung: the data's Abmeldung is made as usual."""
    end = report("abmeldung", made_on=D(2026, 1, 11), dated=D(2025, 12, 31))
    rejected = replace(_held(AGREED, "l2", origin="agreement"), state="rejected")
    wanted = [Desired(SUBJECT, "Patient/p1", ANM), Desired(SUBJECT, "Patient/p1", end)]
    plan = reconcile(wanted, [_held(ANM, "l1"), rejected], as_of=D(2026, 1, 20))
    assert [(p.report.kind, p.report.date) for p in plan.record] == [("abmeldung", D(2025, 12, 31))]


@given(
    agreed=st.dates(D(2025, 1, 1), D(2025, 12, 31)),
    starts=st.lists(st.dates(D(2025, 1, 1), D(2026, 6, 30)), max_size=6),
    length=st.integers(0, 120),
)
def test_no_anmeldung_of_a_phase_begun_by_the_agreed_day_is_kept_unless_made(
    agreed: date, starts: list[date], length: int
) -> None:
    """For any phases: what is dropped began by the agreed day; what began after is kept."""
    items = []
    for n, start in enumerate(sorted(set(starts))):
        items.append(report("anmeldung", made_on=start, report_id=f"anm-{n}"))
        items.append(report("abmeldung", made_on=start, dated=start + timedelta(days=length)))
    kept, _ = agreed_off(items, lambda r: r, lambda r: False, agreed, reopened=False)
    for item in items:
        if item.kind == "anmeldung":
            assert (item in kept) == (item.date > agreed)


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 1, 1)), st.integers(-400, 400))
def test_a_letter_dated_after_today_is_refused_naming_the_field(today: date, shift: int) -> None:
    """R-DATE-3: refused exactly when the letter's day lies after today; the
    field's path under `at`, the code never in the message."""
    notice = replace(NOTICE, letter_date=today + timedelta(days=shift))
    if shift <= 0:
        refuse_letter_to_come(notice, today, at="notice.")
        return
    with pytest.raises(NoticeError, match="lies after today") as refused:
        refuse_letter_to_come(notice, today, at="notice.")
    assert refused.value.field == "notice.letter_date" and CODE not in str(refused.value)


def test_each_answer_is_recognised_by_its_id() -> None:
    """D-204: the id of each recorded answer names that answer; a rejected first answer
    or the same answer again contradicts nothing."""
    made = {
        o: agreed_answer(
            NOTICE,
            o,
            ANM,
            made_on=TODAY,
            last_use=TODAY if o == "other" else None,
            continuing=OTHER,
        )
        for o in ("us", "other", "different-people")
    }  # type: ignore[arg-type]
    assert {answers_by_id(NOTICE, ANM)[r.id] for r in made.values()} == set(made)
    assert contradicting("us", "us", "L1", "pending") is None
    assert contradicting("us", "other", "L1", "rejected") is None
    assert "answered --continues us already (report L1, sent)" in (
        contradicting("us", "other", "L1", "sent") or ""
    )
