"""The retention mark: the latest cutoff up to which patients were crypto-shredded.

Sync ignores events dated before it (an export that still holds the shredded patients'
old events must not make them new patients). So the mark must never lie in the future:
one there would hide every new event from sync (issue 9.1).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from adapter.errors import RetentionMarkError
from adapter.store.rows import MarkRows

_BERLIN = ZoneInfo("Europe/Berlin")


class RetentionMark:
    def __init__(self, rows: MarkRows, now: datetime) -> None:
        self.rows = rows
        self.now = now

    def cutoff(self) -> date | None:
        """The latest cutoff up to which retention shredded patients, if it ever ran."""
        return self.rows.cutoff()

    def advance(self, cutoff: date) -> None:
        """Move the retention mark forward to `cutoff` (never back, never past today:
        sync ignores every event before the mark, so a mark in the future would hide all
        new data, issue 9.1)."""
        today = self.now.astimezone(_BERLIN).date()
        if cutoff > today:
            msg = (
                f"A retention cutoff of {cutoff.isoformat()} lies after today "
                f"({today.isoformat()}): it is not kept."
            )
            raise RetentionMarkError(msg)
        current = self.cutoff()
        if current is None or cutoff > current:
            self.rows.put(cutoff, self.now)

    def repair(self, today: date) -> tuple[date, date | None] | None:
        """A mark after `today` (written by a version without the guard, under a wrong
        clock) is taken back to what retention did shred: the day after the last shredded
        treatment ended (no mark when none was), and never later than `today`, where
        `advance` would have kept it. Returns (old, new) when it repaired."""
        current = self.cutoff()
        if current is None or current <= today:
            return None
        last = self.rows.last_shredded_closed_on()
        new = min(current, last + timedelta(days=1), today) if last is not None else None
        if new is None:
            self.rows.drop()
        else:
            self.rows.put(new, self.now)
        return current, new
