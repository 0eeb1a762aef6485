"""The outbox worker on the twin, with a register and a transport in memory: what each
answer does to the batch and its reports, and that every retry hands over the same bytes
under the same batch id."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from adapter.errors import OutboxError
from adapter.services.outbox import plan_resend, resend, retry_batch, show_batch
from adapter.services.submit import Sealing, submit
from adapter.services.worker import Delivery, claim, deliver, deliver_due
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR, NOW
from tests.submission.fakes import FakeRegister, FakeTransport
from tests.submission.pki import SubmissionPki
from tests.submission.seeding import approved, notes, report, states
from tests.submission.setup import POLICY, delivery_for, sealing_for
from tests.usecases.conftest import Clock

LATER = timedelta(hours=2)  # past every wait of POLICY and every lease


@pytest.fixture
def sealing(submission_pki: SubmissionPki, tmp_path: Path) -> Sealing:
    return sealing_for(submission_pki, tmp_path)


@pytest.fixture
def register(submission_pki: SubmissionPki) -> FakeRegister:
    return FakeRegister(submission_pki.register_key())


def _one_batch(store: Store, sealing: Sealing, count: int = 3) -> tuple[str, list[str]]:
    """`count` approved reports of one doctor, sealed: the batch id and the ledger ids."""
    ids = approved(store, count, doctors=("1234567",))
    (batch,) = submit(store, ACTOR, sealing).batches
    return batch.batch_id, ids


def _delivery(pki: SubmissionPki, transport: FakeTransport, **kwargs: object) -> Delivery:
    return delivery_for(pki, transport, **kwargs)  # type: ignore[arg-type]


def _batch(store: Store, batch_id: str):  # type: ignore[no-untyped-def]
    return store.run(ACTOR, lambda space: space.outbox.get(batch_id))


def _audit(store: Store) -> list[str]:
    def read(space: Workspace) -> list[str]:
        return [str(e["action"]) for e in space.audit.rows.entries()]

    return store.run(ACTOR, read)


def test_a_receipt_that_verifies_is_kept_byte_for_byte_and_acknowledges_the_reports(
    twin: Store, submission_pki: SubmissionPki, sealing: Sealing, register: FakeRegister
) -> None:
    """http-like: the register's signed receipt is verified, stored as received, every
    report moves queued → sent → acknowledged, and the results are kept per report."""
    batch_id, ids = _one_batch(twin, sealing)
    transport = FakeTransport(register)
    (outcome,) = deliver_due(twin, ACTOR, _delivery(submission_pki, transport))
    assert (outcome.batch_id, outcome.state, outcome.findings) == (batch_id, "acknowledged", ())
    assert set(states(twin).values()) == {"acknowledged"}
    shown = show_batch(twin, ACTOR, batch_id)
    assert shown.receipt == register.receipts[batch_id]
    assert shown.batch.receipt_sha256 == hashlib.sha256(shown.receipt).hexdigest()
    assert shown.batch.received_at == NOW and shown.batch.acknowledged_at == NOW
    assert [(r.ledger_id, r.result, s) for r, s in shown.reports] == [
        (i, "accepted", "acknowledged") for i in _in_order(twin, ids)
    ]
    assert "outbox.acknowledged" in _audit(twin) and "outbox.show" in _audit(twin)


def _in_order(store: Store, ids: list[str]) -> list[str]:
    return [i for i in states(store) if i in ids]


def test_a_report_the_register_rejects_carries_its_reason_the_others_are_acknowledged(
    twin: Store, submission_pki: SubmissionPki, sealing: Sealing, register: FakeRegister
) -> None:
    """A rejected result: that report is rejected with the register's reason as its note."""
    batch_id, ids = _one_batch(twin, sealing)
    register.rejected[report(1, "1234567").id] = "Code unleserlich"
    deliver_due(twin, ACTOR, _delivery(submission_pki, FakeTransport(register)))
    assert states(twin)[ids[1]] == "rejected"
    assert {states(twin)[i] for i in (ids[0], ids[2])} == {"acknowledged"}
    assert f"(batch {batch_id}): Code unleserlich" in str(notes(twin, [ids[1]])[ids[1]])


def test_a_report_missing_from_the_receipt_stays_sent_with_an_error_finding(
    twin: Store, submission_pki: SubmissionPki, sealing: Sealing, register: FakeRegister
) -> None:
    """The receipt says nothing of one report: it stays sent, noted, and an `error`
    finding names it; the batch is acknowledged (its receipt is kept)."""
    batch_id, ids = _one_batch(twin, sealing)
    register.silent.add(report(2, "1234567").id)
    (outcome,) = deliver_due(twin, ACTOR, _delivery(submission_pki, FakeTransport(register)))
    assert outcome.state == "acknowledged"
    (finding,) = outcome.findings
    assert (finding.severity, finding.rule, finding.sources) == ("error", "R-CH-2", (ids[2],))
    assert states(twin)[ids[2]] == "sent"
    assert "says nothing of this report" in str(notes(twin, [ids[2]])[ids[2]])
    results = {r.ledger_id: r.result for r, _ in show_batch(twin, ACTOR, batch_id).reports}
    assert results[ids[2]] == "missing"


def test_a_duplicate_notice_is_a_warning_that_repeats_no_code(
    twin: Store, submission_pki: SubmissionPki, sealing: Sealing, register: FakeRegister
) -> None:
    """004 §10: the notice becomes a warning (R-CODE-9) naming the report, not the code."""
    _, ids = _one_batch(twin, sealing)
    register.duplicates.add(report(0, "1234567").id)
    (outcome,) = deliver_due(twin, ACTOR, _delivery(submission_pki, FakeTransport(register)))
    (finding,) = outcome.findings
    assert (finding.severity, finding.rule, finding.sources) == ("warning", "R-CODE-9", (ids[0],))
    assert "HAMÜF" not in finding.message


def test_a_route_without_receipt_leaves_the_batch_sent_with_its_proof(
    twin: Store, submission_pki: SubmissionPki, sealing: Sealing
) -> None:
    """folder-like: delivered without receipt, the batch and its reports are `sent`, the
    delivery's proof kept; it is never claimed again."""
    batch_id, _ = _one_batch(twin, sealing)
    transport = FakeTransport()
    (outcome,) = deliver_due(twin, ACTOR, _delivery(submission_pki, transport))
    assert outcome.state == "sent"
    batch = _batch(twin, batch_id)
    assert (batch.sent_at, batch.proof, batch.next_attempt_at) == (NOW, f"fake:{batch_id}", None)
    assert set(states(twin).values()) == {"sent"}
    assert deliver_due(twin, ACTOR, _delivery(submission_pki, transport)) == []


def test_a_transient_failure_is_tried_again_later_with_the_same_bytes_and_id(
    twin: Store,
    submission_pki: SubmissionPki,
    sealing: Sealing,
    register: FakeRegister,
    clock: Clock,
) -> None:
    """503: attempts 1, the next attempt 30 s × (1 + 0.5 × 0.5) later, nothing moves; not
    due before then; then the same envelope under the same id is acknowledged."""
    batch_id, _ = _one_batch(twin, sealing)
    transport = FakeTransport(register, script=["transient"])
    delivery = _delivery(submission_pki, transport)
    (first,) = deliver_due(twin, ACTOR, delivery)
    assert (first.state, first.next_attempt_at) == ("sealed", NOW + timedelta(seconds=37.5))
    batch = _batch(twin, batch_id)
    assert (batch.attempts, batch.last_error) == (1, "transient: HTTP 503")
    assert set(states(twin).values()) == {"queued"}
    clock.now = NOW + timedelta(seconds=37)
    assert deliver_due(twin, ACTOR, delivery) == []
    clock.now = NOW + timedelta(seconds=38)
    assert [o.state for o in deliver_due(twin, ACTOR, delivery)] == ["acknowledged"]
    sent = transport.delivered(batch_id)
    assert len(sent) == 2 and sent[0].envelope == sent[1].envelope
    assert list(register.reports.values()) == [1, 1, 1]


def test_the_registers_retry_after_is_honoured(
    twin: Store, submission_pki: SubmissionPki, sealing: Sealing, register: FakeRegister
) -> None:
    """429 with Retry-After 600: the next attempt is no sooner than that."""
    _one_batch(twin, sealing)
    transport = FakeTransport(register, script=["transient"], retry_after=600)
    (outcome,) = deliver_due(twin, ACTOR, _delivery(submission_pki, transport))
    assert outcome.next_attempt_at == NOW + timedelta(seconds=600)


def test_attempts_used_up_fail_the_batch_until_a_person_retries_it(
    twin: Store,
    submission_pki: SubmissionPki,
    sealing: Sealing,
    register: FakeRegister,
    clock: Clock,
) -> None:
    """Four failed deliveries (POLICY.attempts): failed, never claimed again; `retry` puts
    it back (attempts afresh), and the same bytes go out."""
    batch_id, ids = _one_batch(twin, sealing)
    transport = FakeTransport(register, script=["transient"] * POLICY.attempts)
    delivery = _delivery(submission_pki, transport)
    seen = []
    for hour in range(POLICY.attempts + 1):
        clock.now = NOW + hour * LATER
        seen += [o.state for o in deliver_due(twin, ACTOR, delivery)]
        if hour < POLICY.attempts - 1:  # retried later: no report says anything yet
            assert not any(notes(twin, ids).values())
    assert seen == ["sealed", "sealed", "sealed", "failed"]
    # Given up on: every report says so, why, and what to do (`reports show` as `outbox show`).
    for note in notes(twin, ids).values():
        assert f"Not delivered with batch {batch_id} (" in str(note)
        assert f"substreg outbox retry {batch_id}" in str(note)
    assert _batch(twin, batch_id).attempts == POLICY.attempts
    assert "outbox.failed" in _audit(twin)
    retried = retry_batch(twin, ACTOR, batch_id)
    assert (retried.state, retried.attempts) == ("sealed", 0)
    assert [o.state for o in deliver_due(twin, ACTOR, delivery)] == ["acknowledged"]
    assert len({p.envelope for p in transport.delivered(batch_id)}) == 1
    with pytest.raises(OutboxError, match="it is acknowledged"):
        retry_batch(twin, ACTOR, batch_id)
    for note in notes(twin, ids).values():  # the way on is done: the note says so last
        assert str(note).splitlines()[-1] == (
            f"Batch {batch_id} acknowledged by the register: done, nothing above is left to do."
        )


def test_a_refusal_as_a_whole_keeps_the_reports_queued_with_the_reason_and_they_go_anew(
    twin: Store,
    submission_pki: SubmissionPki,
    sealing: Sealing,
    register: FakeRegister,
) -> None:
    """422 for the whole batch (a renewed signer key, a new register certificate): the
    batch is rejected with its reason sealed on it; the register took none of its reports,
    so they stay queued with the reason and the way on, are not tried again with the same
    bytes, and `outbox resend` seals them anew, delivered once (D-151)."""
    batch_id, ids = _one_batch(twin, sealing)
    transport = FakeTransport(register, script=["permanent"])
    delivery = _delivery(submission_pki, transport)
    (outcome,) = deliver_due(twin, ACTOR, delivery)
    assert outcome.state == "rejected"
    assert set(states(twin).values()) == {"queued"}
    reason = "422: Meldung 1 unvollständig (Code HAMÜF284)"
    for note in notes(twin, ids).values():
        assert reason in str(note) and f"substreg outbox resend {batch_id}" in str(note)
    shown = show_batch(twin, ACTOR, batch_id)
    assert shown.reason == reason and "HAMÜF" not in str(shown.batch.last_error)
    assert deliver_due(twin, ACTOR, delivery) == []  # never the same bytes again
    with pytest.raises(OutboxError):
        retry_batch(twin, ACTOR, batch_id)
    new = resend(twin, ACTOR, batch_id, sealing)
    assert [o.state for o in deliver_due(twin, ACTOR, delivery)] == ["acknowledged"]
    assert set(states(twin).values()) == {"acknowledged"}
    assert list(register.registered) == [new.batch_id]
    assert sorted(register.reports.values()) == [1, 1, 1]  # each report registered once
    for note in notes(twin, ids).values():  # the refusal stays, closed by the delivery
        first, last = str(note).splitlines()
        assert first.startswith("Refused by the register as a whole") and last == (
            f"Batch {new.batch_id} acknowledged by the register: done, nothing above is left to do."
        )


@pytest.mark.parametrize(
    ("words", "sentence"),
    [
        (
            "HTTP 400: The envelope is signed with a certificate (sha256 ab12) other than the "
            "one first seen for BtM number 1234567 (sha256 cd34); the simulator trusts a "
            "sender's first certificate only.",
            "the simulator trusts a sender's first certificate only. Once the cause is mended",
        ),
        (
            "HTTP 422: The Idempotency-Key is not the id of the batch in the envelope.",
            "not the id of the batch in the envelope. Once the cause is mended",
        ),
        (
            "HTTP 400: Idempotency-Key missing",
            "HTTP 400: Idempotency-Key missing. Once the cause is mended",
        ),
        ("Abgelehnt!", "Abgelehnt! Once the cause is mended"),
    ],
    ids=["period", "period-422", "no-period", "exclamation"],
)
def test_a_refusal_note_is_one_sentence_per_part_whatever_the_registers_words_end_with(
    twin: Store,
    submission_pki: SubmissionPki,
    sealing: Sealing,
    register: FakeRegister,
    *,
    words: str,
    sentence: str,
) -> None:
    """The simulator's refusal words, with or without their own full stop: the note ends
    each sentence once (no `..`) and the way on starts with a capital letter."""
    batch_id, ids = _one_batch(twin, sealing, count=1)
    transport = FakeTransport(register, script=["permanent"], refusal=words)
    deliver_due(twin, ACTOR, _delivery(submission_pki, transport))
    (note,) = notes(twin, ids).values()
    assert sentence in str(note) and ".." not in str(note)
    assert str(note).endswith(f"`substreg outbox resend {batch_id}` seals them anew.")


def test_a_refused_batch_that_had_reached_the_register_is_not_sealed_again(
    twin: Store,
    submission_pki: SubmissionPki,
    sealing: Sealing,
    register: FakeRegister,
    clock: Clock,
) -> None:
    """A first attempt reached the register but its answer was lost; a later one was
    refused as a whole: the register may hold the reports, so they are never sealed anew
    (nothing twice), and the note and the refusal say why (D-151)."""
    batch_id, ids = _one_batch(twin, sealing)
    delivery = _delivery(submission_pki, FakeTransport(register, script=["lost", "permanent"]))
    deliver_due(twin, ACTOR, delivery)
    clock.now = NOW + LATER
    (outcome,) = deliver_due(twin, ACTOR, delivery)
    assert outcome.state == "rejected"
    assert set(states(twin).values()) == {"queued"}
    for note in notes(twin, ids).values():
        assert "ask the register whether it holds them" in str(note)
        assert "outbox resend" not in str(note)
    with pytest.raises(OutboxError, match="an earlier attempt of it may have reached"):
        plan_resend(twin, ACTOR, batch_id)
    with pytest.raises(OutboxError, match="an earlier attempt of it may have reached"):
        resend(twin, ACTOR, batch_id, sealing)
    assert len(register.registered) == 1  # the one the lost answer belonged to


def test_a_receipt_that_does_not_verify_is_not_kept_and_is_asked_for_again(
    twin: Store,
    submission_pki: SubmissionPki,
    sealing: Sealing,
    register: FakeRegister,
    clock: Clock,
) -> None:
    """A forged signature: nothing of the receipt is stored, the batch and its reports are
    sent, the receipt is asked for again by the schedule under the same id and bytes; the
    register registered the batch once."""
    batch_id, _ = _one_batch(twin, sealing)
    transport = FakeTransport(register, script=["forged"])
    delivery = _delivery(submission_pki, transport)
    (first,) = deliver_due(twin, ACTOR, delivery)
    assert first.state == "sent" and first.next_attempt_at is not None
    batch = _batch(twin, batch_id)
    assert batch.receipt_sha256 is None and str(batch.last_error).startswith("receipt: ")
    assert set(states(twin).values()) == {"sent"}
    clock.now = NOW + LATER
    assert [o.state for o in deliver_due(twin, ACTOR, delivery)] == ["acknowledged"]
    assert len({p.envelope for p in transport.delivered(batch_id)}) == 1
    assert list(register.reports.values()) == [1, 1, 1]


def test_a_worker_whose_lease_ran_out_records_nothing(
    twin: Store,
    submission_pki: SubmissionPki,
    sealing: Sealing,
    register: FakeRegister,
    clock: Clock,
) -> None:
    """A slow worker's lease ends and another worker delivers the batch: the slow one's
    outcome is dropped ("lost"), the register holds the batch once."""
    batch_id, _ = _one_batch(twin, sealing)
    transport = FakeTransport(register)
    slow = _delivery(submission_pki, transport, worker="slow")
    held = claim(twin, ACTOR, slow, due_by=NOW)
    assert held is not None
    clock.now = NOW + LATER
    assert [o.state for o in deliver_due(twin, ACTOR, _delivery(submission_pki, transport))] == [
        "acknowledged"
    ]
    late = deliver(twin, ACTOR, slow, held)
    assert late.state == "lost"
    assert _batch(twin, batch_id).state == "acknowledged"
    assert len(register.registered) == 1 and list(register.reports.values()) == [1, 1, 1]


def test_a_failed_batch_never_delivered_can_be_resent_as_a_new_one(
    twin: Store,
    submission_pki: SubmissionPki,
    sealing: Sealing,
    register: FakeRegister,
    clock: Clock,
) -> None:
    """`resend`: a new batch id and envelope for the same reports, the old batch replaced
    (not retried, not resent again); acknowledged batches are never resent."""
    batch_id, ids = _one_batch(twin, sealing)
    transport = FakeTransport(register, script=["transient"] * POLICY.attempts)
    delivery = _delivery(submission_pki, transport)
    for hour in range(POLICY.attempts):
        clock.now = NOW + hour * LATER
        deliver_due(twin, ACTOR, delivery)
    assert _batch(twin, batch_id).state == "failed"
    plan = plan_resend(twin, ACTOR, batch_id)
    assert [r.ledger_id for r, _ in plan.reports] == _in_order(twin, ids)
    new = resend(twin, ACTOR, batch_id, sealing)
    assert new.batch_id != batch_id and new.replaces == batch_id
    assert _batch(twin, batch_id).replaced_by == new.batch_id
    with pytest.raises(OutboxError, match=f"sealed again as {new.batch_id}"):
        retry_batch(twin, ACTOR, batch_id)
    assert [o.batch_id for o in deliver_due(twin, ACTOR, delivery)] == [new.batch_id]
    assert set(states(twin).values()) == {"acknowledged"}
    with pytest.raises(OutboxError, match="acknowledged it: it is never sent again"):
        plan_resend(twin, ACTOR, new.batch_id)
    assert "outbox.resend" in _audit(twin)


def test_a_batch_that_reached_the_register_is_not_resent(
    twin: Store, submission_pki: SubmissionPki, sealing: Sealing, register: FakeRegister
) -> None:
    """A batch whose receipt did not verify reached the register: a resend would report
    its reports twice, so it is refused while the receipt is asked for again."""
    batch_id, _ = _one_batch(twin, sealing)
    deliver_due(twin, ACTOR, _delivery(submission_pki, FakeTransport(register, script=["forged"])))
    with pytest.raises(OutboxError, match="receipt is asked for again"):
        resend(twin, ACTOR, batch_id, sealing)


def test_an_envelope_changed_in_the_database_fails_its_batch_unsent(
    twin: Store, submission_pki: SubmissionPki, sealing: Sealing
) -> None:
    """Stored bytes that fail their SHA-256 are never handed over: the batch fails, saying
    why, and nothing reaches the transport."""
    batch_id, _ = _one_batch(twin, sealing)
    twin.database.tables["outbox_batch"][batch_id]["envelope"] = b"changed"  # type: ignore[attr-defined]
    transport = FakeTransport()
    (outcome,) = deliver_due(twin, ACTOR, _delivery(submission_pki, transport))
    assert outcome.state == "failed" and transport.parcels == []
    assert "does not match its SHA-256" in str(_batch(twin, batch_id).last_error)
