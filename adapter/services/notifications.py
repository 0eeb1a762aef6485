"""Topic-based subscription notifications from the EHR (issue 13.3): R5
`subscription-notification` Bundles and their R4B form (the Subscriptions R5 Backport IG,
http://hl7.org/fhir/uv/subscriptions-backport: Bundle.type `history`), each with a
`SubscriptionStatus` as its first entry.

- `handshake`, `heartbeat` and `query-status`: acknowledged, and the subscription noted
  as seen (its reference and topic, the type, the event count, when: no personal data);
- `event-notification` with full resources (entries after the status): those resources
  are ingested, the same sync as every other route;
- `event-notification` id-only (`notificationEvent.focus` references, no resources): the
  pull connector reads the named resources from the configured server and ingests them;
  without a server configured it is refused (the EHR sends it again later: nothing lost).
An `empty` notification says only that something happened: noted as seen; the next
pull finds what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapter.errors import InputError, SourceError
from adapter.fhir.items import Entry
from adapter.services.ingest import ingest
from adapter.services.pull import Source, pull_named
from adapter.services.sync import SyncOptions, SyncResult
from adapter.store.audit import Actor
from adapter.store.pull_state import SubscriptionSeen
from adapter.store.workspace import Store

KINDS = ("handshake", "heartbeat", "event-notification", "query-status")
_BUNDLE_TYPES = ("subscription-notification", "history")  # R5, R4B backport


@dataclass(frozen=True, slots=True)
class Notification:
    """What a notification Bundle says, read but not yet acted on."""

    kind: str
    subscription: str
    topic: str | None
    events_since_start: int | None
    focus: list[str]  # references of the events' focus (EHR ids: never kept or logged)
    resources: list[Entry]  # the full resources sent along


@dataclass(frozen=True, slots=True)
class Received:
    seen: SubscriptionSeen
    content: str  # empty, id-only, full-resource, none (no event)
    synced: SyncResult | None  # the sync of the resources, when any


def read_notification(bundle: Any) -> Notification:
    """The notification in `bundle`; InputError naming what is wrong (a 4xx answer)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InputError("the notification is no FHIR Bundle")
    if bundle.get("type") not in _BUNDLE_TYPES:
        msg = (
            f"Bundle.type: a notification is a subscription-notification (R5) or history "
            f"(R4B backport) Bundle, not {bundle.get('type')!r}"
        )
        raise InputError(msg)
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        raise InputError("Bundle.entry[0]: a notification starts with its SubscriptionStatus")
    first = entries[0].get("resource")
    if not isinstance(first, dict) or first.get("resourceType") != "SubscriptionStatus":
        raise InputError("Bundle.entry[0].resource: the first entry must be a SubscriptionStatus")
    kind = first.get("type")
    if kind not in KINDS:
        msg = f"Bundle.entry[0].resource.type: must be one of {', '.join(KINDS)}"
        raise InputError(msg)
    subscription = _object(first.get("subscription")).get("reference")
    if not isinstance(subscription, str) or not subscription.strip():
        raise InputError("Bundle.entry[0].resource.subscription.reference: missing")
    topic = first.get("topic")
    events = first.get("notificationEvent")
    focus = [
        ref
        for event in (events if isinstance(events, list) else [])
        if isinstance(ref := _object(_object(event).get("focus")).get("reference"), str)
    ]
    resources = [
        Entry(e["resource"], _text(e.get("fullUrl")), where=f"notification entry {index}")
        for index, e in enumerate(entries[1:], start=1)
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    return Notification(
        kind=kind,
        subscription=subscription.strip(),
        topic=topic if isinstance(topic, str) else None,
        events_since_start=_count(first.get("eventsSinceSubscriptionStart")),
        focus=focus,
        resources=resources,
    )


def receive(
    store: Store,
    actor: Actor,
    bundle: Any,
    options: SyncOptions,
    source: Callable[[], Source | None] = lambda: None,
) -> Received:
    """Act on one notification Bundle. `source` builds the pull connector when an
    id-only notification needs it (None: no server configured)."""
    note = read_notification(bundle)
    synced: SyncResult | None = None
    content = "none"
    if note.kind == "event-notification":
        if note.resources:
            content = "full-resource"
            synced = ingest(store, actor, note.resources, options)
        elif note.focus:
            content = "id-only"
            server = source()
            if server is None:
                msg = (
                    "an id-only notification needs the EHR's server to read the resources "
                    "from: configure [pull] server in practice.toml"
                )
                raise SourceError(msg)
            synced = pull_named(store, actor, server, note.focus, options)
        else:
            content = "empty"
    seen = store.run(
        actor,
        lambda space: space.pull.saw(
            note.subscription, note.topic, note.kind, note.events_since_start
        ),
    )
    return Received(seen, content, synced)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int | None:
    """eventsSinceSubscriptionStart: a string in R4B and R5 JSON (integer64), or a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
