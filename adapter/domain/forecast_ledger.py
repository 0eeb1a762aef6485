"""What the ledger changes in the forecast of stored data (issue 14, D-226).

The forecast walks the data (D-141); sync then puts the ledger between the data and the
register. A blanket deregistration ends the doctor's registrations open on its day, so a
single Abmeldung the data calls for for one of them is never made (R-PAU-1, D-166,
D-225); a handover received here holds back another doctor's Anmeldung or Abmeldung
under the code while the sending doctor's registration is open, and waives those of a
stay the patient returned from (R-HO-1, D-162). The doctors' agreed Abmeldung on a
duplicate notice ends the registration too, and sync drops the data's report of it
(D-171, D-253). A forecast that names a report sync will never make misleads the doctor
who reads it, so each deadline is put to the reconciler and the handover decision sync
uses, and one sync would not make is listed as settled, with the reason, instead. An
open handover's first day past the substitute time (day 31, D-202) is a day of its own:
from then on the sending doctor's Abmeldung and the release are overdue (R-ABS-2, R-EP-2, R-EP-5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from adapter.domain.forecast import Deadline, Forecast, HandoverDue, Settled
from adapter.domain.handover import (
    Received,
    handover_decision,
    return_contradicted,
    substitute_until,
)
from adapter.domain.model import Report
from adapter.domain.pipeline import Due
from adapter.domain.reconcile import Desired, Reported, reconcile, report_slot
from adapter.domain.reconcile_filters import blanket_days, ended_by_blanket, register_view
from adapter.domain.register_view import Blanket


@dataclass(frozen=True, slots=True)
class HandedOver:
    """A handover received here (the newest of its code), as the forecast needs it."""

    handover_id: str
    day: date  # the handover day: day 1 of the substitute time
    since: date  # the day the registration it states began
    received: Received  # its code, registering doctor, state and end


@dataclass(frozen=True, slots=True)
class HandedOut:
    """A handover document this installation exported for a patient with an open
    registration (`handover export`, audited): it holds nothing back here (D-227)."""

    document_id: str
    day: date


@dataclass(frozen=True, slots=True)
class LedgerFacts:
    """What sync puts between the data and the register, read in one unit of work."""

    reported: tuple[Reported, ...]  # the ledger of the patients walked, and the notices
    blankets: Mapping[str, Sequence[Blanket]]  # by the doctor's BtM number (R-PAU-1)
    handovers: tuple[HandedOver, ...] = ()
    exported: Mapping[str, HandedOut] = field(default_factory=dict)  # by mapping id


def counted(
    forecast: Forecast, then: Due, subjects: Mapping[str, str], facts: LedgerFacts
) -> Forecast:
    """`forecast` (patients by key) with each deadline sync will not make moved to
    `settled`, and the open handovers whose substitute time ends by its horizon.
    `then`: the walk to the horizon's end; `subjects`: patient key → mapping id."""
    desired = [
        Desired(subjects[owner], owner, r)
        for r in then.reports
        if (owner := then.owners.get(r.id, "")) in subjects
    ]
    plan = reconcile(
        desired, facts.reported, as_of=forecast.until, partial=frozenset(subjects.values())
    )
    ledger = _Ledger(facts, {p.report.id: p.report for p in plan.record})
    deadlines: list[Deadline] = []
    settled: list[Settled] = []
    for deadline in forecast.deadlines:
        subject = subjects.get(deadline.patient)
        why = None if subject is None else ledger.not_made(deadline, subject)
        if why is None:
            deadlines.append(_handed_out(deadline, facts.exported.get(subject or "")))
        else:
            settled.append(Settled(deadline.due, deadline.patient, deadline.report, why))
    return replace(
        forecast,
        ledger=True,
        deadlines=deadlines,
        settled=settled,
        handovers=_handovers_due(forecast, then, facts.handovers),
    )


class _Ledger:
    def __init__(self, facts: LedgerFacts, planned: Mapping[str, Report]) -> None:
        self.facts = facts
        self.planned = planned  # report id → the report as sync would record it
        self.slots = {r.slot: r for r in facts.reported}
        self.received = {h.received.code: h for h in facts.handovers}
        self.blanket_days = blanket_days(facts.reported)

    def not_made(self, deadline: Deadline, subject: str) -> str | None:
        """Why sync will not make the deadline's report, or None when it will."""
        report = self.planned.get(deadline.report.id)
        if report is None:
            entry = self.slots.get(report_slot(subject, deadline.report))
            if entry is None:
                return self._covered(deadline, subject) or self._agreed(deadline, subject)
            if entry.origin == "agreement" and entry.at_register:  # the doctors' own, D-171
                return self._agreed(deadline, subject)
            return None if entry.at_register else _decided(deadline, entry)
        return self._handover(deadline, report, subject)

    def _handover(self, deadline: Deadline, report: Report, subject: str) -> str | None:
        """What a handover received here makes of the report sync would record (R-HO-1)."""
        received = {c: h.received for c, h in self.received.items()}
        if (withheld := self._contradicted(report, subject, received)) is not None:
            return withheld
        decision = handover_decision(report, received)
        if decision is None or report.patient_code is None:
            return None
        handover = self.received[report.patient_code]
        if decision == "hold":
            return _held(deadline, handover)
        return _waived(deadline, handover)

    def _contradicted(
        self, report: Report, subject: str, received: Mapping[str, Received]
    ) -> str | None:
        """D-258: sync withholds a stay whose Abmeldung lies after the day back of a return."""
        if report.kind not in ("anmeldung", "abmeldung") or report.patient_code is None:
            return None
        stay = [r for r in self.planned.values() if r.patient_code == report.patient_code]
        stay += [r.report for r in self.facts.reported if r.subject == subject and r.report]
        abmeldung = return_contradicted(stay, received)
        if abmeldung is None or abmeldung.doctor.btm_number != report.doctor.btm_number:
            return None
        if report.date > abmeldung.date:
            return None
        return (
            f"withheld: handover {self.received[report.patient_code].handover_id} was "
            f"returned on {received[report.patient_code].ended_on}, but the data has doses "
            f"here after it up to the Abmeldung of {abmeldung.date.isoformat()} (R-HO-1, "
            "D-258); sync reports an error and makes nothing of this stay until a person "
            "decides"
        )

    def _covered(self, deadline: Deadline, subject: str) -> str | None:
        """R-PAU-1: the Abmeldung a blanket deregistration of the doctor ended (D-166)."""
        report = deadline.report
        doctor = report.doctor.btm_number or ""
        entries = [r for r in self.facts.reported if r.subject == subject and r.doctor == doctor]
        days = self.blanket_days.get(doctor, [])
        if not ended_by_blanket(report, entries, days, register_view(entries, days)):
            return None
        blanket = _ending(self.facts.blankets.get(doctor, ()), report.date)
        said = f" of {blanket.day.isoformat()} ({blanket.state})" if blanket else ""
        return (
            f"ended by the Pauschalabmeldung{said} of BtM {doctor} (R-PAU-1): the register "
            f"ends the registration there, so the Abmeldung the data calls for on "
            f"{deadline.due.isoformat()}, dated {report.date.isoformat()}, will not be made "
            "(D-166)"
        )

    def _agreed(self, deadline: Deadline, subject: str) -> str | None:
        """D-171: the doctors' agreement on a duplicate notice ended the registration with
        an Abmeldung of their own, so sync drops the one the data calls for (004 §10)."""
        report = deadline.report
        if report.kind not in ("anmeldung", "abmeldung"):
            return None
        doctor = report.doctor.btm_number or ""
        agreed = [
            r
            for r in self.facts.reported
            if r.subject == subject
            and r.doctor == doctor
            and r.origin == "agreement"
            and r.kind == "abmeldung"
            and r.at_register
        ]
        if not agreed:
            return None
        last = max(agreed, key=lambda r: r.date)
        return (
            f"ended by the doctors' agreement on a duplicate notice: the Abmeldung of "
            f"{last.date.isoformat()} ({last.state}, report {last.ledger_id}, R-EP-5) ends "
            f"the registration of BtM {doctor}, so the {report.kind.capitalize()} the data "
            f"calls for on {deadline.due.isoformat()}, dated {report.date.isoformat()}, will "
            "not be made (D-171)"
        )


def _handed_out(deadline: Deadline, handed: HandedOut | None) -> Deadline:
    """D-227: a sender's Abmeldung after the patient was handed over stays due (sync makes
    it; the export holds nothing back), and says what it means for the receiver."""
    if handed is None or deadline.report.kind != "abmeldung" or deadline.due < handed.day:
        return deadline
    note = (
        f"; the patient was handed over on {handed.day.isoformat()} (handover document "
        f"{handed.document_id}, R-HO-1): if the treatment here ended, this is the Abmeldung "
        "the receiving side waits for to register (R-EP-2, R-ABS-2); if the patient is "
        "treated there as a substitute for at most 30 days and comes back, record the stay "
        "as an absence (EpisodeOfCare on hold) and it is not made (R-ABS-3)"
    )
    return replace(deadline, why=deadline.why + note)


def _ending(blankets: Sequence[Blanket], day: date) -> Blanket | None:
    """The blanket deregistration named as the end: the last on or before `day`, else the
    first after it (the register's order, R-PAU-1)."""
    before = [b for b in blankets if b.day <= day]
    if before:
        return max(before, key=lambda b: b.day)
    return min(blankets, key=lambda b: b.day, default=None)


def _decided(deadline: Deadline, entry: Reported) -> str:
    """A slot decided already and not going to the register: sync never makes it again."""
    how = "waived (never sent)" if entry.origin == "waived" else "rejected"
    return (
        f"decided already: the ledger holds this {deadline.report.kind.capitalize()} of "
        f"{deadline.report.date.isoformat()} as {how} (report {entry.ledger_id}), and sync "
        "does not make a decided report again"
    )


def _held(deadline: Deadline, handover: HandedOver) -> str:
    report, received = deadline.report, handover.received
    return (
        f"held back by handover {handover.handover_id} received here (R-HO-1, R-EP-5): the "
        f"registration of BtM {received.holder_btm} since {handover.since.isoformat()} is "
        f"open, so the {report.kind.capitalize()} of {report.date.isoformat()} the data "
        f"calls for on {deadline.due.isoformat()} is not made while it is; the substitute "
        f"time ends on {substitute_until(handover.day).isoformat()} (R-ABS-1, R-ABS-3)"
    )


def _waived(deadline: Deadline, handover: HandedOver) -> str:
    back = handover.received.ended_on
    return (
        f"waived: the patient returned on {back.isoformat() if back else '?'} from the stay "
        f"handover {handover.handover_id} began, a substitution of at most 30 days (R-ABS-1, "
        f"R-ABS-3); the {deadline.report.kind.capitalize()} of "
        f"{deadline.report.date.isoformat()} is recorded as waived, never sent"
    )


def _handovers_due(
    forecast: Forecast, then: Due, handovers: Sequence[HandedOver]
) -> list[HandoverDue]:
    """Each open handover whose day 31 comes by the horizon's end, or has come (D-202)."""
    patients = {p.code: p.patient for p in forecast.open_phases if p.code}
    for r in then.reports:
        if r.patient_code and r.patient_code not in patients:
            patients[r.patient_code] = then.owners.get(r.id, "")
    found = []
    for handover in handovers:
        received = handover.received
        due = substitute_until(handover.day) + timedelta(days=1)
        if received.state != "open" or due > forecast.until:
            continue
        patient = patients.get(received.code, "")
        found.append(
            HandoverDue(due, patient, handover.handover_id, received.code, _day_31(handover, due))
        )
    return sorted(found, key=lambda h: (h.due, h.handover_id))


def _day_31(handover: HandedOver, due: date) -> str:
    until = substitute_until(handover.day).isoformat()
    return (
        f"substitute time of handover {handover.handover_id} ends on {until} (R-ABS-1, "
        f"R-ABS-3): from {due.isoformat()} the patient is treated here beyond 30 days while "
        f"the registration of BtM {handover.received.holder_btm} since "
        f"{handover.since.isoformat()} is open. Due then: the sending doctor's Abmeldung "
        f"(R-EP-2), `substreg handover release {handover.handover_id}`, and a sync that "
        "makes the Anmeldung here (R-ABS-2, R-EP-5); `handover return` if the patient went "
        "back"
    )
