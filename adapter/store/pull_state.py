"""What the pull connector and the notification endpoint keep (issue 13): per FHIR server
and resource type the checkpoint a pull resumes from, and per EHR subscription when it was
last heard of. Neither holds personal data: a server's base URL, a type name, a
`meta.lastUpdated` instant, a Subscription's reference and topic, counts and times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapter.store.rows import PullRows, Row


@dataclass(frozen=True, slots=True)
class SubscriptionSeen:
    subscription: str
    topic: str | None
    last_type: str  # handshake, heartbeat, event-notification, query-status
    events_since_start: int | None
    notifications: int
    last_seen_at: datetime


class PullState:
    def __init__(self, rows: PullRows, now: datetime) -> None:
        self.rows = rows
        self.now = now

    def checkpoints(self, server: str) -> dict[str, str]:
        """Resource type → the instant up to which everything of that type was synced."""
        return self.rows.checkpoints(server)

    def advance(self, server: str, resource_type: str, last_updated: str) -> None:
        """Keep `last_updated` as the type's checkpoint: called once the resources up to
        it were synced, never before (a crash in between re-reads them, harmlessly)."""
        self.rows.put_checkpoint(server, resource_type, last_updated, self.now)

    def forget(self, server: str) -> int:
        """Drop the server's checkpoints (the next pull reads everything again)."""
        return self.rows.drop_checkpoints(server)

    def saw(
        self, subscription: str, topic: str | None, kind: str, events_since_start: int | None
    ) -> SubscriptionSeen:
        """Note a notification of `subscription`; what is now kept of it."""
        before = self.rows.subscription(subscription)
        row = {
            "subscription": subscription,
            "topic": topic if topic is not None else (before or {}).get("topic"),
            "last_type": kind,
            "events_since_start": events_since_start,
            "notifications": (before["notifications"] if before else 0) + 1,
            "last_seen_at": self.now,
        }
        self.rows.put_subscription(row)
        return _seen(row)

    def subscriptions(self) -> list[SubscriptionSeen]:
        return [_seen(row) for row in self.rows.subscriptions()]


def _seen(row: Row) -> SubscriptionSeen:
    return SubscriptionSeen(
        subscription=row["subscription"],
        topic=row["topic"],
        last_type=row["last_type"],
        events_since_start=row["events_since_start"],
        notifications=row["notifications"],
        last_seen_at=row["last_seen_at"],
    )
