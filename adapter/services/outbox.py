"""The outbox as a person sees it: `substreg outbox list | show ID | retry ID | resend ID`.

`show` opens the register's receipt and reason (they may quote a code), so it is audited.
`retry` puts a failed batch back, the same bytes under the same id. `resend` seals the
batch's reports again as a new batch: only when the first one is known not to have
reached the register (a failed batch never delivered, or a file or letter without receipt
that was lost), never for one acknowledged or refused; it is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapter.errors import OutboxError
from adapter.services.submit import (
    Sealing,
    inventories_waiting,
    payload_of,
    seal_batch,
    sealing_keys,
)
from adapter.store.audit import Actor
from adapter.store.outbox import BatchReport, OutboxBatch
from adapter.store.workspace import Store, Workspace, require_audit_log


@dataclass(frozen=True, slots=True)
class ShownBatch:
    batch: OutboxBatch
    reports: list[tuple[BatchReport, str]]  # each with its ledger state now
    receipt: bytes | None  # the register's receipt document, byte for byte
    reason: str | None  # the register's reason for refusing the batch as a whole


def list_batches(store: Store, actor: Actor, *, state: str | None = None) -> list[OutboxBatch]:
    def read(space: Workspace) -> list[OutboxBatch]:
        require_audit_log(space.audit.rows)
        return space.outbox.listed([state] if state else None)

    return store.read(read)  # writes nothing: no writer's lock (D-176)


def show_batch(store: Store, actor: Actor, batch_id: str) -> ShownBatch:
    """One batch with its reports, and what the register answered (audited when opened)."""

    def read(space: Workspace) -> ShownBatch:
        shown = _shown(space, batch_id)
        if shown.receipt is not None or shown.reason is not None:
            space.audit.append(actor, "outbox.show", details={"batch_id": batch_id})
        return shown

    return store.run(actor, read)


def _shown(space: Workspace, batch_id: str) -> ShownBatch:
    batch = space.outbox.get(batch_id)
    reports = [
        (item, space.ledger.entry(item.ledger_id).state) for item in space.outbox.reports(batch_id)
    ]
    return ShownBatch(batch, reports, space.outbox.receipt(batch), space.outbox.reason(batch))


def retry_batch(store: Store, actor: Actor, batch_id: str) -> OutboxBatch:
    """A failed batch back to sealed, due now: the same bytes, the same id (audited)."""

    def work(space: Workspace) -> OutboxBatch:
        batch = space.outbox.retry(batch_id)
        space.audit.append(actor, "outbox.retry", details={"batch_id": batch_id})
        return batch

    return store.run(actor, work)


def resend_problem(batch: OutboxBatch) -> str | None:
    """Why the batch's reports must not be sealed again as a new batch, or None."""
    reached = batch.sent_at is not None
    refusals = (
        (batch.replaced_by is not None, f"its reports were sealed again as {batch.replaced_by}"),
        (batch.state == "acknowledged", "the register acknowledged it: it is never sent again"),
        (
            batch.state in ("sealed", "sending"),
            f"it is {batch.state}: it has not failed, let the worker deliver it",
        ),
        (
            reached and batch.state == "failed",
            "it reached the register, whose receipt is missing: resending would report its "
            "reports twice; ask for the receipt again with `substreg outbox retry "
            f"{batch.batch_id}`",
        ),
        (
            batch.next_attempt_at is not None,
            "it reached the register, whose receipt is asked for again: wait for it",
        ),
    )
    return next((why for refused, why in refusals if refused), None)


def plan_resend(store: Store, actor: Actor, batch_id: str) -> ShownBatch:
    """What `resend` would seal again; OutboxError when it may not be resent."""

    def read(space: Workspace) -> ShownBatch:
        shown = _shown(space, batch_id)
        _refuse_resend(space, shown.batch)
        return shown

    return store.run(actor, read)


def resend(store: Store, actor: Actor, batch_id: str, sealing: Sealing) -> OutboxBatch:
    """Seal the batch's reports again as a new batch (new id, new envelope), due now; the
    old batch is marked replaced and never claimed again (one transaction, audited)."""

    def work(space: Workspace) -> OutboxBatch:
        old = space.outbox.get(batch_id)
        _refuse_resend(space, old)
        keys = sealing_keys(sealing, space.now)
        ledger_ids = [item.ledger_id for item in space.outbox.reports(batch_id)]
        new = seal_batch(
            space,
            actor,
            keys=keys,
            transport=sealing.transport,
            doctor_btm=old.doctor_btm,
            reports=[payload_of(space, ledger_id) for ledger_id in ledger_ids],
            ledger_ids=ledger_ids,
            replaces=batch_id,
        )
        space.outbox.mark_replaced(old, new.batch_id)
        details = {"batch_id": batch_id, "new_batch_id": new.batch_id, "state": old.state}
        space.audit.append(actor, "outbox.resend", details=details)
        return new

    return store.run(actor, work)


def _refuse_resend(space: Workspace, batch: OutboxBatch) -> None:
    problem = (
        resend_problem(batch) or _reports_moved_on(space, batch) or _inventory_waits(space, batch)
    )
    if problem is not None:
        msg = f"The batch {batch.batch_id} is not sealed again: {problem}."
        raise OutboxError(msg)


def _reports_moved_on(space: Workspace, batch: OutboxBatch) -> str | None:
    """A batch refused as a whole is sealed anew only when the refusal answered its first
    attempt and every report of it is still queued: nothing the register may hold is ever
    sent twice (D-151)."""
    if batch.state != "rejected":
        return None
    if batch.attempts > 0:  # an earlier attempt failed after handing it over, perhaps
        return (
            "an earlier attempt of it may have reached the register (its answer was lost), "
            "so its reports are never sealed anew: ask the register whether it holds them"
        )
    states = {space.ledger.entry(i.ledger_id).state for i in space.outbox.reports(batch.batch_id)}
    if states <= {"queued"}:
        return None
    return "some of its reports are no longer queued (" + ", ".join(sorted(states)) + ")"


def _inventory_waits(space: Workspace, batch: OutboxBatch) -> str | None:
    """D-196 holds for a batch sealed anew as for one sealed first: an inventory report of
    it goes only after the single reports of its patient up to its key date were sent
    (one recorded since it was sealed, or put back, would be refused as a second one)."""
    entries = [space.ledger.entry(item.ledger_id) for item in space.outbox.reports(batch.batch_id)]
    waiting = inventories_waiting(space, entries)
    if not waiting:
        return None
    held = "; ".join(f"{inv} waits for {', '.join(ids)}" for inv, ids in sorted(waiting.items()))
    return (
        f"its Inventur-Meldung goes to the register only after the reports it confirms were "
        f"sent, and they are not yet (D-196): {held}; approve and `substreg submit` those "
        "first, then resend"
    )
