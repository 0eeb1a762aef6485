"""Treatment phases of one patient, walked day by day (R-EP, R-ABS, R-CHG).

The walk starts at the first covered day and ends at `as_of`. Each day it asks, in
this order: does a change split the phase (name R-CHG-1, Diamorphin R-CHG-2,
consulting doctor R-CHG-3)? Is the day covered, a contact, or a justified absence?
Has a substitute run (R-ABS-1/2), an absence (R-ABS-3/4), ten empty days (R-EP-3), a
finished EpisodeOfCare or a leaving doctor (R-CHG-6) ended the phase? A walk over
days is easy to check against the rules' own wording ("on the 31st day", "the 11th
day") and costs a few hundred steps per patient-year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from adapter.domain.codes import CodeRefusal, NameRules
from adapter.domain.detox import settle_detox
from adapter.domain.events import OpenSpan, RegisterEvent
from adapter.domain.model import (
    DIAMORPHIN,
    Absence,
    ConsultantSpell,
    Cover,
    Doctor,
    Episode,
    Finding,
    PatientHistory,
)
from adapter.domain.names import code_on, renamed_on

ONE_DAY = timedelta(days=1)
EMPTY_DAYS_LIMIT = 10  # R-EP-3
SUBSTITUTE_LIMIT = 30  # R-ABS-1/2, R-ABS-3/4: the 31st day re-registers


@dataclass(slots=True)
class _Phase:
    """The open phase during the walk (mutable on purpose: it is the walk's state)."""

    doctor: str | None
    code: str | None
    substance: str
    consultant: str | None
    start: date
    episode: str | None
    last: date  # last covered day (any doctor)
    last_own: date  # last day covered under the phase's doctor
    last_sources: tuple[str, ...]
    gap: int = 0
    run_start: date | None = None
    run_doctor: str | None = None
    run_substance: str = ""


@dataclass(frozen=True, slots=True)
class PhaseOutcome:
    events: list[RegisterEvent] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    spans: list[OpenSpan] = field(default_factory=list)


def derive_phases(
    history: PatientHistory,
    doctors: Mapping[str, Doctor],
    rules: NameRules,
    *,
    as_of: date,
) -> PhaseOutcome:
    """Every Anmeldung and Abmeldung one patient's history calls for up to `as_of`."""
    covers, findings = settle_detox(history.covers, history.episodes, as_of=as_of)
    walk = _Walk(history, doctors, rules, as_of, covers)
    walk.run()
    return PhaseOutcome(walk.events, findings + walk.findings, walk.spans)


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
        self.doctors = doctors
        self.rules = rules
        self.as_of = as_of
        self.by_day = _covers_by_day(covers, as_of)
        self.substitutions = [e for e in history.episodes if e.kind == "substitution"]
        self.absences = [a for e in self.substitutions for a in e.absences]
        self.events: list[RegisterEvent] = []
        self.findings: list[Finding] = []
        self.spans: list[OpenSpan] = []
        self.phase: _Phase | None = None
        self._refused = False

    def run(self) -> None:
        if not self.by_day:
            return
        day = min(self.by_day)
        while day <= self.as_of:
            covers = self.by_day.get(day, [])
            if self.phase is None:
                if covers:
                    self._open(day, covers)
            else:
                self._step(self.phase, day, covers)
            day += ONE_DAY
        if self.phase is not None:
            self.spans.append(
                OpenSpan(self.phase.doctor, self.patient.key, self.phase.start, self.as_of)
            )

    # -- opening and closing -------------------------------------------------

    def _open(self, day: date, covers: list[Cover], *, remarks: tuple[str, ...] = ()) -> None:
        doctor = self._registered_doctor(day, covers)
        own = [c for c in covers if c.doctor in (None, doctor)] or covers
        made_on = max([day] + [c.reportable_from for c in own if c.reportable_from])
        phase = _Phase(
            doctor=doctor,
            code=self._code(day),
            substance=own[0].substance,
            consultant=self._consultant(doctor, day, own),
            start=day,
            episode=self._episode_of(day, own),
            last=day,
            last_own=day,
            last_sources=tuple(c.source for c in own),
        )
        self.phase = phase
        self._emit_anmeldung(phase, made_on, remarks, "R-EP-1", tuple(c.source for c in own))

    def _close(self, phase: _Phase, made_on: date, dated: date, rule: str) -> None:
        self._emit("abmeldung", phase, made_on, dated, (), rule, phase.last_sources)
        self.spans.append(OpenSpan(phase.doctor, self.patient.key, phase.start, dated))
        self.phase = None

    def _split(
        self,
        phase: _Phase,
        day: date,
        rule: str,
        remarks: tuple[str, ...] = (),
        code: str | None = None,
    ) -> None:
        """Abmeldung dated `day`, Anmeldung dated the next day, both made then (R-CHG-1 … 3)."""
        nxt = day + ONE_DAY
        self._emit("abmeldung", phase, nxt, day, (), rule, phase.last_sources)
        self.spans.append(OpenSpan(phase.doctor, self.patient.key, phase.start, day))
        phase.start = nxt
        if code is not None:
            phase.code = code
        self._emit_anmeldung(phase, nxt, remarks, rule, phase.last_sources)

    # -- one day of an open phase --------------------------------------------

    def _step(self, phase: _Phase, day: date, covers: list[Cover]) -> None:
        if self._doctor_left(phase, day):
            if covers:
                self._open(day, covers)  # the successor's own Anmeldung (R-CHG-6)
            return
        self._changed(phase, day, covers)
        self._account(phase, day, covers)
        if covers:
            self._check_substitute_run(phase, day)
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
            own = [c for c in covers if c.doctor in (None, phase.doctor)]
            if own:
                phase.last_own = day
                phase.last_sources = tuple(c.source for c in own)
                phase.run_start = None
            elif phase.run_start is None:
                phase.run_start, phase.run_doctor = day, covers[0].doctor
                phase.run_substance = covers[0].substance
        elif day in self.history.contacts:
            phase.gap = 0
        elif not self._absent(day):
            phase.gap += 1

    def _changed(self, phase: _Phase, day: date, covers: list[Cover]) -> bool:
        if day <= phase.start:
            return False
        if renamed_on(self.patient, day):
            new_code = self._code(day)
            if new_code is not None and phase.code is not None and new_code != phase.code:
                self._split(phase, day, "R-CHG-1", code=new_code)
                return True
        own = [c for c in covers if c.doctor in (None, phase.doctor)]
        if own and all((c.substance == DIAMORPHIN) != (phase.substance == DIAMORPHIN) for c in own):
            # R-CHG-2: only a switch to or from Diamorphin is reported (R-SUB-3).
            phase.substance = own[0].substance
            phase.last_sources = tuple(c.source for c in own)
            self._split(phase, day, "R-CHG-2")
            return True
        return self._consultant_changed(phase, day)

    def _consultant_changed(self, phase: _Phase, day: date) -> bool:
        if self._qualified(phase.doctor, day):
            return False  # a qualified doctor's consulting doctor is not reported
        spell = _consultant_in_force(self.history.consultants, day)
        if spell is None or spell.start != day or spell.doctor == phase.consultant:
            return False
        # The Abmeldung carries no consultant, so the new one can be set first.
        phase.consultant = spell.doctor
        self._split(phase, day, "R-CHG-3", ("Konsiliararztwechsel",))
        return True

    def _check_substitute_run(self, phase: _Phase, day: date) -> None:
        if phase.run_start is None or (day - phase.run_start).days + 1 <= SUBSTITUTE_LIMIT:
            return
        # R-ABS-2: on the 31st day the registered doctor deregisters (dated with the
        # last day covered under them) and the substitute registers retroactively.
        run_start = phase.run_start
        self._emit("abmeldung", phase, day, phase.last_own, (), "R-ABS-2", phase.last_sources)
        self.spans.append(OpenSpan(phase.doctor, self.patient.key, phase.start, phase.last_own))
        phase.doctor, phase.start = phase.run_doctor, run_start
        phase.substance = phase.run_substance
        phase.consultant = self._consultant(phase.doctor, run_start, [])
        phase.code = self._code(run_start)
        phase.last_own, phase.run_start = day, None
        sources = tuple(c.source for c in self.by_day.get(run_start, []))
        self._emit_anmeldung(phase, day, (), "R-ABS-2", sources)

    def _absence_ends_phase(self, phase: _Phase, day: date) -> bool:
        for absence in self.absences:
            if absence.start < phase.start or not _covers(absence, day):
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
        for episode in self.substitutions:
            if episode.key != phase.episode or episode.status != "finished":
                continue
            if episode.end is not None and episode.end < day:
                return True
        return False

    def _doctor_left(self, phase: _Phase, day: date) -> bool:
        """R-CHG-6: a doctor who left on H deregisters on H + 1, dated with their last day."""
        if not self._has_left(phase.doctor, day) or self._has_left(phase.doctor, phase.start):
            return False  # a phase opened after the doctor left is not closed again daily
        self._close(phase, day, phase.last_own, "R-CHG-6")
        return True

    def _has_left(self, doctor_key: str | None, day: date) -> bool:
        doctor = self.doctors.get(doctor_key or "")
        return doctor is not None and doctor.role_end is not None and doctor.role_end < day

    # -- facts -----------------------------------------------------------------

    def _absent(self, day: date) -> bool:
        return any(_covers(a, day) for a in self.absences)

    def _registered_doctor(self, day: date, covers: list[Cover]) -> str | None:
        """EpisodeOfCare.careManager, else the prescriber of the first event (INPUT.md)."""
        episode = self._episode_covering(day, covers)
        manager = episode.care_manager if episode is not None else None
        if manager is not None and not self._has_left(manager, day):
            return manager
        for cover in covers:
            if cover.doctor is not None:
                return cover.doctor
        return None

    def _episode_covering(self, day: date, covers: list[Cover]) -> Episode | None:
        keys = {c.episode for c in covers}
        for episode in self.substitutions:
            if episode.key in keys:
                return episode
        for episode in self.substitutions:
            if (episode.start is None or episode.start <= day) and (
                episode.end is None or day <= episode.end
            ):
                return episode
        return None

    def _episode_of(self, day: date, covers: list[Cover]) -> str | None:
        episode = self._episode_covering(day, covers)
        return episode.key if episode is not None else None

    def _qualified(self, doctor: str | None, day: date) -> bool:
        facts = self.doctors.get(doctor or "")
        return facts is not None and facts.qualified_on(day)

    def _consultant(self, doctor: str | None, day: date, covers: list[Cover]) -> str | None:
        if doctor is None or self._qualified(doctor, day):
            return None
        spell = _consultant_in_force(self.history.consultants, day)
        if spell is None:
            self.findings.append(
                Finding(
                    "error",
                    "R-DOC-2",
                    f"{doctor} has no addiction qualification and {self.patient.key} no "
                    f"consulting doctor on {day.isoformat()}: the report goes without one. Add a "
                    "CareTeam participant with role care-team-role#konsiliararzt, or record "
                    "the qualification suchtmedizin.",
                    (doctor, self.patient.key, *(c.source for c in covers[:1])),
                )
            )
            return None
        return spell.doctor

    def _code(self, day: date) -> str | None:
        outcome = code_on(self.patient, day, self.rules)
        if isinstance(outcome, CodeRefusal):
            if not self._refused:
                self._refused = True
                self.findings.append(
                    Finding(
                        "error",
                        outcome.rule,
                        f"No patient code for {self.patient.key}: {outcome.problem}; "
                        f"{outcome.fix}. Its reports are withheld until then.",
                        (self.patient.key,),
                    )
                )
            return None
        if outcome.transliterated:
            self.findings.append(
                Finding(
                    "info",
                    "R-CODE-5",
                    f"The code of {self.patient.key} transliterates {len(outcome.transliterated)} "
                    "letter(s) outside A–Z, Ä, Ö, Ü, ß: check it against the ID document.",
                    (self.patient.key,),
                )
            )
        return outcome.value

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
            and not self._qualified(phase.doctor, phase.start)
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


def _covers_by_day(covers: tuple[Cover, ...], as_of: date) -> dict[date, list[Cover]]:
    """Each covered day up to `as_of` with the events covering it (R-DATE-3)."""
    by_day: dict[date, list[Cover]] = {}
    for cover in sorted(covers, key=lambda c: (c.start, c.source)):
        day, end = cover.start, min(cover.end, as_of)
        while day <= end:
            by_day.setdefault(day, []).append(cover)
            day += ONE_DAY
    return by_day


def _covers(absence: Absence, day: date) -> bool:
    return absence.start <= day and (absence.end is None or day <= absence.end)


def _consultant_in_force(spells: tuple[ConsultantSpell, ...], day: date) -> ConsultantSpell | None:
    """The consulting doctor whose period covers `day`; the latest start wins."""
    best: ConsultantSpell | None = None
    for spell in spells:
        in_force = (spell.start is None or spell.start <= day) and (
            spell.end is None or day <= spell.end
        )
        if in_force and (best is None or (spell.start or date.min) > (best.start or date.min)):
            best = spell
    return best
