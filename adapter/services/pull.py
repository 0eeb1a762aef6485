"""`substreg pull`: read what changed on the EHR's FHIR server and sync it (issue 13).

Per resource type (INPUT.md's, `adapter.fhir.collect.PULLED_TYPES`) a search
`_lastUpdated=gt<checkpoint>&_sort=_lastUpdated`, page by page. Each page ends in the
one ingestion (`adapter.services.ingest`, the sync of `substreg sync`), and only then
does the type's checkpoint move, in a transaction of its own (D-133):

- while the pages come oldest change first, after a page to the newest `lastUpdated`
  that is older than the page's last one (a resource changed at the same instant as the
  last may still be on the next page: `gt` would skip it);
- at the end of the search, to the newest `lastUpdated` seen;
- not at all while any resource came without `meta.lastUpdated`, or once a page was
  out of order (a server that ignores `_sort`): such a type is read whole again.

A crash between a page's sync and its checkpoint reads the page again, and sync skips
every resource it read before unchanged: the ledger is the one an uninterrupted pull
makes. A sync that keeps nothing (a refused mass end, D-48) stops the pull there.
`pull_named` reads single resources for an id-only subscription notification.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from adapter.connect.client import Page
from adapter.domain.model import Finding
from adapter.domain.pipeline import unique_findings
from adapter.fhir.collect import PULLED_TYPES
from adapter.fhir.items import Entry, Item
from adapter.services.ingest import ingest
from adapter.services.sync import Recorded, SyncOptions, SyncResult
from adapter.store.audit import Actor
from adapter.store.workspace import Store

__all__ = ["PULLED_TYPES", "PullResult", "Source", "TypePulled", "pull", "pull_named"]


class Source(Protocol):
    """A FHIR server to read from (`adapter.connect.client.FhirClient`, or a test's)."""

    base: str  # the base URL: whose checkpoints these are

    def search(self, resource_type: str, *, since: str | None, count: int) -> Iterator[Page]: ...
    def read(self, reference: str) -> dict[str, Any] | None: ...


@dataclass(slots=True)
class TypePulled:
    resource_type: str
    since: str | None  # the checkpoint searched from
    checkpoint: str | None  # where it stands now
    pages: int = 0
    resources: int = 0
    unstamped: int = 0  # resources without meta.lastUpdated
    out_of_order: bool = False


@dataclass(slots=True)
class PullResult:
    server: str
    types: list[TypePulled] = field(default_factory=list)
    recorded: list[Recorded] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    syncs: int = 0
    refused: bool = False  # a sync kept nothing (a mass end, D-48): the pull stopped

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
) -> PullResult:
    """Pull every type from its checkpoint (or from `since`, when given, for all)."""
    server = source.base
    result = PullResult(server)
    checkpoints = store.read(lambda space: space.pull.checkpoints(server))
    for kind in types:
        pulled = TypePulled(kind, since or checkpoints.get(kind), since or checkpoints.get(kind))
        result.types.append(pulled)
        if not _pull_type(
            store, actor, source, options, pulled, page_size=page_size, result=result
        ):
            break
    result.findings = unique_findings(result.findings + _stamp_findings(result.types))
    details = {
        "server": server,
        "types": len(result.types),
        "pages": sum(t.pages for t in result.types),
        "resources": result.resources,
        "recorded": len(result.recorded),
        **({"refused": True} if result.refused else {}),
    }
    store.run(actor, lambda space: space.audit.append(actor, "pull", details=details))
    return result


def _pull_type(
    store: Store,
    actor: Actor,
    source: Source,
    options: SyncOptions,
    pulled: TypePulled,
    *,
    page_size: int,
    result: PullResult,
) -> bool:
    """Pull one type; False when a sync kept nothing and the pull must stop."""
    kind, server = pulled.resource_type, source.base
    previous: datetime | None = None
    newest: tuple[datetime, str] | None = None
    for page in source.search(kind, since=pulled.since, count=page_size):
        pulled.pages += 1
        pulled.resources += len(page.entries)
        if page.entries and not _synced(store, actor, page, options, result):
            return False
        stamps = [_stamp(resource) for resource, _ in page.entries]
        pulled.unstamped += sum(1 for s in stamps if s is None)
        known = [s for s in stamps if s is not None]
        for moment, _ in known:
            pulled.out_of_order |= previous is not None and moment < previous
            previous = moment
        newest = max([*known, *([newest] if newest else [])], default=None)
        if pulled.unstamped or pulled.out_of_order or not known:
            continue
        safe = max((s for s in known if s[0] < known[-1][0]), default=None)
        _advance(store, actor, server, pulled, safe)
    if newest is not None and not pulled.unstamped and not pulled.out_of_order:
        _advance(store, actor, server, pulled, newest)
    return True


def _synced(
    store: Store, actor: Actor, page: Page, options: SyncOptions, result: PullResult
) -> bool:
    where = f"GET {page.resource_type} page {page.number}"
    items = [
        Entry(resource, full_url, where=f"{where} entry {index}")
        for index, (resource, full_url) in enumerate(page.entries, start=1)
    ]
    synced = ingest(store, actor, items, options)
    result.syncs += 1
    result.recorded += synced.recorded
    result.findings += synced.findings
    if synced.run_id is None:
        result.refused = True
        return False
    return True


def _advance(
    store: Store, actor: Actor, server: str, pulled: TypePulled, to: tuple[datetime, str] | None
) -> None:
    """Move the type's checkpoint forward to `to` (never back: a later page's value
    that is older than one kept changes nothing)."""
    if to is None:
        return
    current = _instant(pulled.checkpoint) if pulled.checkpoint else None
    if current is not None and to[0] <= current:
        return
    store.run(actor, lambda space: space.pull.advance(server, pulled.resource_type, to[1]))
    pulled.checkpoint = to[1]


def _stamp(resource: dict[str, Any]) -> tuple[datetime, str] | None:
    """A resource's `meta.lastUpdated`: the instant, and the server's text of it."""
    meta = resource.get("meta")
    text = meta.get("lastUpdated") if isinstance(meta, dict) else None
    moment = _instant(text) if isinstance(text, str) else None
    return None if moment is None or not isinstance(text, str) else (moment, text)


def _instant(text: str) -> datetime | None:
    """A FHIR instant (always with a zone); None when it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _stamp_findings(types: list[TypePulled]) -> list[Finding]:
    findings = []
    for pulled in types:
        if pulled.unstamped:
            findings.append(
                Finding(
                    "warning",
                    "INPUT",
                    f"{pulled.unstamped} {pulled.resource_type} resource(s) came without "
                    "meta.lastUpdated: the checkpoint of the type cannot move, and each pull "
                    "reads it whole again (harmless, but slow).",
                )
            )
        if pulled.out_of_order:
            findings.append(
                Finding(
                    "warning",
                    "INPUT",
                    f"The server did not sort the {pulled.resource_type} search by "
                    "_lastUpdated: the checkpoint moved only at the end of the search.",
                )
            )
    return findings


def pull_named(
    store: Store, actor: Actor, source: Source, references: list[str], options: SyncOptions
) -> SyncResult:
    """Read the resources `references` name (`Type/id` or URLs on the server) and sync
    them: what an id-only notification asks for. One gone (404, 410) is a finding."""
    items: list[Item] = []
    gone = 0
    for index, reference in enumerate(references, start=1):
        resource = source.read(reference)
        if resource is None:
            gone += 1
            continue
        items.append(Entry(resource, None, where=f"notification focus {index}"))
    result = ingest(store, actor, items, options)
    if gone:
        note = Finding(
            "warning",
            "INPUT",
            f"{gone} resource(s) a notification named were gone from the server (404/410).",
        )
        result = _with_finding(result, note)
    return result


def _with_finding(result: SyncResult, finding: Finding) -> SyncResult:
    return replace(result, findings=[*result.findings, finding])
