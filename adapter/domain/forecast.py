"""What falls due when, and why: the deadlines of the days ahead (issue 14, item 4).

The forecast does not guess with rules of its own: it walks the same data a second time to
the end of the horizon, as if nothing new happened (no dose, no contact, no absence), and
every report that walk makes but today's does not is a deadline. So a deadline is exactly
what the engine will report on that day unless the practice's data changes before, and the
forecast can never disagree with `derive` (tests/domain/test_forecast.py checks that a
derive on the deadline's day makes the report).

Each deadline says, in one sentence, which rule makes it and what would prevent it: "10-day
rule (R-EP-3): Abmeldung due on 2025-07-12, dated 2025-07-01, the last covered day, unless
there is a contact, a dose or a justified absence by 2025-07-11".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from adapter.domain.model import Finding, PatientHistory, Report
from adapter.domain.pipeline import Due
from adapter.domain.walk_state import PhaseSnapshot

ONE_DAY = timedelta(days=1)
# The longest wait the rules have after the last data (the 31st day of an absence or a
# substitute run, R-ABS-2 … 4): a forecast's day further after the data's newest day shows
# a practice whose phases the data has long ended, not one with nothing due (D-210).
STALE_AFTER = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A report the data will call for on `due` unless something changes before."""

    due: date
    patient: str  # the patient's resource key ("Patient/p1"), '' for a doctor's notice
    report: Report
    why: str  # one sentence: the rule, the day, and what prevents it


@dataclass(frozen=True, slots=True)
class Settled:
    """A report the data will call for on `due` that sync will not make, as the ledger
    stands: a blanket deregistration ended its registration (R-PAU-1), or a handover
    received here holds it back or waives it (R-HO-1); `why` says which (D-226)."""

    due: date
    patient: str
    report: Report
    why: str


@dataclass(frozen=True, slots=True)
class HandoverDue:
    """The first day past the substitute time of a handover received here and still open
    (R-ABS-1/2/3, D-202): from `due` on the patient is treated here beyond 30 days while
    the sending doctor's registration is open (D-226)."""

    due: date
    patient: str  # the patient's key when the handover's code is one of the data's, else ''
    handover_id: str
    code: str
    why: str


@dataclass(frozen=True, slots=True)
class OpenPhase:
    """A phase open on the forecast's day, as far as the practice needs to see it."""

    patient: str
    doctor: str | None
    code: str | None
    substance: str
    since: date  # the date of its current Anmeldung
    last_covered: date  # the last day a drug was available (R-DATE-2)
    # R-DIA-2: the day the next outside review of a Diamorphin treatment is due (D-173)
    review_due: date | None = None
    # R-DOC-1: its doctor has no BtM number (or is not in the data), so derive withholds
    # its reports: "nothing due" would be untrue (D-252)
    withheld: bool = False

    def review_overdue(self, as_of: date) -> bool:
        """The outside review was due before `as_of` (derive gives an R-DIA-2 warning)."""
        return self.review_due is not None and self.review_due < as_of


@dataclass(frozen=True, slots=True)
class Forecast:
    as_of: date
    until: date
    open_phases: list[OpenPhase]
    deadlines: list[Deadline]
    newest_day: date | None = None  # the newest day the data speaks of, by `as_of`
    # Whether the ledger was counted (the stored forecast, D-226): the files alone cannot
    # know a blanket deregistration or a handover received.
    ledger: bool = False
    settled: list[Settled] = field(default_factory=list)
    handovers: list[HandoverDue] = field(default_factory=list)
    # The findings of reports withheld for want of a doctor or a BtM number (R-EP-1,
    # R-DOC-1), as derive gives them: a withheld report is never a quiet "nothing due"
    findings: list[Finding] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        """The data stops long before the forecast's day: the export is old or the day is
        wrong, and "nothing due" would hide reports that are overdue (derive lists them)."""
        return self.newest_day is not None and self.as_of > self.newest_day + STALE_AFTER

    def reviews(self) -> list[OpenPhase]:
        """The open Diamorphin treatments by the due day of their outside review (R-DIA-2)."""
        found = [p for p in self.open_phases if p.review_due is not None]
        return sorted(found, key=lambda p: (p.review_due or self.as_of, p.patient))

    def next_due(self, patient: str) -> Deadline | None:
        """The first deadline of one patient, or None when nothing falls due by `until`."""
        return next((d for d in self.deadlines if d.patient == patient), None)

    def renamed(self, names: Mapping[str, str]) -> Forecast:
        """The same forecast with each patient's key ("Patient/p1") replaced by
        `names[key]`, its pseudonym: in the deadlines, their reports' sources and the open
        phases (D-190). A key without a name is a KeyError, never shown as it is."""

        def name(key: str) -> str:
            return names[key] if key else key

        deadlines = [
            replace(d, patient=name(d.patient), report=_renamed(d.report, names))
            for d in self.deadlines
        ]
        phases = sorted(
            (replace(p, patient=name(p.patient)) for p in self.open_phases),
            key=lambda p: p.patient,
        )
        settled = [
            replace(s, patient=name(s.patient), report=_renamed(s.report, names))
            for s in self.settled
        ]
        handovers = [replace(h, patient=name(h.patient)) for h in self.handovers]
        findings = [
            replace(f, sources=tuple(names.get(s, s) for s in f.sources)) for f in self.findings
        ]
        return replace(
            self,
            open_phases=phases,
            deadlines=deadlines,
            settled=settled,
            handovers=handovers,
            findings=findings,
        )


def _renamed(report: Report, names: Mapping[str, str]) -> Report:
    return replace(report, sources=tuple(names.get(s, s) for s in report.sources))


def newest_day(history: PatientHistory, as_of: date) -> date | None:
    """The newest day one patient's data speaks of by `as_of`: a contact, an episode's or
    an absence's start or end, or the last day a drug that has begun covers (R-DATE-2)."""
    days: list[date | None] = [*history.contacts]
    for episode in history.episodes:
        days += [episode.start, episode.end]
        days += [d for absence in episode.absences for d in (absence.start, absence.end)]
    spoken = [d for d in days if d is not None and d <= as_of]
    reach = [c.end for c in history.covers if c.start <= as_of]
    return max([*spoken, *reach], default=None)


def open_phase(
    patient: str,
    snapshot: PhaseSnapshot,
    *,
    review_due: date | None = None,
    withheld: bool = False,
) -> OpenPhase:
    return OpenPhase(
        patient,
        snapshot.doctor,
        snapshot.code,
        snapshot.substance,
        snapshot.start,
        snapshot.last,
        review_due,
        withheld,
    )


# The findings of reports derive cannot make for want of the doctor: no substituting
# doctor (R-EP-1) or no BtM number (R-DOC-1); the forecast gives them as derive does.
WITHHOLDING_RULES = frozenset({"R-EP-1", "R-DOC-1"})


def withholding_findings(*dues: Due) -> list[Finding]:
    """The findings of the walks that say a report is withheld for want of the doctor,
    each once (the walk to the horizon repeats those of the walk to the day)."""
    found: dict[tuple[str, str], Finding] = {}
    for due in dues:
        for finding in due.findings:
            if finding.rule in WITHHOLDING_RULES:
                found.setdefault((finding.rule, finding.message), finding)
    return list(found.values())


def deadlines_ahead(now: Due, then: Due, *, as_of: date, until: date) -> list[Deadline]:
    """The reports due by `until` (walked as if nothing new happened) that are not due by
    `as_of`, each with the day it falls due: the later of the day it is made and its date,
    since a report never carries a date in the future (R-DATE-3)."""
    known = {r.id for r in (*now.reports, *now.notices)}
    found = []
    for report in (*then.reports, *then.notices):
        due = max(report.made_on, report.date)
        if report.id in known or not as_of < due <= until:
            continue
        found.append(Deadline(due, then.owners.get(report.id, ""), report, why_due(report, due)))
    return sorted(found, key=lambda d: (d.due, d.patient, d.report.kind, d.report.id))


def why_due(report: Report, due: date) -> str:
    """One sentence: which rule makes the report, on which day, and what would prevent it."""
    return _WHY.get(report.rule, _why_other)(report, due)


def _day(value: date) -> str:
    return value.isoformat()


def _why_ten_days(report: Report, due: date) -> str:
    return (
        f"10-day rule (R-EP-3): Abmeldung due on {_day(due)}, dated {_day(report.date)}, the "
        "last covered day, unless there is a contact, a dose or a justified absence by "
        f"{_day(report.made_on - ONE_DAY)}"
    )


def _why_long_substitute(report: Report, due: date) -> str:
    last_day = _day(report.made_on - ONE_DAY)
    if report.kind == "abmeldung":
        return (
            f"substitute for 30 days ends on {last_day} (R-ABS-1/2): the registered doctor's "
            f"Abmeldung, dated {_day(report.date)}, is due on {_day(due)} unless the "
            "registered doctor treats the patient again before"
        )
    return (
        f"substitute for 30 days ends on {last_day} (R-ABS-1/2): the substitute's "
        f"Anmeldung, retroactive to {_day(report.date)}, is due on {_day(due)} unless the "
        "registered doctor treats the patient again before"
    )


def _why_absence(where: str, rule: str) -> Callable[[Report, date], str]:
    def why(report: Report, due: date) -> str:
        return (
            f"{where} passes 30 days on {_day(report.made_on)} ({rule}): Abmeldung due on "
            f"{_day(due)}, dated {_day(report.date)}, the last covered day before it, unless "
            "the patient is back in treatment before"
        )

    return why


def _why_episode_ended(report: Report, due: date) -> str:
    if report.kind == "anmeldung":
        return _why_other(report, due)
    return (
        f"the episode of care has ended (R-EP-2): Abmeldung due on {_day(due)}, dated "
        f"{_day(report.date)}, the last covered day"
    )


def _why_doctor_leaves(report: Report, due: date) -> str:
    if report.kind == "anmeldung":
        return (
            f"the registered doctor has left (R-CHG-6): the successor's Anmeldung is due on "
            f"{_day(due)}"
        )
    return (
        f"the registered doctor leaves (R-CHG-6): Abmeldung due on {_day(due)}, dated "
        f"{_day(report.date)}, their last day with the patient"
    )


def _why_other(report: Report, due: date) -> str:
    if report.kind == "anmeldung":
        return (
            f"Anmeldung ({report.rule}) due on {_day(due)}: the first day with a substitution "
            f"drug in this phase is {_day(report.date)}"
        )
    if report.kind == "mitteilung":
        return f"notice ({report.rule}) due on {_day(due)}: the doctor's data changes"
    return f"Abmeldung ({report.rule}) due on {_day(due)}, dated {_day(report.date)}"


_WHY: Mapping[str, Callable[[Report, date], str]] = {
    "R-EP-3": _why_ten_days,
    "R-ABS-2": _why_long_substitute,
    "R-ABS-3": _why_absence("the absence", "R-ABS-3"),
    "R-ABS-4": _why_absence("the absence abroad", "R-ABS-4"),
    "R-EP-2": _why_episode_ended,
    "R-CHG-6": _why_doctor_leaves,
}
