"""The pull rows' contract (`PullRows`) and the pull state on it, on every backend:
checkpoints by (server, resource type), subscriptions last seen (issue 13)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapter.store.pull_state import PullState
from adapter.store.workspace import Database
from tests.storage import NOW

LATER = NOW + timedelta(hours=1)
EHR = "https://ehr.example/fhir"
OTHER = "https://hospital.example/r4"


def test_checkpoints_are_kept_per_server_and_type(backend_db: Database) -> None:
    """Each (server, type) holds the value last put; another server's are apart."""
    with backend_db.transaction() as rows:
        assert rows.pull.checkpoints(EHR) == {}
        rows.pull.put_checkpoint(EHR, "Patient", "2025-01-01T00:00:00Z", NOW)
        rows.pull.put_checkpoint(EHR, "MedicationAdministration", "2025-02-01T10:00:00+01:00", NOW)
        rows.pull.put_checkpoint(OTHER, "Patient", "2024-12-31T23:59:59.123Z", NOW)
    with backend_db.transaction() as rows:
        rows.pull.put_checkpoint(EHR, "Patient", "2025-03-01T00:00:00.5Z", LATER)
    with backend_db.transaction(write=False) as rows:
        assert rows.pull.checkpoints(EHR) == {
            "Patient": "2025-03-01T00:00:00.5Z",
            "MedicationAdministration": "2025-02-01T10:00:00+01:00",
        }
        assert rows.pull.checkpoints(OTHER) == {"Patient": "2024-12-31T23:59:59.123Z"}


def test_a_servers_checkpoints_are_dropped_alone(backend_db: Database) -> None:
    with backend_db.transaction() as rows:
        rows.pull.put_checkpoint(EHR, "Patient", "2025-01-01T00:00:00Z", NOW)
        rows.pull.put_checkpoint(EHR, "Medication", "2025-01-01T00:00:00Z", NOW)
        rows.pull.put_checkpoint(OTHER, "Patient", "2025-01-01T00:00:00Z", NOW)
    with backend_db.transaction() as rows:
        assert rows.pull.drop_checkpoints(EHR) == 2
        assert rows.pull.drop_checkpoints(EHR) == 0
    with backend_db.transaction(write=False) as rows:
        assert rows.pull.checkpoints(EHR) == {}
        assert rows.pull.checkpoints(OTHER) == {"Patient": "2025-01-01T00:00:00Z"}


def test_a_failed_transaction_keeps_the_checkpoint_it_had(backend_db: Database) -> None:
    """A checkpoint advanced in a transaction that fails is not advanced: the pages after
    the old one are read again."""
    with backend_db.transaction() as rows:
        rows.pull.put_checkpoint(EHR, "Patient", "2025-01-01T00:00:00Z", NOW)
    with pytest.raises(RuntimeError), backend_db.transaction() as rows:
        rows.pull.put_checkpoint(EHR, "Patient", "2025-06-01T00:00:00Z", LATER)
        raise RuntimeError("the sync of the page failed")
    with backend_db.transaction(write=False) as rows:
        assert rows.pull.checkpoints(EHR) == {"Patient": "2025-01-01T00:00:00Z"}


def test_subscriptions_are_counted_and_keep_their_topic(backend_db: Database) -> None:
    """`saw` keeps the last type, the event count and the time, counts the
    notifications, and keeps the topic a later notification leaves out."""
    sub = f"{EHR}/Subscription/admin-meds"
    topic = "http://example.org/topics/medication-administered"
    with backend_db.transaction() as rows:
        assert PullState(rows.pull, NOW).saw(sub, topic, "handshake", 0).notifications == 1
    with backend_db.transaction() as rows:
        seen = PullState(rows.pull, LATER).saw(sub, None, "event-notification", 3)
    assert (seen.topic, seen.last_type, seen.events_since_start) == (topic, "event-notification", 3)
    assert (seen.notifications, seen.last_seen_at) == (2, LATER)
    with backend_db.transaction(write=False) as rows:
        listed = PullState(rows.pull, LATER).subscriptions()
        assert listed == [seen]
        assert rows.pull.subscription(f"{EHR}/Subscription/other") is None
