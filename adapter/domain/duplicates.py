"""What the doctors agreed on a duplicate notice (004 §10), as a report, and what the
reconciler makes of it afterwards (D-171).

The doctors clear whether one code is one patient. If so, they agree who continues and
tell the register in writing; the one who stops deregisters the patient. If not, they
tell the register that the codes belong to different people. The practice's answer is
one report in the ledger, of origin `agreement` (approved and sent like any other):

    us                 a Mitteilung: the same patient, I continue (R-NOTE-1)
    other              the Abmeldung of the doctor written to, on the agreed last use,
                       with the remark who continues (R-EP-5)
    different-people   a Mitteilung: different patients despite one code (R-NOTE-1)

After an agreed Abmeldung, the data that gave the ended registration must not open it
again: `agreed_off` drops the Anmeldungen of phases begun by the agreed day and the
Abmeldungen that would end them (D-171).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Final, Literal, TypeVar

from adapter.domain.duplicate_notice import DuplicateNotice, OtherDoctor
from adapter.domain.model import Finding, Report
from adapter.domain.reports import report_id
from adapter.errors import NoticeError

Outcome = Literal["us", "other", "different-people"]
OUTCOMES: tuple[Outcome, ...] = ("us", "other", "different-people")
AGREEMENT: Final = "agreement"  # the ledger origin of an answer to a duplicate notice
T = TypeVar("T")


def agreed_answer(
    notice: DuplicateNotice,
    outcome: Outcome,
    registration: Report,
    *,
    made_on: date,
    last_use: date | None = None,
    continuing: OtherDoctor | None = None,
) -> Report:
    """The report that tells the register what the doctors agreed (004 §10).

    `registration`: the Anmeldung under the notice's code by the doctor written to; its
    code and doctor go on the answer (R-CODE-8). `last_use`: only for `other`, the last
    day the patient has substitution from this doctor (R-DATE-2, R-DATE-3)."""
    if outcome != "other" and last_use is not None:
        raise NoticeError(
            "--last-use belongs to --continues other only",
            field="last_use",
            service='"last_use" belongs to "continues": "other" only',
        )
    prefix = (
        f"Doppelmeldung der Bundesopiumstelle vom {_de(notice.letter_date)} ({notice.reference})"
    )
    agreed_with = "; ".join(_who(o) for o in notice.other_doctors)
    if outcome == "other":
        return _abmeldung(
            notice, registration, prefix, made_on=made_on, last_use=last_use, continuing=continuing
        )
    if outcome == "us":
        remark = (
            f"{prefix}: derselbe Patient; die Substitutionsbehandlung führe ich fort "
            f"(abgestimmt mit {agreed_with})."
        )
    else:
        remark = (
            f"{prefix}: trotz gleichen Patientencodes unterschiedliche Patienten "
            f"(geklärt mit {agreed_with})."
        )
    return _answer(
        notice,
        outcome,
        registration,
        kind="mitteilung",
        made_on=made_on,
        remark=remark,
        rule="R-NOTE-1",
    )


def refuse_last_use_to_come(last_use: date | None, today: date) -> None:
    """R-DATE-3: the agreed last day of use has come; checked before the lookup too, so
    that a day mistyped into the future spends none (D-254)."""
    if last_use is not None and last_use > today:
        raise NoticeError(
            "--last-use lies in the future (R-DATE-3)",
            field="last_use",
            service='"last_use" lies in the future (R-DATE-3)',
        )


def _abmeldung(
    notice: DuplicateNotice,
    registration: Report,
    prefix: str,
    *,
    made_on: date,
    last_use: date | None,
    continuing: OtherDoctor | None,
) -> Report:
    """R-EP-5: the doctor who stops deregisters, on the agreed last use."""
    if last_use is None:
        raise NoticeError(
            "--continues other needs --last-use: the last day of substitution here",
            field="last_use",
            service='"continues": "other" needs "last_use": the last day of substitution here',
        )
    if last_use < registration.date:
        first = registration.date.isoformat()
        raise NoticeError(
            f"--last-use lies before the Anmeldung's first use ({first})",
            field="last_use",
            service=f'"last_use" lies before the Anmeldung\'s first use ({first})',
        )
    refuse_last_use_to_come(last_use, made_on)
    if continuing is None:
        raise NoticeError(
            "--continues other needs the doctor who continues",
            field="by",
            service='"continues": "other" needs the doctor who continues',
        )
    remark = (
        f"{prefix}: derselbe Patient; die Substitutionsbehandlung führt {_who(continuing)} "
        "fort (abgestimmt); daher Abmeldung."
    )
    answer = _answer(
        notice,
        "other",
        registration,
        kind="abmeldung",
        made_on=made_on,
        remark=remark,
        rule="R-EP-5",
    )
    return replace(answer, date=last_use)


def _answer(
    notice: DuplicateNotice,
    outcome: Outcome,
    registration: Report,
    *,
    kind: Literal["abmeldung", "mitteilung"],
    made_on: date,
    remark: str,
    rule: str,
) -> Report:
    return Report(
        kind=kind,
        made_on=made_on,
        date=made_on,
        patient_code=registration.patient_code,
        substance=None,
        doctor=registration.doctor,
        consultant=None,
        remarks=(remark,),
        rule=rule,
        sources=registration.sources,
        id=_answer_id(notice, outcome, registration),
    )


_KIND_OF: Final[dict[Outcome, str]] = {
    "us": "mitteilung",
    "other": "abmeldung",
    "different-people": "mitteilung",
}


def _answer_id(notice: DuplicateNotice, outcome: Outcome, registration: Report) -> str:
    """The id of an answer: the notice, the answer and the registration it is about."""
    seed = "|".join(
        ("duplicate", outcome, notice.reference, notice.letter_date.isoformat(), registration.id)
    )
    return report_id(_KIND_OF[outcome], seed)


def answers_by_id(notice: DuplicateNotice, registration: Report) -> dict[str, Outcome]:
    """The id each possible answer to this notice on this registration has, to its answer:
    how an answer recorded earlier is recognised (D-204)."""
    return {_answer_id(notice, o, registration): o for o in OUTCOMES}


def contradicting(earlier: Outcome, answer: Outcome, ledger_id: str, state: str) -> str | None:
    """D-204: the doctors' agreement on a notice is one; a different answer is refused while
    the first one's report stands (not rejected or withdrawn)."""
    if earlier == answer or state == "rejected":
        return None
    return (
        f"this notice was answered --continues {earlier} already (report {ledger_id}, "
        f"{state}): a different answer is refused; reject that report first if the "
        "doctors agreed otherwise"
    )


def agreed_off(
    items: Sequence[T],
    report_of: Callable[[T], Report],
    known: Callable[[T], bool],
    agreed: date,
    *,
    reopened: bool,
) -> tuple[list[T], list[Report]]:
    """D-171: the desired reports an agreed Abmeldung on `agreed` settles are dropped: an
    Anmeldung not yet made of a phase begun by that day, and an Abmeldung not yet made that
    follows such an Anmeldung (or no Anmeldung at all, a resumed walk, unless a later
    registration is open: `reopened`). Returns the items kept and the dropped Abmeldungen
    dated after `agreed` (the data goes on after the agreed stop: a warning)."""
    dropped: set[int] = set()
    late: list[Report] = []
    phase_start: date | None = None if reopened else agreed
    for item in sorted(items, key=lambda i: (report_of(i).date, report_of(i).kind != "anmeldung")):
        report = report_of(item)
        if report.kind == "anmeldung":
            phase_start = report.date
        settled = phase_start is not None and phase_start <= agreed
        if settled and report.kind in ("anmeldung", "abmeldung") and not known(item):
            dropped.add(id(item))
            if report.kind == "abmeldung" and report.date > agreed:
                late.append(report)
    return [item for item in items if id(item) not in dropped], late


def continued_after_agreement(patient: str, report: Report, agreed: date) -> Finding:
    """The data shows substitution after the day the doctors agreed this doctor stops."""
    return Finding(
        severity="warning",
        rule="R-EP-5",
        message=(
            f"{patient}: the doctors agreed on a duplicate notice that another doctor "
            f"continues, and this doctor's Abmeldung is dated {agreed.isoformat()}; the data "
            f"shows substitution until {report.date.isoformat()}. Nothing more is reported: "
            "check the EHR (D-171)."
        ),
        sources=report.sources,
    )


def _who(doctor: OtherDoctor) -> str:
    btm = f", BtM-Nr. {doctor.btm_number}" if doctor.btm_number else ""
    return f"{doctor.name}{btm}, {doctor.contact}"


def _de(day: date) -> str:
    return day.strftime("%d.%m.%Y")
