"""What a sync checks before it records anything: a day the data cannot mean, and an
export that would end every treatment at once (issue 9.2, 9.4).

A clock in the future made sync record Abmeldungen dated after the real day, and then
refused every later sync ("lies before the last sync"); an empty or stale export ended
every open treatment by the 10-day rule with "Findings: 0". Both are refused here:
- the day of the sync may lie at most `TOLERANCE` after the newest day the data speaks
  of (its newest event, or the reach of a take-home or depot, R-DATE-2/3): later means a
  wrong clock or `--as-of`, or an export that stopped (D-47);
- an input without events, or whose newest event is older than the 10-day window, may
  not end more than `MASS_END_MIN` registrations, nor more than `MASS_END_SHARE` of the
  open ones, by R-EP-3 in one run, unless `--accept-mass-end` says it is so (D-48).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from adapter.domain.model import Finding, PatientHistory
from adapter.domain.phases import EMPTY_DAYS_LIMIT
from adapter.domain.reconcile import Planned
from adapter.errors import SyncError
from adapter.fhir.partition import Batch

# The longest wait the rules have after the last data: on the 31st day of an absence or a
# substitute run (R-ABS-2 … 4) a report is due; the 10-day rule's is the 11th day.
TOLERANCE = timedelta(days=31)
MASS_END_MIN = 2
MASS_END_SHARE = 0.2
_WINDOW = timedelta(days=EMPTY_DAYS_LIMIT)


def newest_event(batch: Batch, as_of: date) -> date | None:
    """The newest day on which the batch records something happening (an event, a
    prescription, a consultation), not after `as_of` (a later one is a typo or not due)."""
    days: list[date | None] = []
    for records in batch.patients.values():
        days += [a.start for a in records.administrations.values()]
        days += [d.day for d in records.dispenses.values()]
        days += [r.supply_start or r.authored for r in records.requests.values()]
        days += [day for c in records.encounters.values() for day in c.days]
    return max((d for d in days if d is not None and d <= as_of), default=None)


def newest_day(
    batch: Batch, histories: Iterable[PatientHistory | None], as_of: date
) -> date | None:
    """The newest day the data speaks of: an event, an episode's or an absence's start or
    end (R-ABS: their 31st day may be due), not after `as_of`; or the last day a take-home,
    dispense or depot that has begun covers (R-DATE-2), which may lie later."""
    days: list[date | None] = [newest_event(batch, as_of)]
    for records in batch.patients.values():
        for episode in records.episodes.values():
            days += [episode.start, episode.end]
            days += [day for absence in episode.absences for day in (absence.start, absence.end)]
    spoken = [d for d in days if d is not None and d <= as_of]
    reach = [c.end for h in histories if h is not None for c in h.covers if c.start <= as_of]
    return max([*spoken, *reach], default=None)


def check_as_of(as_of: date, known: date | None) -> None:
    """Refuse a day more than TOLERANCE after the newest day the data speaks of."""
    if known is None or as_of <= known + TOLERANCE:
        return
    msg = (
        f"--as-of {as_of.isoformat()} lies {(as_of - known).days} days after the newest day "
        f"the data speaks of ({known.isoformat()}: an event, an episode or absence, or the "
        "last day a take-home or depot covers): the clock or --as-of is wrong, or the export "
        f"stopped. Nothing was synced. Check the clock, or give --as-of "
        f"{(known + TOLERANCE).isoformat()} or earlier; if the export is old, send a current one"
    )
    service = (
        f"the day of this sync ({as_of.isoformat()}, the server's today) lies "
        f"{(as_of - known).days} days after the newest day the data speaks of "
        f"({known.isoformat()}): the server's clock is wrong, or the EHR's data stopped. "
        "Nothing was synced; the pushed data stays unread. Check the server's clock; if the "
        "EHR's data is old, push current data"
    )
    raise SyncError(msg, service=service)


@dataclass(frozen=True, slots=True)
class MassEnd:
    """A run that would end many registrations by R-EP-3 on a stale or empty export."""

    ending: tuple[Planned, ...]
    open_phases: int
    newest: date | None  # the export's newest event

    def finding(self, as_of: date, patients: dict[str, str], *, service: bool) -> Finding:
        """The refusal as it is shown: by the command that ran the sync, or by the
        service's GET /findings (`service`): each names its own way to accept (D-236)."""
        newest = (
            f"the export's newest event is from {self.newest.isoformat()} "
            f"({(as_of - self.newest).days} days before {as_of.isoformat()})"
            if self.newest
            else "the input holds no events"
        )
        keys = sorted({patients.get(p.subject, "") for p in self.ending} - {""})
        return Finding(
            "error",
            "R-EP-3",
            f"Nothing was recorded: {newest}, yet {len(self.ending)} of {self.open_phases} "
            "open registrations would end by the 10-day rule (R-EP-3) in this sync. A stale or "
            f"empty export must not end every treatment. {_SERVICE if service else _COMMAND}",
            tuple(keys[:5]),
        )


_COMMAND = (
    "Sync current data; if these treatments really ended, a doctor accepts the ends: run "
    "this command again with --accept-mass-end."
)
_SERVICE = (
    "The EHR pushes current data; if these treatments really ended, a doctor or an admin "
    "accepts the ends: GET /sync/held shows the sync held, POST /sync/held/accept with the "
    "number of ends it shows accepts them (on the server: substreg tenant held TENANT, then "
    "substreg tenant accept-held TENANT --ending N)."
)


def mass_end(
    planned: list[Planned], open_phases: int, newest: date | None, as_of: date
) -> MassEnd | None:
    """The R-EP-3 Abmeldungen of a stale or empty export, when they are too many."""
    if newest is not None and newest >= as_of - _WINDOW:
        return None  # the export is current: these patients really stayed away
    ending = tuple(
        p
        for p in planned
        if p.report.kind == "abmeldung" and p.report.rule == "R-EP-3" and p.origin == "derived"
    )
    if len(ending) <= max(MASS_END_MIN, MASS_END_SHARE * open_phases):
        return None
    return MassEnd(ending, open_phases, newest)
