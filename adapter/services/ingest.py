"""The one ingestion every route ends in (push, pull, bulk import, notifications): the
items of any source, read into a batch and synced, the same use case as `substreg sync`."""

from __future__ import annotations

from collections.abc import Iterable

from adapter.fhir.items import Item
from adapter.services.sync import SyncOptions, SyncResult, batch_of, sync
from adapter.store.audit import Actor
from adapter.store.workspace import Store


def ingest(store: Store, actor: Actor, items: Iterable[Item], options: SyncOptions) -> SyncResult:
    return sync(store, actor, batch_of(items, options.mappings), options)
