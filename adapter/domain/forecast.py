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
from dataclasses import dataclass, replace
from datetime import date, timedelta

from adapter.domain.model import Report
from adapter.domain.pipeline import Due
from adapter.domain.walk_state import PhaseSnapshot

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A report the data will call for on `due` unless something changes before."""

    due: date
    patient: str  # the patient's resource key ("Patient/p1"), '' for a doctor's notice
    report: Report
    why: str  # one sentence: the rule, the day, and what prevents it


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

    def review_overdue(self, as_of: date) -> bool:
        """The outside review was due before `as_of` (derive gives an R-DIA-2 warning)."""
        return self.review_due is not None and self.review_due < as_of


@dataclass(frozen=True, slots=True)
class Forecast:
    as_of: date
    until: date
    open_phases: list[OpenPhase]
    deadlines: list[Deadline]

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
            replace(
                d,
                patient=name(d.patient),
                report=replace(
                    d.report,
                    sources=tuple(names.get(s, s) for s in d.report.sources),
                ),
            )
            for d in self.deadlines
        ]
        phases = sorted(
            (replace(p, patient=name(p.patient)) for p in self.open_phases),
            key=lambda p: p.patient,
        )
        return Forecast(self.as_of, self.until, phases, deadlines)


def open_phase(
    patient: str, snapshot: PhaseSnapshot, *, review_due: date | None = None
) -> OpenPhase:
    return OpenPhase(
        patient,
        snapshot.doctor,
        snapshot.code,
        snapshot.substance,
        snapshot.start,
        snapshot.last,
        review_due,
    )


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
