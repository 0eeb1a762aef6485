"""Treatment phases of one patient, walked day by day (R-EP, R-ABS, R-CHG).

The walk starts at the first covered day and ends at `as_of`. Each day it asks, in
this order: has the phase's EpisodeOfCare finished and another begun (R-EP-2)? Does a
change of an earlier day now split the phase, because this covered day shows it lay
inside (name R-CHG-1, Diamorphin R-CHG-2, consulting doctor R-CHG-3)? Is the day
covered, a contact, or a justified absence?
Has a substitute run (R-ABS-1/2), an absence (R-ABS-3/4), ten empty days (R-EP-3), a
finished EpisodeOfCare or a leaving doctor (R-CHG-6) ended the phase? A walk over
days is easy to check against the rules' own wording ("on the 31st day", "the 11th
day") and costs a few hundred steps per patient-year.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Any

from adapter.domain.codes import NameRules
from adapter.domain.detox import settle_detox
from adapter.domain.events import OpenSpan, RegisterEvent
from adapter.domain.model import DIAMORPHIN, Cover, Doctor, Finding, PatientHistory
from adapter.domain.names import renamed_on
from adapter.domain.phase_facts import PhaseFacts, absence_covers, consultant_in_force

ONE_DAY = timedelta(days=1)
EMPTY_DAYS_LIMIT = 10  # R-EP-3
SUBSTITUTE_LIMIT = 30  # R-ABS-1/2, R-ABS-3/4: the 31st day re-registers
CONSULTANT_CHANGE = "Konsiliararztwechsel"  # R-CHG-3: the remark the register asks for
SWITCH_DAYS = 7  # D-33: a week without the old substance (or the new one) decides a switch


@dataclass(slots=True)
class _Phase:
    """The open phase during the walk (mutable on purpose: it is the walk's state)."""

    doctor: str | None
    code: str | None
    substance: str
    consultant: str | None
    start: date  # date of the current Anmeldung (moved by change pairs and R-ABS-2)
    began: date  # first day of the phase: change pairs continue it (D-12), R-ABS-2 does not
    announced: date  # made_on of the current Anmeldung: no Abmeldung is made before it
    episode: str | None
    last: date  # last covered day (any doctor)
    last_own: date  # last day covered under the phase's doctor
    last_sources: tuple[str, ...]
    gap: int = 0
    run_start: date | None = None
    run_doctor: str | None = None
    run_substance: str = ""
    run_sources: tuple[str, ...] = ()  # the run's first day, for the R-ABS-2 Anmeldung
    # Days after the last covered day on which a name or consulting doctor starts: a
    # change only if a covered day follows inside the phase (R-CHG-1/3, D-32).
    held: tuple[date, ...] = ()
    # R-CHG-2 while the old substance still covers: the first day with the new one, until
    # a later event confirms the switch or an event of the old substance cancels it (D-33).
    switch_day: date | None = None
    switch_substance: str = ""
    switch_sources: tuple[str, ...] = ()
    switch_next: date | None = None  # the first covered day after `switch_day`
    dia_last: date | None = None  # in a Diamorphin registration: the last day one was given


@dataclass(frozen=True, slots=True)
class PhaseSnapshot:
    """The open phase as the walk left it: `_Phase`, frozen, to resume from."""

    doctor: str | None
    code: str | None
    substance: str
    consultant: str | None
    start: date
    began: date
    announced: date
    episode: str | None
    last: date
    last_own: date
    last_sources: tuple[str, ...]
    gap: int
    run_start: date | None
    run_doctor: str | None
    run_substance: str
    run_sources: tuple[str, ...]
    held: tuple[date, ...]
    switch_day: date | None
    switch_substance: str
    switch_sources: tuple[str, ...]
    switch_next: date | None
    dia_last: date | None


_PHASE_FIELDS = tuple(f.name for f in fields(PhaseSnapshot))


@dataclass(frozen=True, slots=True)
class WalkState:
    """Where a walk stopped: resuming from here with the same facts gives the same events
    as walking again from the first day (tests/domain/test_phases_resume.py)."""

    next_day: date
    phase: PhaseSnapshot | None
    left: tuple[str, ...]  # doctors whose phase R-CHG-6 closed (D-16)
    refused: bool  # the code refusal was reported already
    spent: tuple[str, ...] = ()  # events of a phase handed over (D-34), still covering


@dataclass(frozen=True, slots=True)
class PhaseOutcome:
    events: list[RegisterEvent] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    spans: list[OpenSpan] = field(default_factory=list)  # the open phase's span last
    state: WalkState | None = None

    @property
    def closed_spans(self) -> list[OpenSpan]:
        """The spans of phases that have ended (the open one's end moves with `as_of`)."""
        open_phase = self.state is not None and self.state.phase is not None
        return self.spans[:-1] if open_phase else list(self.spans)


def derive_phases(
    history: PatientHistory,
    doctors: Mapping[str, Doctor],
    rules: NameRules,
    *,
    as_of: date,
    resume: WalkState | None = None,
) -> PhaseOutcome:
    """Every Anmeldung and Abmeldung one patient's history calls for up to `as_of`.

    With `resume`, the walk goes on from where an earlier walk stopped, and gives only
    the events of the days after it. The history must then hold every cover that
    reaches `resume.next_day` or later; detox episodes need the whole history, since
    their outcome depends on `as_of` (R-NOT-1, R-NOT-5): the caller walks those again.
    """
    if resume is None:
        covers, findings = settle_detox(history.covers, history.episodes, as_of=as_of)
    else:
        covers, findings = history.covers, []
    walk = _Walk(history, doctors, rules, as_of, covers)
    walk.run(resume)
    return PhaseOutcome(walk.events, findings + walk.findings, walk.spans, walk.state())


class _Walk:
    def __init__(
        self,
        history: PatientHistory,
        doctors: Mapping[str, Doctor],
        rules: NameRules,
        as_of: date,
        covers: tuple[Cover, ...],
    ) -> None:
        self.history = history
        self.patient = history.patient
        self.as_of = as_of
        self.by_day = _covers_by_day(covers, as_of)
        self.facts = PhaseFacts(history, doctors, rules)
        self.findings = self.facts.findings  # one list: findings in the order met
        self.events: list[RegisterEvent] = []
        self.spans: list[OpenSpan] = []
        self.phase: _Phase | None = None
        self._left: set[str | None] = set()  # doctors whose phase R-CHG-6 closed
        self._spent: set[str] = set()  # events of a phase handed over (D-34)
        # Days on which a name starts: only they can be a name change (R-CHG-1).
        self._name_starts = {n.start for n in history.patient.names if n.start is not None}
        # … and on which a consulting doctor starts: only they can change one (R-CHG-3).
        self._consultant_starts = {c.start for c in history.consultants if c.start is not None}
        self._change_starts = self._name_starts | self._consultant_starts

    def run(self, resume: WalkState | None = None) -> None:
        if resume is not None:
            day = resume.next_day
            self.phase = _Phase(**_fields_of(resume.phase)) if resume.phase else None
            self._left = set(resume.left)
            self._spent = set(resume.spent)
            self.facts.refused = resume.refused
        elif self.by_day:
            day = min(self.by_day)
        else:
            return
        covered = sorted(self.by_day)
        while day <= self.as_of:
            if self.phase is None:
                # Without an open phase only a covered day matters: go straight to it.
                following = bisect_left(covered, day)
                if following == len(covered):
                    break
                day = covered[following]
                self._open(day, self.by_day[day])
            else:
                self._step(self.phase, day, self.by_day.get(day, []))
            day += ONE_DAY
        if self.phase is not None:
            self.spans.append(self._span(self.phase, self.as_of))

    def state(self) -> WalkState:
        phase = PhaseSnapshot(**_fields_of(self.phase)) if self.phase is not None else None
        left = tuple(sorted(d for d in self._left if d is not None))
        spent = tuple(sorted(self._spent))
        return WalkState(self.as_of + ONE_DAY, phase, left, self.facts.refused, spent)

    # -- opening and closing -------------------------------------------------

    def _open(self, day: date, covers: list[Cover]) -> None:
        covers = [c for c in covers if not self._gone(c)]
        if not covers:
            return  # R-CHG-6: a doctor who left registers nobody again; the successor does
        doctor = self.facts.registered_doctor(day, covers)
        own = [c for c in covers if c.doctor in (None, doctor)] or covers
        made_on = max([day] + [c.reportable_from for c in own if c.reportable_from])
        phase = _Phase(
            doctor=doctor,
            code=self.facts.code(day),
            substance=_first_substance(own),
            consultant=self.facts.consultant(doctor, day, own),
            start=day,
            began=day,
            announced=made_on,
            episode=self.facts.episode_of(day, own),
            last=day,
            last_own=day,
            last_sources=tuple(c.source for c in own),
        )
        if phase.substance == DIAMORPHIN:
            phase.dia_last = day
        self.phase = phase
        self._emit_anmeldung(phase, made_on, (), "R-EP-1", tuple(c.source for c in own))

    def _close(self, phase: _Phase, made_on: date, dated: date, rule: str) -> None:
        self._deregister(phase, made_on, dated, rule, phase.last_sources)
        self.phase = None

    def _deregister(
        self, phase: _Phase, made_on: date, dated: date, rule: str, sources: tuple[str, ...]
    ) -> None:
        """The Abmeldung of the current Anmeldung, and the span it closes.

        After a change pair (D, D + 1) the last covered day can lie before the new
        Anmeldung's date; the last-use date is then that date (R-DATE-1/2, D-14). And
        nothing is made before the Anmeldung it ends (R-EP-4): a detox turned
        substitution is only known on the day the substitution starts (R-NOT-5, D-13).
        """
        dated = max(dated, phase.start)
        made_on = max(made_on, phase.announced, dated)
        self._emit("abmeldung", phase, made_on, dated, (), rule, sources)
        self.spans.append(self._span(phase, dated))

    def _span(self, phase: _Phase, end: date) -> OpenSpan:
        return OpenSpan(phase.doctor, self.patient.key, phase.start, end, phase.consultant)

    def _split(
        self,
        phase: _Phase,
        day: date,
        announced: date,
        rule: str,
        remarks: tuple[str, ...] = (),
        *,
        code: str | None = None,
        known_on: date,
    ) -> None:
        """Abmeldung dated `day`, Anmeldung dated `announced` (R-CHG-1 … 3: the next day),
        both made on `known_on`, when the change was known to lie inside the phase.

        The Anmeldung carries what is in force on its own date: a consulting doctor who
        starts on D + 1 is on it, with the remark of R-CHG-3 (D-15).
        """
        day = max(day, phase.start)
        announced = max(announced, day + ONE_DAY)
        made_on = max(announced, known_on)
        self._deregister(phase, made_on, day, rule, phase.last_sources)
        phase.start = announced
        phase.announced = max(made_on, phase.announced)
        if code is not None:
            phase.code = code
        before = phase.consultant
        phase.consultant = self.facts.consultant(phase.doctor, announced, [])
        if phase.consultant not in (None, before) and CONSULTANT_CHANGE not in remarks:
            remarks = (*remarks, CONSULTANT_CHANGE)
        self._emit_anmeldung(phase, phase.announced, remarks, rule, phase.last_sources)

    # -- one day of an open phase --------------------------------------------

    def _step(self, phase: _Phase, day: date, covers: list[Cover]) -> None:
        if self._doctor_left(phase, day):
            if covers:
                self._open(day, covers)  # the successor's own Anmeldung (R-CHG-6)
            return
        if covers and self._handed_over(phase, day, covers):
            return
        before = phase.last
        self._account(phase, day, covers)
        if covers:
            # A re-registration first: changes of its days belong to the new registration.
            self._check_substitute_run(phase, day)
            self._settle_changes(phase, day, covers, before)
        if day in self._change_starts:
            phase.held = (*phase.held, day)
        if covers:
            return
        if self._absence_ends_phase(phase, day):
            return
        if phase.gap >= EMPTY_DAYS_LIMIT:
            # R-EP-3: made on the 11th day, dated with the last covered day.
            self._close(phase, day + ONE_DAY, phase.last, "R-EP-3")
            return
        if self._episode_finished(phase, day):
            self._close(phase, day, phase.last, "R-EP-2")

    def _account(self, phase: _Phase, day: date, covers: list[Cover]) -> None:
        if covers:
            phase.gap = 0
            phase.last = day
            own = [c for c in covers if c.doctor in (None, phase.doctor) and not self._gone(c)]
            if own:
                phase.last_own = day
                phase.last_sources = tuple(c.source for c in own)
                phase.run_start = None
            elif phase.run_start is None and (others := [c for c in covers if not self._gone(c)]):
                # A leaver's take-home is covered, but starts no run (R-CHG-6, D-16).
                phase.run_start, phase.run_doctor = day, others[0].doctor
                phase.run_substance = others[0].substance
                phase.run_sources = tuple(c.source for c in covers)
        elif day in self.history.contacts:
            phase.gap = 0
        elif not self.facts.absent(day):
            phase.gap += 1

    # -- a finished EpisodeOfCare (R-EP-2, D-34) -------------------------------------

    def _handed_over(self, phase: _Phase, day: date, covers: list[Cover]) -> bool:
        """Events of the next treatment after a finished EpisodeOfCare begin a new phase.

        The phase ended at its last covered day (INPUT.md 'Treatment phases'). Events of
        another EpisodeOfCare, or without one after the finished episode's end, belong to
        the next treatment: its care manager (or prescriber) registers from its first
        covered day, not as a substitute (R-EP-1, R-EP-2, 004 §5.5, §13.1 example B). The
        same doctor going on without a day's break is one treatment (004 §8.3 re-registers
        only after a break or a change of doctor). Events of the finished episode still
        covering (a take-home) end its phase with their last day.
        """
        episode = self.facts.finished(phase.episode)
        if episode is None:
            return False
        end = episode.end or phase.last  # finished without period.end: its last covered day
        nxt = [c for c in covers if _next_treatment(c, episode.key, end) and not self._gone(c)]
        if not nxt:
            return False
        old = [c for c in covers if c not in nxt]
        if self.facts.registered_doctor(day, nxt) == phase.doctor:
            # One treatment goes on: an open phase means no day's break (a finished
            # substitution episode closes its phase on the first day without a drug), or a
            # detox that turned into this substitution (R-NOT-5).
            phase.episode = self.facts.episode_of(day, nxt)
            return False
        # Its own events still covering end it with their last day, though it lies after
        # the day (R-DATE-2): the Abmeldung then waits until that day has passed (R-DATE-3).
        dated = max([phase.last, *(c.end for c in old)])
        self._spent.update(c.source for c in old)
        self._close(phase, max(day, dated + ONE_DAY), dated, "R-EP-2")
        self._open(day, nxt)
        return True

    # -- changes inside a phase (R-CHG-1 … 3) ------------------------------------

    def _settle_changes(self, phase: _Phase, day: date, covers: list[Cover], before: date) -> None:
        """Changes of earlier days become Ab-/Anmeldung pairs now that this covered day
        shows they lay inside the phase (D-32). `before` is the previous covered day.

        A phase ends at its last covered day (INPUT.md): a new name or consulting doctor
        after it is no change; before, the registration runs across days without a drug
        (a gap under ten days, an absence) and the pair keeps the rule's dates: Abmeldung
        on the day of the change, Anmeldung the next day. Changes before one covered day
        make one pair, from the first change to the day after the last: two pairs would
        register the days between without any day with a drug. Changes wait while a
        substitute runs (R-ABS-1/2) and while a switch of substance is not yet confirmed.
        """
        if phase.run_start is not None:
            return  # whose registration the changes fall in is known when the run ends
        own = [c for c in covers if c.doctor in (None, phase.doctor) and not self._gone(c)]
        switched = self._track_switch(phase, day, own, before)
        if phase.switch_day is not None:
            return
        held, phase.held = phase.held, ()
        if switched is None and not held:
            return
        if switched is not None and held and switched[0] < min(held) and switched[1] <= min(held):
            self._pair(phase, (), switched, known_on=day)
            switched = None
        self._pair(phase, held, switched, known_on=day)

    def _pair(
        self,
        phase: _Phase,
        held: tuple[date, ...],
        switched: tuple[date, date] | None,
        *,
        known_on: date,
    ) -> None:
        """One pair for the changes of `held` days and a confirmed switch, if any of them
        changes what was reported. The Anmeldung carries what is in force on its day."""
        days = [*held, *(switched[:1] if switched else ())]
        if not days:
            return
        first = min(days)
        announced = max([d + ONE_DAY for d in held] + ([switched[1]] if switched else []))
        rule: str | None = None
        code: str | None = None
        remarks: tuple[str, ...] = ()
        if any(d in self._name_starts and renamed_on(self.patient, d) for d in held):
            new_code = self.facts.code(announced)
            if new_code is not None and phase.code is not None and new_code != phase.code:
                rule, code = "R-CHG-1", new_code
        if switched is not None:
            rule = rule or "R-CHG-2"
            phase.substance = phase.switch_substance
            phase.last_sources = phase.switch_sources
        if any(self._consultant_starts_on(phase, d) for d in held) and not self.facts.qualified(
            phase.doctor, announced
        ):
            spell = consultant_in_force(self.history.consultants, announced)
            if spell is not None and spell.doctor != phase.consultant:
                rule, remarks = rule or "R-CHG-3", (CONSULTANT_CHANGE,)
        if rule is not None:
            self._split(phase, first, announced, rule, remarks, code=code, known_on=known_on)

    def _consultant_starts_on(self, phase: _Phase, day: date) -> bool:
        """R-CHG-3: a consulting doctor's period starts on `day` for an unqualified doctor."""
        if day not in self._consultant_starts or self.facts.qualified(phase.doctor, day):
            return False  # a qualified doctor's consulting doctor is not reported
        spell = consultant_in_force(self.history.consultants, day)
        return spell is not None and spell.start == day

    def _track_switch(
        self, phase: _Phase, day: date, own: list[Cover], before: date
    ) -> tuple[date, date] | None:
        """R-CHG-2: a switch to or from Diamorphin, as (D, first covered day after D) once
        it is confirmed (D-33).

        D is the first covered day with the new substance (INPUT.md), even while a depot,
        a take-home or the morning's dose of the old one still covers. To Diamorphin: a
        second day with Diamorphin confirms it; a week without one cancels it (a single
        dose, said in a finding). From Diamorphin: a week without any Diamorphin confirms
        it, another Diamorphin dose cancels it; so an oral drug for nights and weekends
        beside a diamorphine treatment is no switch (R-SUB-3).
        """
        if phase.switch_day is not None and phase.switch_next is None and day > phase.switch_day:
            phase.switch_next = day
        if not own:
            return None
        starting = [c for c in own if c.start == day]
        if phase.substance == DIAMORPHIN:
            return self._from_diamorphin(phase, day, own, starting)
        return self._to_diamorphin(phase, day, own, starting)

    def _from_diamorphin(
        self, phase: _Phase, day: date, own: list[Cover], starting: list[Cover]
    ) -> tuple[date, date] | None:
        if any(c.substance == DIAMORPHIN for c in starting):
            phase.dia_last, phase.switch_day, phase.switch_next = day, None, None
        others = [c for c in starting if c.substance != DIAMORPHIN] or [
            c for c in own if c.substance != DIAMORPHIN
        ]
        if (
            phase.switch_day is None
            and others
            and (len(others) == len(own) or any(c.start == day for c in others))
        ):
            self._hold_switch(phase, day, others)
        last = phase.dia_last or phase.start
        if phase.switch_day is not None and (day - last).days >= SWITCH_DAYS:
            return self._confirm_switch(phase)
        return None

    def _to_diamorphin(
        self, phase: _Phase, day: date, own: list[Cover], starting: list[Cover]
    ) -> tuple[date, date] | None:
        given = [c for c in starting if c.substance == DIAMORPHIN] or (
            own if all(c.substance == DIAMORPHIN for c in own) else []
        )
        switch_day = phase.switch_day
        if switch_day is not None:
            if day > switch_day and given:
                phase.dia_last = day
                return self._confirm_switch(phase)
            if (day - switch_day).days >= SWITCH_DAYS:
                self.findings.append(_single_diamorphin(self.patient.key, switch_day, phase))
                phase.switch_day = None
        if phase.switch_day is None and given:
            self._hold_switch(phase, day, given)
        return None

    def _hold_switch(self, phase: _Phase, day: date, covers: list[Cover]) -> None:
        phase.switch_day, phase.switch_next = day, None
        phase.switch_substance = covers[0].substance
        phase.switch_sources = tuple(c.source for c in covers)

    def _confirm_switch(self, phase: _Phase) -> tuple[date, date] | None:
        switch_day, following = phase.switch_day, phase.switch_next
        phase.switch_day = phase.switch_next = None
        if switch_day is None or following is None:
            return None
        return switch_day, following

    def _check_substitute_run(self, phase: _Phase, day: date) -> None:
        if phase.run_start is None or (day - phase.run_start).days + 1 <= SUBSTITUTE_LIMIT:
            return
        # R-ABS-2: on the 31st day the registered doctor deregisters (dated with the
        # last day covered under them) and the substitute registers retroactively.
        run_start = phase.run_start
        self._deregister(phase, day, phase.last_own, "R-ABS-2", phase.last_sources)
        phase.doctor, phase.start, phase.began = phase.run_doctor, run_start, run_start
        phase.announced = max(day, phase.announced)
        phase.substance = phase.run_substance
        phase.consultant = self.facts.consultant(phase.doctor, run_start, [])
        phase.code = self.facts.code(run_start)
        phase.last_own, phase.run_start = day, None
        phase.switch_day = phase.switch_next = None  # the new doctor's events decide
        phase.dia_last = day if phase.substance == DIAMORPHIN else None
        self._emit_anmeldung(phase, phase.announced, (), "R-ABS-2", phase.run_sources)

    def _absence_ends_phase(self, phase: _Phase, day: date) -> bool:
        for absence in self.facts.absences:
            # From the phase's first day: a change pair while away does not restart it.
            if absence.start < phase.began or not absence_covers(absence, day):
                continue
            if (day - absence.start).days + 1 == SUBSTITUTE_LIMIT + 1:
                # R-ABS-3/4: on the 31st day of the absence, dated with the last
                # covered day before it.
                self._close(
                    phase, day, phase.last, "R-ABS-4" if absence.reason == "abroad" else "R-ABS-3"
                )
                return True
        return False

    def _episode_finished(self, phase: _Phase, day: date) -> bool:
        """R-EP-2: the phase's finished EpisodeOfCare has ended (INPUT.md item 10: made on
        the day after the later of its last covered day and its period.end). Without a
        period.end the ten days of R-EP-3 end it (PhaseFacts.finished says so)."""
        episode = self.facts.finished(phase.episode)
        if episode is None or episode.kind == "detox":
            return False  # a detox that turned into substitution goes on (R-NOT-5)
        return episode.end is not None and episode.end < day

    def _doctor_left(self, phase: _Phase, day: date) -> bool:
        """R-CHG-6: a doctor who left on H deregisters on H + 1, dated with their last day."""
        left = self.facts.has_left
        if not left(phase.doctor, day) or left(phase.doctor, phase.began):
            return False  # a phase opened after the doctor left is not closed again daily
        self._close(phase, day, phase.last_own, "R-CHG-6")
        self._left.add(phase.doctor)
        return True

    def _gone(self, cover: Cover) -> bool:
        """A cover by a doctor whose phase R-CHG-6 closed: it registers nobody (D-16)."""
        return cover.doctor in self._left or cover.source in self._spent

    # -- output ----------------------------------------------------------------

    def _emit_anmeldung(
        self,
        phase: _Phase,
        made_on: date,
        remarks: tuple[str, ...],
        rule: str,
        sources: tuple[str, ...],
    ) -> None:
        if (
            phase.substance == DIAMORPHIN
            and phase.doctor
            and not self.facts.qualified(phase.doctor, phase.start)
        ):
            self.findings.append(
                Finding(
                    "warning",
                    "R-DOC-2",
                    f"{phase.doctor} has no addiction qualification and may not treat "
                    f"{self.patient.key} with Diamorphin.",
                    (phase.doctor, self.patient.key),
                )
            )
        self._emit("anmeldung", phase, made_on, phase.start, remarks, rule, sources)

    def _emit(  # noqa: PLR0917 - one private call shape, used a dozen times
        self,
        kind: str,
        phase: _Phase,
        made_on: date,
        dated: date,
        remarks: tuple[str, ...],
        rule: str,
        sources: tuple[str, ...],
    ) -> None:
        anmeldung = kind == "anmeldung"
        self.events.append(
            RegisterEvent(
                kind="anmeldung" if anmeldung else "abmeldung",
                made_on=made_on,
                date=dated,
                patient=self.patient.key,
                code=phase.code,
                doctor=phase.doctor,
                consultant=phase.consultant if anmeldung else None,
                substance=phase.substance if anmeldung else None,
                remarks=remarks,
                rule=rule,
                sources=sources,
            )
        )


def _next_treatment(cover: Cover, finished: str, end: date) -> bool:
    """An event of the treatment after the finished EpisodeOfCare `finished` (D-34): of
    another episode, or of none and begun after the finished one's end."""
    if cover.episode is not None:
        return cover.episode != finished
    return cover.start > end


def _single_diamorphin(patient: str, day: date, phase: _Phase) -> Finding:
    return Finding(
        "info",
        "R-CHG-2",
        f"Diamorphin given to {patient} on {day.isoformat()} in a registration with "
        f"{phase.substance}, and not again within {SWITCH_DAYS} days: no change of substance is "
        "reported (D-33). If the treatment went on with Diamorphin, send those administrations.",
        (patient, *phase.switch_sources),
    )


def _first_substance(covers: list[Cover]) -> str:
    """The substance of a registration's first day: Diamorphin when it is given that day,
    even beside an oral drug (R-DIA: a diamorphine treatment is registered as such)."""
    if any(c.substance == DIAMORPHIN for c in covers):
        return DIAMORPHIN
    return covers[0].substance


def _fields_of(phase: _Phase | PhaseSnapshot) -> dict[str, Any]:
    """The walk's state by field name (the two classes have the same fields, checked by
    tests/domain/test_phases_resume.py; by name, their order cannot mix values up)."""
    return {name: getattr(phase, name) for name in _PHASE_FIELDS}


def _covers_by_day(covers: tuple[Cover, ...], as_of: date) -> dict[date, list[Cover]]:
    """Each covered day up to `as_of` with the events covering it (R-DATE-3)."""
    by_day: dict[date, list[Cover]] = {}
    for cover in sorted(covers, key=lambda c: (c.start, c.source)):
        day, end = cover.start, min(cover.end, as_of)
        while day <= end:
            by_day.setdefault(day, []).append(cover)
            day += ONE_DAY
    return by_day
