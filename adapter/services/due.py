"""The sync that time alone makes due (issue 13, D-209): reports fall due because days
pass (the Abmeldung on day L+11 of the 10-day rule, R-EP-3; the 31st day of an absence,
R-ABS-2 … 4), not only because data comes.

`sync_due` syncs what was pushed and not read (`ingest_pushed`); when nothing was unread
and the last sync walked an earlier day than `options.as_of`, it syncs a batch of no data
as of that day, exactly as `substreg sync --as-of <later day>` with no changed files:
every patient with an open phase is walked on to the day, and what fell due is recorded.
The guards of sync hold unchanged: a day more than 31 days after the newest the data
speaks of is refused (issue 9.2), and a run that would end many treatments at once is
refused and audited as `sync.refused`, never forced (D-48).
"""

from __future__ import annotations

from datetime import date, timedelta

from adapter.services.ingest import ingest, ingest_pushed
from adapter.services.sync import SyncResult
from adapter.services.sync_plan import SyncOptions
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace

__all__ = ["behind", "sync_due"]


def sync_due(store: Store, actor: Actor, options: SyncOptions) -> list[SyncResult]:
    """Sync the unread pushes; with none, walk on to `options.as_of` when the last sync
    walked an earlier day. One result per sync run; none when nothing was to do."""
    results = ingest_pushed(store, actor, options)
    if results or not store.read(lambda space: behind(space, options.as_of)):
        return results
    return [ingest(store, actor, [], options)]


def behind(space: Workspace, as_of: date) -> bool:
    """Whether a sync walked before and ended before `as_of` (a state's `walked_to` is
    the day after its sync's day); a tenant that never synced has nothing to walk on."""
    latest = space.facts.latest_walk()
    return latest is not None and latest - timedelta(days=1) < as_of
