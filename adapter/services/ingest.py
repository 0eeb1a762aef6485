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
from adapter.services.sync_plan import SyncOptions, seen_text
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
        store.run(actor, _marker(items, marks, options.config.ehr_base_url))


def _marker(
    items: list[Item], marks: list[tuple[str, int]], base_url: str
) -> Callable[[Workspace], None]:
    """Mark the versions read, and note whose each resource is as sync filed it (its
    `resource_seen` owner), so that retention forgets it with its patient (D-131)."""

    def mark(space: Workspace) -> None:
        space.resources.mark_ingested(marks)
        keys = [_key(item) for item in items]
        version, _ = space.keys.active_index()
        indexes = {key: space.keys.active_blind(seen_text(base_url, key))[1] for key in keys}
        seen = space.facts.seen(list(indexes.values()), version)
        owners = {
            resource_id: (seen[indexes[key]][0] if indexes[key] in seen else None)
            for key, (resource_id, _) in zip(keys, marks, strict=True)
        }
        space.resources.set_owners(owners)

    return mark


def _key(item: Item) -> str:
    if isinstance(item, Deleted):
        return item.ref
    assert isinstance(item, Entry)
    return f"{item.resource['resourceType']}/{item.resource['id']}"
