"""Ingestion: every route by which FHIR data arrives ends in the one sync (issue 13, D-130).

`ingest` is the shared function: items from any source (a pushed Bundle, a pull, a bulk
import, a notification) become a batch and are synced exactly as `substreg sync` syncs
files. `ingest_pushed` is the push route's: the resources pushed to `/fhir` whose newest
version sync has not read are read back from the store (a DELETE as `Deleted`), synced,
and only then marked read; a sync that fails leaves them unread for the next run, and one
that is cut off after syncing reads them again, which sync skips as unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import orjson

from adapter.fhir.items import Deleted, Entry, Item
from adapter.services.sync import SyncResult, batch_of, sync
from adapter.services.sync_plan import SyncOptions
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace

__all__ = ["ingest", "ingest_pushed", "pending_pushed"]

PUSHED = "pushed to /fhir"  # where an item came from, for findings (never an id)
CHUNK = 50_000  # resources per sync run: a practice's years fit in one


def ingest(store: Store, actor: Actor, items: Iterable[Item], options: SyncOptions) -> SyncResult:
    """Sync the items: the same use case as `substreg sync`."""
    return sync(store, actor, batch_of(items, options.mappings), options)


def pending_pushed(
    space: Workspace, limit: int = CHUNK
) -> tuple[list[Item], list[tuple[str, int]]]:
    """The newest version of each pushed resource sync has not read, as items, and the
    (resource, version) marks to set once they are synced."""
    items: list[Item] = []
    marks: list[tuple[str, int]] = []
    for kind, kept in space.resources.pending(limit):
        resource = orjson.loads(kept.body)
        if kept.deleted:
            items.append(Deleted(f"{kind}/{resource['id']}", PUSHED))
        else:
            items.append(Entry(resource, None, PUSHED))
        marks.append((kept.resource_id, kept.version))
    return items, marks


def ingest_pushed(store: Store, actor: Actor, options: SyncOptions) -> list[SyncResult]:
    """Sync what was pushed and not yet read, chunk by chunk; one result per sync run
    (none when nothing waits). An error stops here with the rest left unread; so does a
    run sync refused and kept nothing of (`run_id` None: it would have ended many
    treatments at once, D-48), its resources unread until a person decides."""
    results: list[SyncResult] = []
    while True:
        items, marks = store.read(pending_pushed)
        if not items:
            return results
        result = ingest(store, actor, items, options)
        results.append(result)
        if result.run_id is None:
            return results
        store.run(actor, _marker(marks))


def _marker(marks: list[tuple[str, int]]) -> Callable[[Workspace], None]:
    def mark(space: Workspace) -> None:
        space.resources.mark_ingested(marks)

    return mark
