"""Reconcile the desired register state with what the ledger says was reported.

Pure: `reconcile` takes the reports the data calls for (the derive engine's output,
each tied to a subject: our mapping id, or `PRACTICE` for notices) and the ledger's
entries, and returns what to record. Nothing here reads the clock or the database.

The slot of a report and the entries it works with are in `reconcile_model`, the
corrections in `reconcile_corrections`, the blanket and agreement filters in
`reconcile_filters`.

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

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from adapter.domain import reconcile_findings as texts
from adapter.domain.model import Report
from adapter.domain.reconcile_corrections import Contradicted, corrections, desired_order
from adapter.domain.reconcile_filters import (
    after_agreement,
    blanket_days,
    ended_by_blanket,
    register_view,
)
from adapter.domain.reconcile_model import (
    PRACTICE,
    Desired,
    Origin,
    Plan,
    Planned,
    Reported,
    report_slot,
    slot_key,
)
from adapter.domain.register_view import register_order

__all__ = [
    "PRACTICE",
    "Desired",
    "Origin",
    "Plan",
    "Planned",
    "Reported",
    "reconcile",
    "report_slot",
    "slot_key",
]

_SPLITS_KEEPING_THE_CODE = frozenset({"R-CHG-2", "R-CHG-3"})
_NOT_YET_SENT = frozenset({"pending", "approved"})
# Made on request, not from the data: never stale, never a reason to correct (D-165, D-166).
_NOT_FROM_DATA = frozenset({"mitteilung", "inventur", "pauschalabmeldung"})


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
    entries = list(reported)
    for entry in entries:
        known[(entry.subject, entry.doctor)].append(entry)
    blankets = blanket_days(entries)  # R-PAU-1, by doctor (D-166)
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
        self.desired = sorted(desired, key=desired_order)
        self.reported = sorted(reported, key=lambda r: register_order(r.kind, r.date))
        self.as_of = as_of
        self.plan = plan
        self.known_slots = {r.slot for r in reported}
        self.subject = (desired or reported)[0].subject if (desired or reported) else PRACTICE
        self.patient = desired[0].patient if desired else f"mapping {self.subject}"
        self.blankets = blankets  # the doctor's blanket deregistrations (R-PAU-1)
        self.register = register_view(self.reported, blankets)
        self._after_agreement()

    def _after_agreement(self) -> None:
        """D-171: what the doctors agreed on a duplicate notice the data does not undo."""
        self.desired, late = after_agreement(
            self.subject,
            self.patient,
            self.desired,
            reported=self.reported,
            register=self.register,
            known_slots=self.known_slots,
        )
        self.plan.findings.extend(late)

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
        self.reported = [r for r in self.reported if r.ledger_id not in ids]
        self.register = register_view(self.reported, self.blankets)
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
            if problem is not None and self._blanketed(report):
                continue  # R-PAU-1: the blanket deregistration ended it already (D-166)
            if problem is None:
                self._plan(Desired(item.subject, item.patient, report), "derived")
            elif waive_conflicts:
                self._plan(Desired(item.subject, item.patient, report), "waived")
            else:
                self.plan.findings.append(texts.refused(item, problem))

    def _blanketed(self, report: Report) -> bool:
        return ended_by_blanket(report, self.reported, self.blankets, self.register)

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
        """The reports that bring the register's current state to the data's (D-20)."""
        pair = Contradicted(self.subject, self.patient, self.desired, self.register, self.as_of)
        return corrections(pair)
