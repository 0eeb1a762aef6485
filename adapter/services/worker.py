"""The outbox worker (docs/SUBMISSION.md "The path of a report", steps 2 and 3): claim a
due batch, hand its stored bytes to the transport, record what came back.

    claim       a short transaction without the writer's lock (parallel workers on
                PostgreSQL: FOR UPDATE SKIP LOCKED); the batch is rebuilt from the ledger's
                sealed payloads for the transport (the paper form prints it)
    deliver     outside any transaction: the same bytes under the same batch id, always
    record      one transaction, only while the worker still holds the batch:
                Delivered without receipt      → sent (folder, paper)
                Delivered with a receipt       → verified against the pinned register
                                                 certificate, stored, each report
                                                 acknowledged or rejected (read_receipt)
                a receipt that does not verify → not stored; sent, asked again later
                TransientTransportError        → tried again by the schedule, then failed
                PermanentTransportError        → rejected, the reason on every report

A crash between any two steps leaves the batch sealed (not yet claimed), sending (its
lease ends and another worker claims it) or recorded: the next run hands over the same
bytes under the same id, which the register and the folder take once.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapter.crypto.envelope import Certificate
from adapter.crypto.envelope.receipt import verify_receipt
from adapter.domain.batch import Batch
from adapter.domain.submission import Item, RetryPolicy, read_receipt
from adapter.errors import (
    BatchError,
    CryptoError,
    PermanentTransportError,
    StoreError,
    SubstregError,
    TransportError,
)
from adapter.services.worker_record import Outcome, Verdict, record
from adapter.store.audit import Actor
from adapter.store.outbox import Claimed
from adapter.store.workspace import Store, Workspace
from adapter.transport.base import Parcel, Transport


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a worker works with: built once by the composition root."""

    transport: Transport
    policy: RetryPolicy
    lease: timedelta
    worker: str  # this worker's name on the batches it holds
    register_certificate: Callable[[], Certificate]  # pinned; receipts are checked against it
    draw: Callable[[], float] = field(default=random.random)  # the backoff's jitter


@dataclass(frozen=True, slots=True)
class Held:
    """A claimed batch, and the parcel to hand over (None: `problem` says why not)."""

    claimed: Claimed
    parcel: Parcel | None
    problem: str | None = None


def deliver_due(
    store: Store,
    actor: Actor,
    delivery: Delivery,
    *,
    stop: Callable[[], bool] = lambda: False,
    seen: Callable[[Outcome], None] = lambda _: None,
) -> list[Outcome]:
    """Claim and deliver every batch due when the pass starts, one after the other, until
    none is left or `stop()` says so (a batch tried again later in the pass is not due);
    `seen` hears of each outcome as it comes."""
    due_by = store.clock()
    outcomes = []
    while not stop():
        held = claim(store, actor, delivery, due_by=due_by)
        if held is None:
            break
        outcomes.append(deliver(store, actor, delivery, held))
        seen(outcomes[-1])
    return outcomes


MIN_PAUSE = 0.1  # seconds: a worker never spins


def run_worker(
    store: Store,
    actor: Actor,
    delivery: Delivery,
    *,
    poll_seconds: float,
    stop: threading.Event,
    seen: Callable[[Outcome], None] = lambda _: None,
    after_pass: Callable[[list[Outcome]], None] = lambda _: None,
) -> int:
    """`submit --worker`: deliver what is due, then sleep until the next batch is due (a
    next attempt, a lease that ends), at most `poll_seconds`, until `stop` is set. The
    waiting is the schedule stored with each batch (adapter/domain/submission.py), so a
    worker that is stopped or killed loses none of it. `after_pass` hears each pass's
    outcomes (the CLI seals the inventory reports they freed, D-232: what it seals is due
    at once, so the next round delivers it). The number of outcomes."""
    count = 0
    while not stop.is_set():
        outcomes = deliver_due(store, actor, delivery, stop=stop.is_set, seen=seen)
        after_pass(outcomes)
        count += len(outcomes)
        due = store.read(lambda space: space.outbox.next_due())
        pause = poll_seconds if due is None else (due - store.clock()).total_seconds()
        stop.wait(min(poll_seconds, max(MIN_PAUSE, pause)))
    return count


def claim(store: Store, actor: Actor, delivery: Delivery, *, due_by: datetime) -> Held | None:
    """The oldest batch due by `due_by`, held for a lease, with its parcel."""

    def work(space: Workspace) -> Held | None:
        claimed = space.outbox.claim(delivery.worker, delivery.lease, due_by=due_by)
        if claimed is None:
            return None
        if claimed.envelope is None:
            return Held(claimed, None, claimed.problem)
        try:
            batch = _rebuilt(space, claimed)
        except (StoreError, CryptoError, BatchError) as exc:
            problem = f"the batch cannot be rebuilt from the ledger ({exc})"
            return Held(claimed, None, problem)
        return Held(claimed, Parcel(claimed.batch.batch_id, claimed.envelope, batch))

    return store.run(actor, work, exclusive=False)


def _rebuilt(space: Workspace, claimed: Claimed) -> Batch:
    """The batch as it was sealed: the same payloads in the same order, the same time."""
    reports = []
    for item in claimed.reports:
        entry = space.ledger.entry(item.ledger_id)
        reports.append(space.ledger.payload(entry))
    b = claimed.batch
    return Batch(b.batch_id, b.doctor_btm, b.created_at, tuple(reports))


def deliver(store: Store, actor: Actor, delivery: Delivery, held: Held) -> Outcome:
    """Hand the held batch to the transport and record what came back."""
    claimed, policy = held.claimed, delivery.policy
    if held.parcel is None:
        return record(store, actor, claimed, Verdict("failed", error=held.problem), policy)
    try:
        delivered = delivery.transport.deliver(held.parcel)
    except PermanentTransportError as exc:
        return record(store, actor, claimed, Verdict("rejected", reason=exc.reason), policy)
    except TransportError as exc:  # transient, or a transport's error of no kind: again
        verdict = Verdict(
            "again",
            error=_error("transient", exc),
            retry_after=getattr(exc, "retry_after", None),
            draw=delivery.draw(),
        )
        return record(store, actor, claimed, verdict, policy)
    if delivered.receipt is None:
        return record(store, actor, claimed, Verdict("sent", delivered=delivered), policy)
    try:
        receipt = verify_receipt(
            delivered.receipt,
            delivery.register_certificate(),
            batch_id=held.parcel.batch_id,
            envelope=held.parcel.envelope,
        )
    except SubstregError as exc:  # not the register's, not this batch's, no certificate
        error = _error("receipt", exc)
        verdict = Verdict("again", error=error, delivered=delivered, draw=delivery.draw())
        return record(store, actor, claimed, verdict, policy)
    items = [Item(i.ledger_id, i.report_id) for i in claimed.reports]
    reading = read_receipt(receipt, claimed.batch.batch_id, items)
    verdict = Verdict("acknowledged", delivered=delivered, receipt=receipt, reading=reading)
    return record(store, actor, claimed, verdict, policy)


def _error(kind: str, exc: SubstregError) -> str:
    """What is kept of a failure: its kind and its one line (a transport's message names
    no code and no person, Transport's contract; the register's own words are not kept
    here but sealed)."""
    return f"{kind}: {' '.join(str(exc).split())}"[:500]
