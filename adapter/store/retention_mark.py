"""The retention mark: the latest cutoff up to which an earlier version crypto-shredded.

Those versions kept this one day, and sync ignored every event dated before it, so that
an export that still held the shredded patients' old events did not make them new
patients; a mark in the future hid every new event (issue 9.1). Retention now keeps the
shredded treatments' resources instead (D-81) and writes no mark: one that is there stands
for the treatments shredded before, only for patients sync does not know, and with a
warning (`adapter.services.sync_retired`). A mark in the future is taken back (`repair`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from adapter.store.rows import MarkRows


class RetentionMark:
    def __init__(self, rows: MarkRows, now: datetime) -> None:
        self.rows = rows
        self.now = now

    def cutoff(self) -> date | None:
        """The latest cutoff up to which retention shredded patients, if it ever ran."""
        return self.rows.cutoff()

    def repair(self, today: date) -> tuple[date, date | None] | None:
        """A mark after `today` (written by a version without the guard, under a wrong
        clock) is taken back to what retention did shred: the day after the last shredded
        treatment ended (no mark when none was), and never later than `today`, where
        an earlier version's guard would have kept it. Returns (old, new) when it repaired."""
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
