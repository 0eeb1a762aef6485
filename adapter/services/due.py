"""The sync that time alone makes due (issue 13, D-209): reports fall due because days
pass (the Abmeldung on day L+11 of the 10-day rule, R-EP-3; the 31st day of an absence,
R-ABS-2 … 4), not only because data comes.

`sync_due` syncs what was pushed and not read (`ingest_pushed`); when nothing was unread
and the newest sync run was of an earlier day than `options.as_of`, it syncs a batch of no data
as of that day, exactly as `substreg sync --as-of <later day>` with no changed files:
every patient with an open phase is walked on to the day, and what fell due is recorded.
The guards of sync hold unchanged: a day more than 31 days after the newest the data
speaks of is refused (issue 9.2), and a run that would end many treatments at once is
refused and audited as `sync.refused`, never forced (D-48).
"""

from __future__ import annotations

from datetime import date

from adapter.services.ingest import ingest, ingest_pushed
from adapter.services.sync import SyncResult
from adapter.services.sync_plan import SyncOptions
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace

__all__ = ["behind", "sync_due"]


def sync_due(store: Store, actor: Actor, options: SyncOptions) -> list[SyncResult]:
    """Sync the unread pushes; with none, walk on to `options.as_of` when the newest
    sync run was of an earlier day. One result per sync run; none when nothing was to do."""
    results = ingest_pushed(store, actor, options)
    if results or not store.read(lambda space: behind(space, options.as_of)):
        return results
    return [ingest(store, actor, [], options)]


def behind(space: Workspace, as_of: date) -> bool:
    """Whether the newest sync run was of a day before `as_of`; a tenant that never
    synced has nothing to walk on. (A run taken back the same day is not made again.)"""
    newest = space.journal.runs(1)
    return bool(newest) and newest[0].as_of < as_of
