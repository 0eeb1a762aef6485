"""`substreg import`: a FHIR Bulk Data export into the ledger (issue 13.5), from a folder
of `$export` output (manifest.json and NDJSON) or from a server (kick-off, poll,
download into a folder, `adapter.connect.bulk`). The folder is read by
`adapter.fhir.source` one line at a time and ends in the one ingestion (the sync of
`substreg sync`): a practice-year never sits in memory as JSON, only as the records
the sync keeps of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from adapter.connect import bulk
from adapter.connect.client import FhirClient
from adapter.fhir.items import Entry, Item
from adapter.fhir.source import read_paths
from adapter.services.ingest import ingest
from adapter.services.sync import SyncOptions, SyncResult
from adapter.store.audit import Actor
from adapter.store.workspace import Store


def import_folder(
    store: Store,
    actor: Actor,
    paths: list[Path],
    options: SyncOptions,
    *,
    on_resource: Callable[[], None] = lambda: None,
) -> SyncResult:
    """Sync the export in `paths` (folders or files); `on_resource` hears each resource
    read (for a progress bar)."""
    return ingest(store, actor, _counted(read_paths(paths), on_resource), options)


def download(
    client: FhirClient,
    folder: Path,
    *,
    types: tuple[str, ...] | None,
    since: str | None,
    on_status: Callable[[str], None] = lambda _: None,
    on_bytes: Callable[[int], None] = lambda _: None,
) -> Path:
    """Run the server's `$export` into `folder`; the manifest's path."""
    return bulk.export(
        client, folder, types=types, since=since, progress=on_status, on_bytes=on_bytes
    )


def _counted(items: Iterable[Item], tick: Callable[[], None]) -> Iterator[Item]:
    for item in items:
        if isinstance(item, Entry):
            tick()
        yield item
