"""What `outbox list` and `outbox show` print of a batch's times: the delivery the transport
saw through, apart from the failed attempts before it and the register's own date (D-185)."""

from __future__ import annotations

from datetime import UTC, datetime

from adapter.cli.output_outbox import batches_text, shown_text
from adapter.services.outbox import ShownBatch
from adapter.store.outbox import OutboxBatch

CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DELIVERED = datetime(2026, 12, 1, 11, 30, tzinfo=UTC)  # the third attempt, answered
RECEIVED = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)  # the register took the first one


def _batch() -> OutboxBatch:
    return OutboxBatch(
        batch_id="b-1234567-20261201T090000Z-ab12",
        doctor_btm="1234567",
        transport="http",
        state="acknowledged",
        envelope_sha256="00" * 32,
        report_count=3,
        attempts=2,
        next_attempt_at=None,
        claimed_by=None,
        lease_until=None,
        last_error=None,
        proof="https://register.example/submissions",
        receipt_sha256="11" * 32,
        received_at=RECEIVED,
        replaces=None,
        replaced_by=None,
        created_at=CREATED,
        sent_at=DELIVERED,
        acknowledged_at=DELIVERED,
        updated_at=DELIVERED,
        has_reason=False,
    )


def test_the_list_names_the_delivery_and_the_failed_attempts_for_what_they_are() -> None:
    """No column is called "sent": the time is the delivery seen through, next to the
    number of failed attempts before it and the receipt's own date."""
    header, row = batches_text([_batch()]).splitlines()
    assert "sent" not in header.split()
    assert header.split()[-3:] == ["next", "delivered", "receipt"]
    assert "failed" in header.split()
    assert "2026-12-01 11:30:00Z" in row and "2026-12-01 09:05:00Z" in row


def test_show_says_which_attempt_the_delivery_time_is() -> None:
    """`outbox show` says the delivery came after two failed attempts and that the receipt's
    date is the register's."""
    text = shown_text(ShownBatch(_batch(), [], None, None))
    assert (
        "delivered 2026-12-01 11:30:00Z (the attempt the transport saw through, after 2 "
        "failed attempt(s)); the register's receipt dated 2026-12-01 09:05:00Z"
    ) in " ".join(text.split())
