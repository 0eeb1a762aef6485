"""Reconcile the desired register state with what the ledger says was reported.

Pure: `reconcile` takes the reports the data calls for (the derive engine's output,
each tied to a subject: our mapping id, or `PRACTICE` for notices) and the ledger's
entries, and returns what to record. Nothing here reads the clock or the database.

A report is identified by its *slot*: kind, subject, doctor (BtM number) and date.
The code is not part of the slot, because once reported it is fixed (R-CODE-8): an
Abmeldung always takes the code of the Anmeldung the register holds open, however the
EHR spells the name today.

Per pair of subject and doctor:
- every ledger slot is still called for by the data: each new slot is recorded,
  provided the register can take it now (R-EP-4: no Anmeldung while a registration is
  open, no Abmeldung without one); a slot once decided (even rejected) is never made
  again, so running sync twice adds nothing. A report the program took back before it was
  sent (withdrawn by sync or `runs undo`) gave up its slot (`adapter.domain.ledger.freed_slot`,
  D-80): it decided nothing, and the report is made again when the data calls for it;
- a ledger slot is no longer called for (later data contradicts a report already
  made): nothing of the pair is recorded; an `error` finding says what the register
  holds, what the data says, and which correction report would align the two. With
  `accept_corrections` the contradicted entries are marked superseded, the correction
  is recorded (origin `correction`), and new slots the register cannot take are kept
  as `waived`, so that the pair is consistent again (D-20).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from adapter.domain import reconcile_findings as texts
from adapter.domain.duplicates import agreed_off, continued_after_agreement
from adapter.domain.model import Finding, Report
from adapter.domain.register_view import RegisterView, register_order

PRACTICE = "practice"  # the subject of notices (Mitteilungen)
Origin = Literal["derived", "correction", "waived", "agreement"]
_SPLITS_KEEPING_THE_CODE = frozenset({"R-CHG-2", "R-CHG-3"})
_NOT_YET_SENT = frozenset({"pending", "approved"})
# Made on request, not from the data: never stale, never a reason to correct (D-165, D-166).
_NOT_FROM_DATA = frozenset({"mitteilung", "inventur", "pauschalabmeldung"})
_ONE_DAY = timedelta(days=1)
_CONTINUED = "Korrektur: Behandlung nach der gemeldeten Abmeldung fortgesetzt."
_ENDED = "Korrektur: Behandlung beendet; die gemeldete Anmeldung war noch offen."


def slot_key(kind: str, subject: str, doctor: str, day: date) -> str:
    """The ledger's uniqueness key: our own ids and a date only, nothing personal."""
    return f"{kind}|{subject}|{doctor}|{day.isoformat()}"


def report_slot(subject: str, report: Report) -> str:
    """The slot of a report. A notice's slot also holds a digest of what it says, so that a
    second change of the same day, learned later, is a notice of its own (R-CHG-4)."""
    # An inventory report's slot is its key date (R-INV-1: one per patient and key date).
    day = report.made_on if report.kind == "inventur" else report.date
    slot = slot_key(report.kind, subject, report.doctor.btm_number or "", day)
    if report.kind != "mitteilung":
        return slot
    said = hashlib.sha256("\n".join(report.remarks).encode()).hexdigest()[:16]
    return f"{slot}|{said}"


@dataclass(frozen=True, slots=True)
class Reported:
    """A ledger entry as the reconciler needs it."""

    ledger_id: str
    subject: str
    kind: str
    doctor: str
    date: date
    code: str | None
    state: str
    origin: Origin = "derived"
    superseded: bool = False
    report: Report | None = None  # the payload as recorded, when it could be decrypted
    stored_slot: str | None = None  # the slot as the ledger holds it

    @property
    def slot(self) -> str:
        return self.stored_slot or slot_key(self.kind, self.subject, self.doctor, self.date)

    @property
    def at_register(self) -> bool:
        """Sent or going to be: everything but a rejected or waived entry."""
        return self.state != "rejected" and self.origin != "waived"


@dataclass(frozen=True, slots=True)
class Desired:
    """A report the data calls for, with its subject (mapping id) and patient key."""

    subject: str
    patient: str  # `Patient/p1`: findings may name it, the ledger never stores it
    report: Report

    @property
    def slot(self) -> str:
        return report_slot(self.subject, self.report)


@dataclass(frozen=True, slots=True)
class Planned:
    """A report to record in the ledger."""

    subject: str
    report: Report
    origin: Origin = "derived"

    @property
    def slot(self) -> str:
        return report_slot(self.subject, self.report)


@dataclass(frozen=True, slots=True)
class Plan:
    record: list[Planned] = field(default_factory=list)
    supersede: list[str] = field(default_factory=list)  # ledger ids
    findings: list[Finding] = field(default_factory=list)
    contradicted: set[str] = field(default_factory=set)  # subjects left unresolved
    withdraw: list[str] = field(default_factory=list)  # ledger ids not yet sent, now void


def reconcile(
    desired: Iterable[Desired],
    reported: Iterable[Reported],
    *,
    as_of: date,
    accept_corrections: bool = False,
    partial: frozenset[str] = frozenset(),
) -> Plan:
    """What to record so that the ledger makes every report the data calls for, once.

    For the subjects in `partial` only the newest reports are desired (a walk resumed
    where the last sync stopped): their older ledger entries are not contradicted by
    being absent, so only new slots are looked at.
    """
    wanted: dict[tuple[str, str], list[Desired]] = defaultdict(list)
    for item in desired:
        wanted[(item.subject, item.report.doctor.btm_number or "")].append(item)
    known: dict[tuple[str, str], list[Reported]] = defaultdict(list)
    blankets: dict[str, list[date]] = defaultdict(list)  # R-PAU-1, by doctor (D-166)
    for entry in reported:
        known[(entry.subject, entry.doctor)].append(entry)
        if entry.kind == "pauschalabmeldung" and entry.at_register:
            blankets[entry.doctor].append(entry.date)
    plan = Plan()
    for pair in sorted(set(wanted) | set(known)):
        ended = tuple(blankets.get(pair[1], ()))
        settle = _Pair(wanted.get(pair, []), known.get(pair, []), as_of, plan, ended)
        settle.settle(accept_corrections, complete=pair[0] not in partial)
    return plan


class _Pair:
    """One subject with one doctor: their slots, the register's view, and the plan."""

    def __init__(
        self,
        desired: list[Desired],
        reported: list[Reported],
        as_of: date,
        plan: Plan,
        blankets: tuple[date, ...] = (),
    ) -> None:
        self.desired = sorted(desired, key=_desired_order)
        self.reported = sorted(reported, key=lambda r: register_order(r.kind, r.date))
        self.as_of = as_of
        self.plan = plan
        self.known_slots = {r.slot for r in reported}
        self.subject = (desired or reported)[0].subject if (desired or reported) else PRACTICE
        self.patient = desired[0].patient if desired else f"mapping {self.subject}"
        self.blankets = blankets  # the doctor's blanket deregistrations (R-PAU-1)
        self.register = _view(self.reported, blankets)
        self._after_agreement()

    def _after_agreement(self) -> None:
        """D-171: an Abmeldung the doctors agreed on a duplicate notice (004 §10) is not
        undone by the data that gave the registration it ended."""
        agreed = max(
            (
                r.date
                for r in self.reported
                if r.origin == "agreement" and r.kind == "abmeldung" and r.at_register
            ),
            default=None,
        )
        if agreed is None or self.subject == PRACTICE:
            return
        opened = self.register.open_since
        self.desired, late = agreed_off(
            self.desired,
            lambda d: d.report,
            lambda d: d.slot in self.known_slots,
            agreed,
            reopened=opened is not None and opened > agreed,
        )
        self.plan.findings.extend(continued_after_agreement(self.patient, r, agreed) for r in late)

    def settle(self, accept_corrections: bool, *, complete: bool = True) -> None:
        desired_slots = {d.slot for d in self.desired}
        self._code_findings()
        stale = [
            r
            for r in self.reported
            if complete
            and r.origin == "derived"
            and r.at_register
            and not r.superseded
            and r.kind not in _NOT_FROM_DATA
            and r.slot not in desired_slots
        ]
        unsent = [r for r in stale if r.state in _NOT_YET_SENT]
        if unsent:
            self._withdraw(unsent)
            stale = [r for r in stale if r.state not in _NOT_YET_SENT]
        if not stale:
            self._record_new(waive_conflicts=False)
            return
        corrections = self._corrections()
        self.plan.findings.append(
            texts.contradiction(self.patient, stale, corrections, accept_corrections)
        )
        if not accept_corrections:
            self.plan.contradicted.add(self.subject)
        else:
            self.plan.supersede.extend(r.ledger_id for r in stale)
            for correction in corrections:
                self._plan(correction, "correction")
            self._record_new(waive_conflicts=True)

    def _withdraw(self, unsent: list[Reported]) -> None:
        """Reports the data no longer calls for and the register has not had yet are
        withdrawn (rejected) instead of corrected: sending them would be the mistake."""
        ids = {r.ledger_id for r in unsent}
        self.plan.withdraw.extend(sorted(ids))
        kept = [r for r in self.reported if r.ledger_id not in ids]
        self.register = _view(kept, self.blankets)
        self.plan.findings.append(texts.withdrawn(self.patient, unsent))

    def _code_findings(self) -> None:
        """R-CODE-8: the data now spells a registered patient's code differently; and what
        else a registration told the register that the data now says otherwise."""
        held = {r.slot: r for r in self.reported if r.kind == "anmeldung" and r.at_register}
        for item in self.desired:
            entry = held.get(item.slot)
            if entry is None:
                continue
            code = item.report.patient_code
            if entry.code is not None and code is not None and code != entry.code:
                self.plan.findings.append(texts.code_differs(item, entry, self.as_of))
            if entry.report is not None and texts.told(entry.report) != texts.told(item.report):
                self.plan.findings.append(texts.content_differs(item, entry))

    # -- the normal path ---------------------------------------------------------------

    def _record_new(self, *, waive_conflicts: bool) -> None:
        for item in self.desired:
            if item.slot in self.known_slots:
                continue
            report = self._with_register_code(item.report)
            problem = self.register.refuses(report)
            if problem is not None and report.kind == "abmeldung" and self.register.blanketed:
                continue  # R-PAU-1: the blanket deregistration ended it already (D-166)
            if problem is None:
                self._plan(Desired(item.subject, item.patient, report), "derived")
            elif waive_conflicts:
                self._plan(Desired(item.subject, item.patient, report), "waived")
            else:
                self.plan.findings.append(texts.refused(item, problem))

    def _with_register_code(self, report: Report) -> Report:
        """R-CODE-8: an Abmeldung, and the Anmeldung of a split that keeps the code, carry
        the code the register holds open, never one recomputed from today's spelling."""
        held = self.register.open_code()
        if held is None:
            return report
        if report.kind == "abmeldung" or (
            report.kind == "anmeldung" and report.rule in _SPLITS_KEEPING_THE_CODE
        ):
            return replace(report, patient_code=held)
        return report

    def _plan(self, item: Desired, origin: Origin) -> None:
        self.plan.record.append(Planned(item.subject, item.report, origin))
        self.known_slots.add(item.slot)
        if origin != "waived":
            r = item.report
            self.register.apply(r.kind, r.date, r.patient_code, r)

    # -- contradictions ------------------------------------------------------------------

    def _corrections(self) -> list[Desired]:
        """The reports that bring the register's current state to the data's (D-20).

        Reports can only be added, never withdrawn: the register's past stays as it is,
        but a registration the data shows open must be open, and one it shows ended
        must be ended, with the last-use date the data gives.
        """
        ends = [d for d in self.desired if d.report.kind == "abmeldung"]
        starts = [d for d in self.desired if d.report.kind == "anmeldung"]
        latest = max(ends + starts, key=_desired_order, default=None)
        held = self.register.open_since
        if held is not None:
            if latest is not None and latest.report.kind == "anmeldung":
                return []  # both open: the register's dates are history now
            day = max(latest.report.date, held) if latest is not None else held
            return [self._corrected(latest, "abmeldung", day, _ENDED)]
        if latest is None:
            return []
        after = (self.register.closed_on or date.min) + _ONE_DAY
        if latest.report.kind == "anmeldung":
            day = max(latest.report.date, after)
            # Not before the day after the reported end has come (R-DATE-3).
            return (
                [self._corrected(latest, "anmeldung", day, _CONTINUED)] if day <= self.as_of else []
            )
        if latest.report.date < after:
            return []  # both ended, the data no later than the register: history
        opening = max(
            (s for s in starts if s.report.date <= latest.report.date),
            key=_desired_order,
            default=latest,
        )
        day = max(opening.report.date, after)
        return [
            self._corrected(opening, "anmeldung", day, _CONTINUED),
            self._corrected(latest, "abmeldung", latest.report.date, _ENDED),
        ]

    def _corrected(self, item: Desired | None, kind: str, day: date, remark: str) -> Desired:
        """A correction report on the model of a desired one, else of the open Anmeldung."""
        if item is None:
            template = self.register.open_report
            assert template is not None  # only asked for while a registration is open
            item = Desired(self.subject, self.patient, template)
        anmeldung = kind == "anmeldung"
        report = replace(
            item.report,
            kind="anmeldung" if anmeldung else "abmeldung",
            date=day,
            made_on=max(self.as_of, day),
            patient_code=self.register.last_code or item.report.patient_code,
            substance=item.report.substance if anmeldung else None,
            consultant=item.report.consultant if anmeldung else None,
            remarks=(remark,),
            rule="R-EP-5",
        )
        return replace(item, report=report)


def _agreed_end(entry: Reported) -> bool:
    """An Abmeldung the doctors agreed on a duplicate notice, sent or going to be."""
    return entry.origin == "agreement" and entry.kind == "abmeldung" and entry.at_register


def _desired_order(item: Desired) -> tuple[date, date, int]:
    r = item.report
    return (r.made_on, *register_order(r.kind, r.date))


def _view(entries: list[Reported], blankets: tuple[date, ...] = ()) -> RegisterView:
    """The register's state from the entries sent or going to be, and the doctor's blanket
    deregistrations (R-PAU-1), in the register's order."""
    steps: list[tuple[str, date, str | None, Report | None]] = [
        (r.kind, r.date, r.code, r.report) for r in entries if r.at_register
    ]
    steps += [("pauschalabmeldung", day, None, None) for day in blankets]
    return RegisterView(sorted(steps, key=lambda s: register_order(s[0], s[1])))
