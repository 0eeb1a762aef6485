"""`substreg pull`: read what changed on the EHR's FHIR server and sync it (issue 13).

Per resource type (INPUT.md's, `adapter.fhir.collect.PULLED_TYPES`) a search
`_lastUpdated=gt<checkpoint>&_sort=_lastUpdated`, page by page through `Bundle.link`
next; the types that belong to a patient with `_include=<Type>:patient`. The pages are
spooled to NDJSON files in a private folder (the CLI: `$SUBSTREG_HOME/spool/pull`) as
they come (a practice-year
never sits in memory as JSON) and then synced at once through the one ingestion
(`adapter.services.ingest`, the sync of `substreg sync`, reading the spool line by
line). Only after that sync committed does each type's checkpoint move, in a
transaction of its own, to the newest `meta.lastUpdated` the search returned (D-133).

Why one sync per pull, not one per page: sync keeps nothing of a patient it meets
without anything tied to a drug (data minimisation) and refuses a day far after the
newest the data speaks of (issue 9); a page of Patients alone, or the first page of
prescriptions, would be dropped or refused. Why it is safe: a crash before the sync
committed keeps nothing and leaves the checkpoints where they were; a crash after it,
before the checkpoints moved, reads the same resources again, and sync skips what it
read before unchanged. Either way the ledger is the one an uninterrupted pull makes.

Deletions: before the searches, each type's history (where the server's
CapabilityStatement offers it) is read from a deletion checkpoint of its own; a resource
whose newest change there is a DELETE is synced as `Deleted`, as a pushed DELETE is
(`adapter.services.pull_deleted`, D-180).

A type whose resources came without `meta.lastUpdated` keeps its checkpoint (each pull
reads it whole again: harmless, slow, and said). A sync that keeps nothing (a refused
mass end, D-48) moves no checkpoint.

`pull_named` reads the resources an id-only subscription notification names: per type a
search `_id=<id>,<id>,…` of at most `IDS_PER_SEARCH` ids (a patient's few hundred
resources in a handful of requests, not one read each, D-138), or single reads of a type
whose `_id` search the server refuses.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

import orjson

from adapter.connect.client import Page
from adapter.domain.model import Finding
from adapter.domain.pipeline import unique_findings
from adapter.fhir.collect import PULLED_TYPES
from adapter.fhir.items import Entry, Item
from adapter.fhir.source import read_paths
from adapter.services.ingest import ingest
from adapter.services.pull_deleted import Deletions, History, read_deletions
from adapter.services.sync import Recorded, SyncOptions, SyncResult
from adapter.settings.files import make_private_dirs
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace

# The types whose resources belong to a patient: searched with `_include=<Type>:patient`,
# so that a new patient comes in the same sync as the first events that name them (a
# Patient synced alone earlier was not kept); one known already is skipped as read before.
PATIENT_OWNED = frozenset(
    {
        "EpisodeOfCare",
        "CareTeam",
        "Encounter",
        "Procedure",
        "MedicationRequest",
        "MedicationDispense",
        "MedicationAdministration",
    }
)

# The ids of one `_id` search: a URL of some 3.5 kB at FHIR's longest ids (64 characters),
# under the 8 kB request lines servers and proxies commonly accept.
IDS_PER_SEARCH = 50
# A reference `pull_named` searches by `_id`: `Type/id` (FHIR's id: 1-64 of A-Z a-z 0-9 - .).
# Anything else (a version, a query, a path elsewhere on the server) is read as it is.
_TYPE_AND_ID = re.compile(r"([A-Z][A-Za-z]{0,63})/([A-Za-z0-9.\-]{1,64})")

__all__ = [
    "IDS_PER_SEARCH",
    "PULLED_TYPES",
    "Named",
    "PullResult",
    "Source",
    "TypePulled",
    "pull",
    "pull_named",
    "read_named",
]


class Source(History, Protocol):
    """A FHIR server to read from (`adapter.connect.client.FhirClient`, or a test's)."""

    base: str  # the base URL: whose checkpoints these are

    def search(
        self, resource_type: str, *, since: str | None, count: int, include: str | None = None
    ) -> Iterator[Page]: ...
    def search_ids(self, resource_type: str, ids: Sequence[str]) -> list[dict[str, Any]] | None: ...
    def read(self, reference: str) -> dict[str, Any] | None: ...
    def relative(self, reference: str) -> str: ...


@dataclass(slots=True)
class TypePulled:
    resource_type: str
    since: str | None  # the checkpoint searched from
    checkpoint: str | None  # where it stands now
    pages: int = 0
    resources: int = 0
    unstamped: int = 0  # resources without meta.lastUpdated
    newest: str | None = None  # the newest lastUpdated read (None: none, or one lacked it)


@dataclass(slots=True)
class PullResult:
    server: str
    types: list[TypePulled] = field(default_factory=list)
    recorded: list[Recorded] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    syncs: int = 0
    refused: bool = False  # a sync kept nothing (a mass end, D-48): the pull stopped
    deletions: Deletions = field(default_factory=Deletions)  # what the histories showed

    @property
    def resources(self) -> int:
        return sum(t.resources for t in self.types)


def pull(
    store: Store,
    actor: Actor,
    source: Source,
    options: SyncOptions,
    *,
    types: Iterable[str] = PULLED_TYPES,
    since: str | None = None,
    page_size: int = 200,
    spool: Path | None = None,
) -> PullResult:
    """Pull every type from its checkpoint (or from `since`, when given, for all), sync
    what came, then move the checkpoints. `spool`: the folder the pages are spooled to,
    emptied first and removed afterwards (the installation's private home, so that what
    a killed pull leaves there is this user's only and gone with the next pull); default
    a private temporary folder."""
    server = source.base
    result = PullResult(server)
    checkpoints = store.read(lambda space: space.pull.checkpoints(server))
    types = list(types)
    # the histories before the searches: a deletion after this read is seen next time (D-180)
    result.deletions = read_deletions(source, types, checkpoints, since=since, page_size=page_size)
    with _spool(spool) as folder:
        for index, kind in enumerate(types, start=1):
            start = since or checkpoints.get(kind)
            pulled = TypePulled(kind, start, start)
            result.types.append(pulled)
            newest = _read_type(source, pulled, page_size, folder / f"{index:02}-{kind}.ndjson")
            pulled.newest = newest
        if result.resources or result.deletions.refs:
            items = chain(result.deletions.items(), read_paths([folder]))
            synced = ingest(store, actor, items, options)
            result.syncs = 1
            result.recorded = synced.recorded
            result.findings = synced.findings
            result.refused = synced.run_id is None
    if not result.refused:
        _advance(store, actor, server, result.types, result.deletions.checkpoints)
    notes = _stamp_findings(result.types) + result.deletions.findings()
    result.findings = unique_findings(result.findings + notes)
    details = {
        "server": server,
        "types": len(result.types),
        "pages": sum(t.pages for t in result.types),
        "resources": result.resources,
        "deleted": len(result.deletions.refs),
        "recorded": len(result.recorded),
        **({"refused": True} if result.refused else {}),
    }
    store.run(actor, lambda space: space.audit.append(actor, "pull", details=details))
    return result


def _read_type(source: Source, pulled: TypePulled, page_size: int, target: Path) -> str | None:
    """Spool every page of the type's search to `target`; the newest `lastUpdated` of
    its matches (None when none came, or one came without)."""
    kind = pulled.resource_type
    include = f"{kind}:patient" if kind in PATIENT_OWNED else None
    newest: tuple[datetime, str] | None = None
    with target.open("wb") as out:
        for page in source.search(kind, since=pulled.since, count=page_size, include=include):
            pulled.pages += 1
            pulled.resources += len(page.entries)
            for resource, _ in page.entries + page.included:
                out.write(orjson.dumps(resource) + b"\n")
            for resource, _ in page.entries:
                stamp = _stamp(resource)
                if stamp is None:
                    pulled.unstamped += 1
                elif newest is None or stamp[0] > newest[0]:
                    newest = stamp
    return None if newest is None or pulled.unstamped else newest[1]


def _advance(
    store: Store, actor: Actor, server: str, types: list[TypePulled], deleted: dict[str, str]
) -> None:
    """Move each type's checkpoint forward to the newest change synced (never back), and
    each deletion checkpoint to the newest change its history showed."""
    moves = [
        t
        for t in types
        if t.newest is not None and (t.checkpoint is None or _later(t.newest, t.checkpoint))
    ]
    if not moves and not deleted:
        return

    def advance(space: Workspace) -> None:
        held = space.pull.checkpoints(server)
        for pulled in moves:
            space.pull.advance(server, pulled.resource_type, pulled.newest or "")
        for key, newest in deleted.items():
            if key not in held or _later(newest, held[key]):
                space.pull.advance(server, key, newest)

    store.run(actor, advance)
    for pulled in moves:
        pulled.checkpoint = pulled.newest


def _later(text: str, than: str) -> bool:
    one, other = _instant(text), _instant(than)
    return one is not None and (other is None or one > other)


@contextmanager
def _spool(folder: Path | None) -> Iterator[Path]:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)  # what a killed pull left
        make_private_dirs(folder)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    with tempfile.TemporaryDirectory(prefix="substreg-pull-") as temp:
        os.chmod(temp, 0o700)  # the EHR's resources: this user's only (mkdtemp does it too)
        yield Path(temp)


def _stamp(resource: dict[str, Any]) -> tuple[datetime, str] | None:
    """A resource's `meta.lastUpdated`: the instant, and the server's text of it."""
    meta = resource.get("meta")
    text = meta.get("lastUpdated") if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return None
    moment = _instant(text)
    return None if moment is None else (moment, text)


def _instant(text: str) -> datetime | None:
    """A FHIR instant (always with a zone); None when it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _stamp_findings(types: list[TypePulled]) -> list[Finding]:
    return [
        Finding(
            "warning",
            "INPUT",
            f"{pulled.unstamped} {pulled.resource_type} resource(s) came without "
            "meta.lastUpdated: the checkpoint of the type cannot move, and each pull reads "
            "it whole again (harmless, but slow).",
        )
        for pulled in types
        if pulled.unstamped
    ]


def pull_named(
    store: Store, actor: Actor, source: Source, references: list[str], options: SyncOptions
) -> SyncResult:
    """Read the resources `references` name (`Type/id` or URLs on the server) and sync
    them: what an id-only notification asks for. One gone (404, 410, or not found by the
    `_id` search) is a finding; so is a type the server would not search by `_id`."""
    named = read_named(source, references)
    items: list[Item] = [
        Entry(resource, None, where=f"notification focus {index}")
        for index, resource in sorted(named.found.items())
    ]
    result = ingest(store, actor, items, options)
    notes: list[Finding] = []
    if named.gone:
        notes.append(
            Finding(
                "warning",
                "INPUT",
                f"{named.gone} resource(s) a notification named were gone from the server "
                "(404/410, or not found by their _id).",
            )
        )
    if named.unsearched:
        notes.append(
            Finding(
                "info",
                "INPUT",
                f"The server does not search {', '.join(named.unsearched)} by _id (HTTP "
                "400, 403, 404, 405 or 501): the resources of a notification were read one "
                "at a time (slower, and every one still read).",
            )
        )
    return replace(result, findings=[*result.findings, *notes]) if notes else result


@dataclass(slots=True)
class Named:
    """What `read_named` found: each resource under the (1-based) position of the first
    reference that named it; how many were gone; the types read one at a time."""

    found: dict[int, dict[str, Any]] = field(default_factory=dict)
    gone: int = 0
    unsearched: list[str] = field(default_factory=list)

    def take(self, index: int, resource: dict[str, Any] | None) -> None:
        if resource is None:
            self.gone += 1
        else:
            self.found[index] = resource


def read_named(source: Source, references: Sequence[str]) -> Named:
    """The resources `references` name, read from `source`: `Type/id` grouped by type and
    searched `_id` by `IDS_PER_SEARCH` (a reference named twice is read once); any other
    form read as it is. An absolute URL on another server is refused (SourceError) before
    anything is read."""
    named = Named()
    by_type: dict[str, dict[str, int]] = {}  # type → id → position of its first reference
    singles: list[tuple[int, str]] = []
    for index, reference in enumerate(references, start=1):
        local = source.relative(reference)
        match = _TYPE_AND_ID.fullmatch(local)
        if match is None:
            singles.append((index, local))
        else:
            by_type.setdefault(match[1], {}).setdefault(match[2], index)
    for index, local in singles:
        named.take(index, source.read(local))
    for kind, ids in by_type.items():
        _read_ids(source, kind, ids, named)
    return named


def _read_ids(source: Source, kind: str, ids: dict[str, int], named: Named) -> None:
    """Search `kind` by `_id`, `IDS_PER_SEARCH` at a time; on the first refusal (the
    server does not search it so) read the rest of its ids one by one."""
    wanted = list(ids)
    for start in range(0, len(wanted), IDS_PER_SEARCH):
        chunk = wanted[start : start + IDS_PER_SEARCH]
        found = None if kind in named.unsearched else source.search_ids(kind, chunk)
        if found is None:
            if kind not in named.unsearched:
                named.unsearched.append(kind)
            for one in chunk:
                named.take(ids[one], source.read(f"{kind}/{one}"))
            continue
        by_id = {r.get("id"): r for r in found if r.get("resourceType") == kind}
        for one in chunk:
            named.take(ids[one], by_id.get(one))
