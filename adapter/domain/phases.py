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
from datetime import date, timedelta

from adapter.domain.codes import NameRules
from adapter.domain.detox import settle_detox
from adapter.domain.diamorphine import MIN_AGE, standing_findings, too_young_for_diamorphine
from adapter.domain.events import OpenSpan, RegisterEvent
from adapter.domain.model import DIAMORPHIN, Cover, Doctor, Finding, PatientHistory
from adapter.domain.phase_changes import CONSULTANT_CHANGE, PhaseChanges
from adapter.domain.phase_facts import SUBSTITUTE_CONSULTS, PhaseFacts, absence_covers
from adapter.domain.walk_state import (
    OpenPhase,
    PhaseOutcome,
    PhaseSnapshot,
    WalkState,
    fields_of,
)

ONE_DAY = timedelta(days=1)
EMPTY_DAYS_LIMIT = 10  # R-EP-3
SUBSTITUTE_LIMIT = 30  # R-ABS-1/2, R-ABS-3/4: the 31st day re-registers


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
    standing = standing_findings(history, doctors, walk.phase, as_of=as_of)
    return PhaseOutcome(
        walk.events,
        findings + walk.findings + standing,
        walk.spans,
        walk.state(),
        walk.open_run,
        standing,
    )


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
        self.open_run: OpenSpan | None = None  # R-ABS-6: the run going on at `as_of`
        self.phase: OpenPhase | None = None
        self._left: set[str | None] = set()  # doctors whose phase R-CHG-6 closed
        self._spent: set[str] = set()  # events of a phase handed over (D-34)
        # Days on which a name starts: only they can be a name change (R-CHG-1).
        self._name_starts = {n.start for n in history.patient.names if n.start is not None}
        # … and on which a consulting doctor starts: only they can change one (R-CHG-3).
        self._consultant_starts = {c.start for c in history.consultants if c.start is not None}
        self._change_starts = self._name_starts | self._consultant_starts
        self.changes = PhaseChanges(
            self.facts, history, self._name_starts, self._consultant_starts, self._split
        )

    def run(self, resume: WalkState | None = None) -> None:
        if resume is not None:
            day = resume.next_day
            self.phase = OpenPhase(**fields_of(resume.phase)) if resume.phase else None
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
            if self.phase.run_start is not None:
                self.open_run = self._run(self.phase, self.phase.last)
            self.spans.append(self._span(self.phase, self.as_of))

    def state(self) -> WalkState:
        phase = PhaseSnapshot(**fields_of(self.phase)) if self.phase is not None else None
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
        phase = OpenPhase(
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
            phase.dia_last = phase.dia_since = day
        self.phase = phase
        self._emit_anmeldung(phase, made_on, (), "R-EP-1", tuple(c.source for c in own))

    def _close(self, phase: OpenPhase, made_on: date, dated: date, rule: str) -> None:
        self._deregister(phase, made_on, dated, rule, phase.last_sources)
        self._end_run(phase, phase.last)
        self.phase = None

    def _run(self, phase: OpenPhase, end: date) -> OpenSpan:
        assert phase.run_start is not None
        return OpenSpan(
            phase.run_doctor, self.patient.key, phase.run_start, end, substitute_for=phase.doctor
        )

    def _end_run(self, phase: OpenPhase, end: date) -> None:
        """A substitute run ends (R-ABS-6 counts its days): its span is kept."""
        if phase.run_start is not None:
            self.spans.append(self._run(phase, max(end, phase.run_start)))
            phase.run_start = None

    def _deregister(
        self, phase: OpenPhase, made_on: date, dated: date, rule: str, sources: tuple[str, ...]
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

    def _span(self, phase: OpenPhase, end: date) -> OpenSpan:
        return OpenSpan(phase.doctor, self.patient.key, phase.start, end, phase.consultant)

    def _split(  # noqa: PLR0917 - the one shape phase_changes.Split calls
        self,
        phase: OpenPhase,
        day: date,
        announced: date,
        rule: str,
        remarks: tuple[str, ...],
        code: str | None,
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

    def _step(self, phase: OpenPhase, day: date, covers: list[Cover]) -> None:
        if self._leaving_doctor_deregisters(phase, day):
            if covers:
                self._open(day, covers)  # the successor's own Anmeldung (R-CHG-6)
            return
        if covers and self._next_treatment_begins(phase, day, covers):
            return
        self._account(phase, day, covers)
        if covers:
            # A re-registration first: changes of its days belong to the new registration.
            self._substitute_re_registers(phase, day)
            own = [c for c in covers if c.doctor in (None, phase.doctor) and not self._gone(c)]
            self.changes.settle(phase, day, own)
        if day in self._change_starts:
            phase.held = (*phase.held, day)
        if covers:
            return
        if self._absence_ends_phase(phase, day):
            return
        if self._ten_days_without_a_drug_end_phase(phase, day):
            return
        self._finished_episode_ends_phase(phase, day)

    def _ten_days_without_a_drug_end_phase(self, phase: OpenPhase, day: date) -> bool:
        """R-EP-3: ten full days without a covered day, a contact or a justified absence end
        the phase; the Abmeldung is made on the 11th day, dated with the last covered day."""
        if phase.gap < EMPTY_DAYS_LIMIT:
            return False
        self._close(phase, day + ONE_DAY, phase.last, "R-EP-3")
        return True

    def _account(self, phase: OpenPhase, day: date, covers: list[Cover]) -> None:
        if covers:
            phase.gap = 0
            substitute_last, phase.last = phase.last, day
            own = [c for c in covers if c.doctor in (None, phase.doctor) and not self._gone(c)]
            if own:
                phase.last_own = day
                phase.last_sources = tuple(c.source for c in own)
                self._end_run(phase, substitute_last)
            elif phase.run_start is None and (others := [c for c in covers if not self._gone(c)]):
                # A leaver's take-home is covered, but starts no run (R-CHG-6, D-16).
                phase.run_start, phase.run_doctor = day, others[0].doctor
                phase.run_substance = others[0].substance
                phase.run_sources = tuple(c.source for c in covers)
                self._substitute_is_no_consultant(phase)
        elif day in self.history.contacts:
            phase.gap = 0
        elif not self.facts.absent(day):
            phase.gap += 1

    def _substitute_is_no_consultant(self, phase: OpenPhase) -> None:
        """R-DOC-3: the consulting doctor begins to substitute for the phase's doctor."""
        substitute = phase.run_doctor
        if phase.doctor is not None and substitute is not None and substitute == phase.consultant:
            self.facts.consultant_conflict(phase.doctor, substitute, SUBSTITUTE_CONSULTS)

    # -- a finished EpisodeOfCare (R-EP-2, D-34) -------------------------------------

    def _next_treatment_begins(self, phase: OpenPhase, day: date, covers: list[Cover]) -> bool:
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

    def _substitute_re_registers(self, phase: OpenPhase, day: date) -> None:
        if phase.run_start is None or (day - phase.run_start).days + 1 <= SUBSTITUTE_LIMIT:
            return
        # R-ABS-2: on the 31st day the registered doctor deregisters (dated with the
        # last day covered under them) and the substitute registers retroactively.
        run_start = phase.run_start
        self._colleague_treats(phase, day)
        self._deregister(phase, day, phase.last_own, "R-ABS-2", phase.last_sources)
        self._end_run(phase, day - ONE_DAY)  # from today the substitute is the registered doctor
        phase.doctor, phase.start, phase.began = phase.run_doctor, run_start, run_start
        phase.announced = max(day, phase.announced)
        # The Diamorphin treatment goes on under the new doctor (R-DIA-2 counts from its start).
        was_diamorphin = phase.substance == DIAMORPHIN and phase.dia_since is not None
        phase.substance = phase.run_substance
        phase.consultant = self.facts.consultant(phase.doctor, run_start, [])
        phase.code = self.facts.code(run_start)
        phase.last_own, phase.run_start = day, None
        phase.switch_day = phase.switch_next = None  # the new doctor's events decide
        phase.dia_last = day if phase.substance == DIAMORPHIN else None
        if phase.substance != DIAMORPHIN:
            phase.dia_since = None
        elif not was_diamorphin:
            phase.dia_since = run_start
        self._emit_anmeldung(phase, phase.announced, (), "R-ABS-2", phase.run_sources)

    def _colleague_treats(self, phase: OpenPhase, day: date) -> None:
        """R-DOC-4: a colleague of the same facility has prescribed for 30 days. The register
        is told the change of doctor (R-ABS-2); if the colleague is the one who treats, the
        data should say so, or every patient of the facility lands under one doctor."""
        shared = self.facts.colleagues(phase.doctor, phase.run_doctor)
        if shared is None:
            return
        self.findings.append(
            Finding(
                "warning",
                "R-DOC-4",
                f"{phase.run_doctor} of the same facility ({shared}) has prescribed for "
                f"{self.patient.key} for 30 days while the patient is registered under "
                f"{phase.doctor}: re-registered under {phase.run_doctor} on {day.isoformat()} "
                f"(R-ABS-2). If {phase.run_doctor} treats the patient, make them the "
                "EpisodeOfCare's careManager (or the prescriber): patients are reported under "
                "the doctor who treats them, not all under one doctor of the facility.",
                (self.patient.key, *phase.run_sources[:1]),
            )
        )

    def _absence_ends_phase(self, phase: OpenPhase, day: date) -> bool:
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

    def _finished_episode_ends_phase(self, phase: OpenPhase, day: date) -> None:
        """R-EP-2: the phase's finished EpisodeOfCare has ended (INPUT.md item 10: made on
        the day after the later of its last covered day and its period.end). Without a
        period.end the ten days of R-EP-3 end it (PhaseFacts.finished says so); a detox
        that turned into substitution goes on (R-NOT-5)."""
        episode = self.facts.finished(phase.episode)
        if episode is None or episode.kind == "detox":
            return
        if episode.end is not None and episode.end < day:
            self._close(phase, day, phase.last, "R-EP-2")

    def _leaving_doctor_deregisters(self, phase: OpenPhase, day: date) -> bool:
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
        phase: OpenPhase,
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
        if phase.substance == DIAMORPHIN:
            self._diamorphine_age(phase, made_on, sources)
        self._emit("anmeldung", phase, made_on, phase.start, remarks, rule, sources)

    def _diamorphine_age(self, phase: OpenPhase, made_on: date, sources: tuple[str, ...]) -> None:
        """R-DIA-1: a Diamorphin patient under 23: a warning with the day it matters, the
        report goes (RULES.md §10: the adapter warns, it does not block)."""
        age = too_young_for_diamorphine(self.patient.birth_date, phase.start)
        if age is None:
            return
        self.findings.append(
            Finding(
                "warning",
                "R-DIA-1",
                f"{self.patient.key} is {age} on {phase.start.isoformat()}, the first day of "
                f"the Diamorphin treatment: Diamorphin is for patients of at least {MIN_AGE} "
                "(with five years of dependence and two earlier treatments). Check the "
                f"indication before the Anmeldung made on {made_on.isoformat()} is sent.",
                (self.patient.key, *sources[:1]),
            )
        )

    def _emit(  # noqa: PLR0917 - one private call shape, used a dozen times
        self,
        kind: str,
        phase: OpenPhase,
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


def _first_substance(covers: list[Cover]) -> str:
    """The substance of a registration's first day: Diamorphin when it is given that day,
    even beside an oral drug (R-DIA: a diamorphine treatment is registered as such)."""
    if any(c.substance == DIAMORPHIN for c in covers):
        return DIAMORPHIN
    return covers[0].substance


def _covers_by_day(covers: tuple[Cover, ...], as_of: date) -> dict[date, list[Cover]]:
    """Each covered day up to `as_of` with the events covering it (R-DATE-3)."""
    by_day: dict[date, list[Cover]] = {}
    for cover in sorted(covers, key=lambda c: (c.start, c.source)):
        day, end = cover.start, min(cover.end, as_of)
        while day <= end:
            by_day.setdefault(day, []).append(cover)
            day += ONE_DAY
    return by_day
