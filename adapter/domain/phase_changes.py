"""Changes inside a phase: a new name (R-CHG-1), a switch to or from Diamorphin (R-CHG-2),
a new consulting doctor (R-CHG-3), each an Abmeldung and an Anmeldung (D-32).

A phase ends at its last covered day (INPUT.md): a new name or consulting doctor after it
is no change. So a change is held until a covered day shows it lay inside the phase; then
the pair keeps the rule's dates, Abmeldung on the day of the change and Anmeldung on the
next day (inside a phase the registration runs across days without a drug: a gap under ten
days, an absence). Changes before one covered day make one pair, from the first change to
the day after the last: two pairs would register the days between without any day with a
drug. Changes wait while a substitute runs (R-ABS-1/2: whose registration they fall in is
known when the run ends) and while a switch of substance is undecided (switches.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from adapter.domain.model import DIAMORPHIN, Cover, Finding, PatientHistory
from adapter.domain.names import renamed_on
from adapter.domain.phase_facts import PhaseFacts, consultant_in_force
from adapter.domain.switches import Switched, track_switch
from adapter.domain.walk_state import OpenPhase

ONE_DAY = timedelta(days=1)
CONSULTANT_CHANGE = "Konsiliararztwechsel"  # R-CHG-3: the remark the register asks for

# The walk's Ab-/Anmeldung pair: (phase, Abmeldung day, Anmeldung day, rule, remarks,
# new code, made on).
Split = Callable[[OpenPhase, date, date, str, tuple[str, ...], str | None, date], None]


class PhaseChanges:
    """The change rules of one patient's walk; `split` makes the pair in the walk."""

    def __init__(
        self,
        facts: PhaseFacts,
        history: PatientHistory,
        name_starts: set[date],
        consultant_starts: set[date],
        split: Split,
    ) -> None:
        self.facts = facts
        self.history = history
        self.name_starts = name_starts
        self.consultant_starts = consultant_starts
        self.split = split

    @property
    def findings(self) -> list[Finding]:
        return self.facts.findings

    def settle(self, phase: OpenPhase, day: date, own: list[Cover]) -> None:
        """On a covered day: the pairs for the changes held so far, and a switch confirmed
        today. `own` are the day's events under the phase's doctor."""
        if phase.run_start is not None:
            return  # whose registration the changes fall in is known when the run ends
        switched, finding = track_switch(phase, day, own, self.history.patient.key)
        if finding is not None:
            self.findings.append(finding)
        if phase.switch_day is not None:
            return
        held, phase.held = phase.held, ()
        if switched is None and not held:
            return
        if switched is not None and held and switched.following <= min(held):
            self._pair(phase, (), switched, known_on=day)
            switched = None
        self._pair(phase, held, switched, known_on=day)

    def _pair(
        self,
        phase: OpenPhase,
        held: tuple[date, ...],
        switched: Switched | None,
        *,
        known_on: date,
    ) -> None:
        """One pair for the changes of `held` days and a confirmed switch, if any of them
        changes what was reported. The Anmeldung carries what is in force on its day."""
        days = [*held, *([switched.day] if switched else [])]
        if not days:
            return
        announced = max([d + ONE_DAY for d in held] + ([switched.following] if switched else []))
        rule, code = self._name_change(phase, held, announced)
        if switched is not None:
            rule = rule or "R-CHG-2"
            phase.substance = phase.switch_substance
            phase.dia_since = switched.day if phase.substance == DIAMORPHIN else None
            phase.last_sources = phase.switch_sources
        remarks: tuple[str, ...] = ()
        if self._consultant_change(phase, held, announced):
            rule, remarks = rule or "R-CHG-3", (CONSULTANT_CHANGE,)
        if rule is not None:
            self.split(phase, min(days), announced, rule, remarks, code, known_on)

    def _name_change(
        self, phase: OpenPhase, held: tuple[date, ...], announced: date
    ) -> tuple[str | None, str | None]:
        """R-CHG-1: a new name in force that changes the code (R-CODE-8 otherwise)."""
        if not any(d in self.name_starts and renamed_on(self.history.patient, d) for d in held):
            return None, None
        new_code = self.facts.code(announced)
        if new_code is not None and phase.code is not None and new_code != phase.code:
            return "R-CHG-1", new_code
        return None, None

    def _consultant_change(self, phase: OpenPhase, held: tuple[date, ...], announced: date) -> bool:
        """R-CHG-3: a new consulting doctor of an unqualified doctor (R-DOC-2; a qualified
        doctor's consulting doctor is not reported, R-CHG-5)."""
        if not any(self._consultant_starts_on(phase, d) for d in held):
            return False
        if self.facts.qualified(phase.doctor, announced):
            return False
        spell = consultant_in_force(self.history.consultants, announced)
        return spell is not None and spell.doctor != phase.consultant

    def _consultant_starts_on(self, phase: OpenPhase, day: date) -> bool:
        if day not in self.consultant_starts or self.facts.qualified(phase.doctor, day):
            return False
        spell = consultant_in_force(self.history.consultants, day)
        return spell is not None and spell.start == day
