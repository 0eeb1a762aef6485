"""The deletions a pull sees (D-180): per type whose history the server's
CapabilityStatement offers, `[type]/_history?_since=<its deletion checkpoint>`; a resource
whose newest change there is a DELETE reaches sync as `Deleted`, the item a DELETE pushed
to `/fhir` becomes (`adapter.services.ingest`), so sync removes what it kept of it.

The history is read before the search, and each type has a checkpoint of its own
(`<Type>/_history` in `pull_checkpoint`): the newest change the history showed. A deletion
after that read is at or after it and is seen by the next pull; one of a resource the
search of the same pull returned again (re-created) is overridden by that resource, which
comes later in the batch. A type without a deletion checkpoint starts from the search's
checkpoint (an installation that pulled before this) or, on a first pull, from the newest
change the history holds now (`_count=1`): nothing read before can have been deleted.
Types whose history is not offered keep their deletions on the EHR's side: an info finding
names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from adapter.connect.history import Change
from adapter.domain.model import Finding
from adapter.fhir.items import Deleted

PULLED_DELETION = "deleted on the FHIR server (pull)"  # where, for findings: never an id

__all__ = ["PULLED_DELETION", "Deletions", "History", "checkpoint_key", "read_deletions"]


class History(Protocol):
    def history_types(self) -> frozenset[str]: ...
    def history(self, resource_type: str, *, since: str | None, count: int) -> Iterator[Change]: ...


@dataclass(slots=True)
class Deletions:
    """What the histories showed: the resources deleted (`Type/id`), the deletion
    checkpoints to keep once synced, the types whose history the server does not offer."""

    refs: list[str] = field(default_factory=list)
    checkpoints: dict[str, str] = field(default_factory=dict)
    unoffered: list[str] = field(default_factory=list)

    def items(self) -> list[Deleted]:
        return [Deleted(ref, PULLED_DELETION) for ref in self.refs]

    def findings(self) -> list[Finding]:
        if not self.unoffered:
            return []
        return [
            Finding(
                "info",
                "INPUT",
                f"The server does not offer the history of {', '.join(self.unoffered)} "
                "(CapabilityStatement): a resource deleted there is not seen by a pull and "
                "stays here until an export's deleted files or a history Bundle is synced "
                "(D-180).",
            )
        ]


def checkpoint_key(resource_type: str) -> str:
    """The `pull_checkpoint` type under which a type's deletion checkpoint is kept."""
    return f"{resource_type}/_history"


def read_deletions(
    source: History,
    types: Iterable[str],
    checkpoints: Mapping[str, str],
    *,
    since: str | None,
    page_size: int,
) -> Deletions:
    """Read each type's history from its deletion checkpoint (or `since`, when given)."""
    found = Deletions()
    offered = source.history_types()
    for kind in types:
        if kind not in offered:
            found.unoffered.append(kind)
            continue
        start = since or checkpoints.get(checkpoint_key(kind)) or checkpoints.get(kind)
        newest = _read(source.history(kind, since=start, count=page_size), found, start)
        if newest is not None:
            found.checkpoints[checkpoint_key(kind)] = newest
    return found


def _read(changes: Iterator[Change], found: Deletions, start: str | None) -> str | None:
    """Note each resource whose newest change is a DELETE (only when reading from a
    checkpoint); the newest change's time."""
    latest: dict[str, tuple[datetime | None, bool]] = {}
    newest: tuple[datetime, str] | None = None
    for change in changes:
        moment = _instant(change.at)
        if moment is not None and (newest is None or moment > newest[0]):
            newest = (moment, change.at or "")
        held = latest.get(change.ref)
        if held is None or (moment is not None and held[0] is not None and moment > held[0]):
            latest[change.ref] = (moment, change.deleted)
    if start is not None:  # a deletion at the checkpoint itself was read last time
        after = _instant(start)
        found.refs += [
            ref
            for ref, (moment, deleted) in latest.items()
            if deleted and (after is None or moment is None or moment > after)
        ]
    return None if newest is None else newest[1]


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
