"""What the phase walk looks up about one patient on a day (INPUT.md, R-CODE, R-DOC).

The code, the registered doctor, the consulting doctor and the EpisodeOfCare of a day.
A lookup that cannot be answered records a finding and gives None (D-1); the walk
shares the findings list, so findings keep the order in which the walk met them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from adapter.domain.codes import CodeRefusal, NameRules
from adapter.domain.model import (
    Absence,
    ConsultantSpell,
    Cover,
    Doctor,
    Episode,
    Finding,
    PatientHistory,
)
from adapter.domain.names import code_on

SUBSTITUTE_CONSULTS = "substitutes for the registered doctor (prescribes to the patient)"


class PhaseFacts:
    """Lookups over one patient's history and the practice's doctors."""

    def __init__(
        self, history: PatientHistory, doctors: Mapping[str, Doctor], rules: NameRules
    ) -> None:
        self.history = history
        self.patient = history.patient
        self.doctors = doctors
        self.rules = rules
        self.substitutions = [e for e in history.episodes if e.kind == "substitution"]
        self.episodes = {e.key: e for e in history.episodes}
        self.absences = [a for e in self.substitutions for a in e.absences]
        self._warned_open_end: set[str] = set()
        self.findings: list[Finding] = []
        self.refused = False  # the code refusal is reported once per patient
        self._warned_consultants: set[tuple[str, str]] = set()

    def has_left(self, doctor_key: str | None, day: date) -> bool:
        doctor = self.doctors.get(doctor_key or "")
        return doctor is not None and doctor.role_end is not None and doctor.role_end < day

    def absent(self, day: date) -> bool:
        return any(absence_covers(a, day) for a in self.absences)

    def registered_doctor(self, day: date, covers: list[Cover]) -> str | None:
        """EpisodeOfCare.careManager, else the prescriber of the first event (INPUT.md)."""
        episode = self._episode_covering(day, covers)
        manager = episode.care_manager if episode is not None else None
        if manager is not None and not self.has_left(manager, day):
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

    def episode_of(self, day: date, covers: list[Cover]) -> str | None:
        """The EpisodeOfCare a registration belongs to: its events' (a substitution, or a
        detox that turned into one, R-NOT-5), else the substitution episode of the day."""
        for cover in covers:
            if cover.episode in self.episodes:
                return cover.episode
        episode = self._episode_covering(day, covers)
        return episode.key if episode is not None else None

    def finished(self, key: str | None) -> Episode | None:
        """The episode `key` when it is finished (R-EP-2). One finished without period.end
        is said once in a finding: its end is then its last covered day."""
        episode = self.episodes.get(key or "")
        if episode is None or episode.status != "finished":
            return None
        if episode.end is None and episode.key not in self._warned_open_end:
            self._warned_open_end.add(episode.key)
            self.findings.append(
                Finding(
                    "warning",
                    "R-EP-2",
                    f"{episode.key} is finished but has no period.end: its phase ends at its "
                    "last covered day when the next treatment begins, else by the 10-day rule "
                    "(R-EP-3). Send period.end with a finished EpisodeOfCare.",
                    (self.patient.key, episode.key),
                )
            )
        return episode

    def colleagues(self, one: str | None, other: str | None) -> str | None:
        """The facility two doctors share (R-DOC-4), or None."""
        return shared_facility(self.doctors.get(one or ""), self.doctors.get(other or ""))

    def qualified(self, doctor: str | None, day: date) -> bool:
        facts = self.doctors.get(doctor or "")
        return facts is not None and facts.qualified_on(day)

    def consultant(self, doctor: str | None, day: date, covers: list[Cover]) -> str | None:
        if doctor is None or self.qualified(doctor, day):
            return None
        spell = consultant_in_force(self.history.consultants, day)
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
        self._check_consultant(doctor, spell.doctor, covers)
        return spell.doctor

    def _check_consultant(self, doctor: str, consultant: str, covers: list[Cover]) -> None:
        """R-DOC-3: a doctor of the same facility is not a consulting doctor by default, and a
        substitute never is. Said once per consultant and phase doctor (the report still goes
        with the consultant the data names: the practice decides, D-142)."""
        reason = consulting_conflict(
            self.doctors.get(doctor), consultant, self.doctors.get(consultant), covers
        )
        if reason is not None:
            self.consultant_conflict(doctor, consultant, reason)

    def consultant_conflict(self, doctor: str, consultant: str, reason: str) -> None:
        """Say once per consultant and phase doctor why the consultant cannot be one (no
        day in the words: a resumed walk that meets it again says the same, D-142)."""
        if (doctor, consultant) in self._warned_consultants:
            return
        self._warned_consultants.add((doctor, consultant))
        self.findings.append(
            Finding(
                "warning",
                "R-DOC-3",
                f"{consultant}, the consulting doctor of {self.patient.key} under {doctor}, "
                f"{reason}: doctors of one facility are not each other's "
                "consulting doctor by default, and a substitute never is. Name an outside "
                "consulting doctor (CareTeam participant, role care-team-role#konsiliararzt) "
                f"before a report naming {consultant} is sent.",
                (consultant, self.patient.key, doctor),
            )
        )

    def code(self, day: date) -> str | None:
        outcome = code_on(self.patient, day, self.rules)
        if isinstance(outcome, CodeRefusal):
            if not self.refused:
                self.refused = True
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


def absence_covers(absence: Absence, day: date) -> bool:
    return absence.start <= day and (absence.end is None or day <= absence.end)


def shared_facility(one: Doctor | None, other: Doctor | None) -> str | None:
    """The Organization two different doctors both hold a PractitionerRole in, or None."""
    if one is None or other is None or one.key == other.key:
        return None
    shared = set(one.facilities) & set(other.facilities)
    return min(shared) if shared else None


def consulting_conflict(
    doctor: Doctor | None, consultant_key: str, consultant: Doctor | None, covers: list[Cover]
) -> str | None:
    """Why `consultant_key` cannot be the consulting doctor of the patient under `doctor`
    (R-DOC-3), or None: the same doctor, a colleague of the same facility (a shared
    Organization of their PractitionerRoles), or a substitute (prescribing to the patient
    on the day, `covers`; a substitute run that begins later is checked by the walk)."""
    if doctor is None:
        return None
    if consultant_key == doctor.key:
        return "is the substituting doctor themself"
    shared = shared_facility(doctor, consultant)
    if shared is not None:
        return f"works in the same facility ({shared})"
    if any(c.doctor == consultant_key for c in covers):
        return SUBSTITUTE_CONSULTS
    return None


def consultant_in_force(spells: tuple[ConsultantSpell, ...], day: date) -> ConsultantSpell | None:
    """The consulting doctor whose period covers `day`; the latest start wins."""
    best: ConsultantSpell | None = None
    for spell in spells:
        in_force = (spell.start is None or spell.start <= day) and (
            spell.end is None or day <= spell.end
        )
        if in_force and (best is None or (spell.start or date.min) > (best.start or date.min)):
            best = spell
    return best
