"""What a worker records after a delivery: the batch's new state and its reports' moves,
in one transaction, only while the worker still holds the batch (adapter/services/worker.py).

Every outcome is audited (`outbox.sent`, `outbox.acknowledged`, `outbox.retry_later`,
`outbox.failed`, `outbox.rejected`) with ids and counts; the register's words are sealed:
on the batch (its reason, its receipt) and on each report it concerns (the note).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapter.domain.ledger import State
from adapter.domain.model import Finding
from adapter.domain.receipt import Receipt
from adapter.domain.submission import Reading, RetryPolicy, ledger_path, next_attempt
from adapter.store.audit import Actor
from adapter.store.outbox import BatchReport, Claimed
from adapter.store.workspace import Store, Workspace
from adapter.transport.base import Delivered

_RESULT = {"acknowledged": "accepted", "rejected": "rejected", "missing": "missing"}
# Where a report is delivered: an earlier way on in its note is done (a closing line).
_DELIVERED: frozenset[State] = frozenset({"sent", "acknowledged"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What came back of one delivery, before it is recorded.

    kind: `sent` (delivered, no receipt), `acknowledged` (a verified receipt), `again`
    (a transient failure, or a receipt that did not verify: `delivered` then says the
    batch reached the other side), `rejected` (refused as a whole, `reason`), `failed`
    (the batch cannot be handed over at all, `error`)."""

    kind: str
    error: str | None = None
    reason: str | None = None
    delivered: Delivered | None = None
    receipt: Receipt | None = None
    reading: Reading | None = None
    retry_after: float | None = None
    draw: float = 0.0  # the jitter's random number in [0, 1)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one batch in a worker's pass, for the person watching."""

    batch_id: str
    state: str  # the batch's state now; "lost": another worker took it meanwhile
    reports: int
    note: str
    findings: tuple[Finding, ...] = ()
    next_attempt_at: datetime | None = None


def record(
    store: Store, actor: Actor, claimed: Claimed, verdict: Verdict, policy: RetryPolicy
) -> Outcome:
    """Record the verdict on the claimed batch and its reports (one transaction)."""
    return store.run(actor, lambda space: _record(space, actor, claimed, verdict, policy))


def _record(
    space: Workspace, actor: Actor, claimed: Claimed, verdict: Verdict, policy: RetryPolicy
) -> Outcome:
    batch = claimed.batch
    state, values, target = _batch_change(space, claimed, verdict, policy)
    if not space.outbox.record(batch, state, **values):
        note = "another worker holds it now (this worker's lease ended); its outcome stands"
        return Outcome(batch.batch_id, "lost", batch.report_count, note)
    notes: dict[str, str] = {}
    if verdict.reading is not None:
        positions = {i.ledger_id: i.position for i in claimed.reports}
        space.outbox.set_results(
            batch.batch_id,
            {positions[i]: _RESULT[o] for i, (o, _) in verdict.reading.outcomes.items()},
        )
    stuck = _move_reports(space, claimed, verdict, target, notes)
    if state == "failed":  # the reports stay where they are: say why on each of them
        _note_failure(space, claimed, values.get("last_error") or verdict.error or "")
    elif state == "rejected":
        _note_refusal(space, claimed, verdict.reason or "")
    details: dict[str, Any] = {"batch_id": batch.batch_id, "reports": batch.report_count}
    details |= _counts(verdict) | ({"not_moved": stuck} if stuck else {})
    if verdict.kind in ("again", "failed"):
        details["attempts"] = values.get("attempts", batch.attempts)
        details["error"] = (verdict.error or "").split(":", 1)[0]  # its kind, no message
    action = "outbox.retry_later" if verdict.kind == "again" else f"outbox.{verdict.kind}"
    space.audit.append(actor, "outbox.failed" if state == "failed" else action, details=details)
    return Outcome(
        batch.batch_id,
        state,
        batch.report_count,
        _summary(state, verdict, values),
        verdict.reading.findings if verdict.reading else (),
        values.get("next_attempt_at"),
    )


def _batch_change(
    space: Workspace, claimed: Claimed, verdict: Verdict, policy: RetryPolicy
) -> tuple[str, dict[str, Any], State | None]:
    """The batch's new state and columns, and where its reports go (None: they stay)."""
    batch, now = claimed.batch, space.now
    reached = batch.sent_at or (verdict.delivered.at if verdict.delivered else None)
    proof = verdict.delivered.proof if verdict.delivered else None
    done = {"next_attempt_at": None, "last_error": None}
    if verdict.kind == "sent":
        return "sent", done | {"sent_at": reached, "proof": proof}, "sent"
    if verdict.kind == "acknowledged":
        assert verdict.receipt is not None and verdict.delivered is not None
        assert verdict.delivered.receipt is not None
        kept = space.outbox.receipt_values(
            batch.batch_id, verdict.delivered.receipt, verdict.receipt.received_at
        )
        values = done | kept | {"sent_at": reached, "proof": proof, "acknowledged_at": now}
        return "acknowledged", values, None
    if verdict.kind == "rejected":
        # Refused as a whole, the register took none of its reports (a refusal of one
        # report comes in a receipt): they stay where they are, with the reason, and can be
        # sealed anew once the cause is mended (`outbox resend`, D-151).
        sealed = space.outbox.reason_values(batch.batch_id, verdict.reason or "")
        error = "permanent: refused by the register as a whole (its reason is sealed)"
        values = done | sealed | {"sent_at": reached or now, "last_error": error}
        return "rejected", values, None
    if verdict.kind == "failed":
        return "failed", {"next_attempt_at": None, "last_error": verdict.error}, None
    failures = batch.attempts + 1
    when = next_attempt(
        policy, failures=failures, now=now, draw=verdict.draw, retry_after=verdict.retry_after
    )
    values = {"attempts": failures, "next_attempt_at": when, "last_error": verdict.error}
    if reached is not None:
        values |= {"sent_at": reached, "proof": proof or batch.proof}
    state = "failed" if when is None else ("sent" if reached is not None else "sealed")
    return state, values, ("sent" if verdict.delivered is not None else None)


def _move_reports(
    space: Workspace,
    claimed: Claimed,
    verdict: Verdict,
    target: State | None,
    notes: dict[str, str],
) -> int:
    """Move each report of the batch to where the verdict sends it; the number that the
    ledger's states do not let go there (left as they are)."""
    stuck = 0
    for item in claimed.reports:
        goal, note = target, notes.get("*")
        if verdict.reading is not None:
            outcome, reason = verdict.reading.outcomes[item.ledger_id]
            goal = "sent" if outcome == "missing" else outcome
            if outcome == "rejected":
                note = f"Rejected by the register (batch {claimed.batch.batch_id}): {reason}"
            elif outcome == "missing":
                space.ledger.annotate(
                    item.ledger_id,
                    f"The register's receipt of batch {claimed.batch.batch_id} says nothing "
                    "of this report: it stays sent, without proof.",
                )
        if goal is None:
            continue
        entry = space.ledger.entry(item.ledger_id)
        path = ledger_path(entry.state, goal)
        if path is None:
            stuck += 1
            continue
        if note is None and entry.note_digest is not None and _done(verdict, goal, item):
            note = _closing(claimed.batch.batch_id, goal)
        for step in path:
            written = _after_earlier(space, item.ledger_id, note) if step == goal else None
            space.ledger.move(item.ledger_id, step, note=written)
    return stuck


def _done(verdict: Verdict, goal: State, item: BatchReport) -> bool:
    """Whether this move delivers the report for good (a receipt that accepts it, or a
    route without receipt): then what its note asked before is done."""
    if verdict.kind not in ("sent", "acknowledged") or goal not in _DELIVERED:
        return False
    return verdict.reading is None or verdict.reading.outcomes[item.ledger_id][0] != "missing"


def _closing(batch_id: str, goal: State) -> str:
    """The line that ends a report's note once it is delivered: what an earlier line asked
    (a retry, a resend, a question to the register) is done, so `reports show` and `outbox
    show` do not send a person to act on it."""
    how = "acknowledged by the register" if goal == "acknowledged" else "delivered"
    return f"Batch {batch_id} {how}: done, nothing above is left to do."


def _note_failure(space: Workspace, claimed: Claimed, error: str) -> None:
    """A batch given up on: each report's note says so, what went wrong (the transport's
    words: a kind and an address, never a code) and what the operator can do, so that
    `reports show` tells what `outbox show` tells."""
    batch_id = claimed.batch.batch_id
    note = (
        f"Not delivered with batch {batch_id} ({error}): `substreg outbox retry {batch_id}` "
        f"tries again, `substreg outbox resend {batch_id}` seals the reports anew."
    )
    for item in claimed.reports:
        space.ledger.annotate(item.ledger_id, note)


def _note_refusal(space: Workspace, claimed: Claimed, reason: str) -> None:
    """A batch refused as a whole: the register's words on each report, and the way on."""
    batch_id = claimed.batch.batch_id
    way_on = (
        f"Once the cause is mended, `substreg outbox resend {batch_id}` seals them anew."
        if claimed.batch.attempts == 0
        else "An earlier attempt may have reached the register, so they are not sealed anew: "
        "ask the register whether it holds them."
    )
    note = f"Refused by the register as a whole with batch {batch_id}: {_sentence(reason)} {way_on}"
    for item in claimed.reports:
        space.ledger.annotate(item.ledger_id, note)


def _sentence(words: str) -> str:
    """The register's words as they came, ended by one full stop (none added after their
    own `.`, `!` or `?`), so that the next sentence follows cleanly."""
    text = words.strip()
    if not text:
        return "(no reason given)."
    return text if text[-1] in ".!?" else f"{text}."


def _after_earlier(space: Workspace, ledger_id: str, note: str | None) -> str | None:
    """The register's words after what the report's note said before (a refused submit)."""
    if note is None:
        return None
    earlier = space.ledger.note(space.ledger.entry(ledger_id))
    return f"{earlier}\n{note}" if earlier else note


def _counts(verdict: Verdict) -> dict[str, int]:
    if verdict.reading is None:
        return {}
    counts = {"accepted": 0, "rejected": 0, "missing": 0}
    for outcome, _ in verdict.reading.outcomes.values():
        counts[_RESULT[outcome]] += 1
    return counts


def _summary(state: str, verdict: Verdict, values: dict[str, Any]) -> str:
    if verdict.kind == "acknowledged":
        counts = _counts(verdict)
        return (
            f"receipt verified: {counts['accepted']} accepted, {counts['rejected']} "
            f"rejected, {counts['missing']} without result"
        )
    if verdict.kind == "sent":
        return f"delivered ({verdict.delivered.proof if verdict.delivered else ''}), no receipt"
    if verdict.kind == "rejected":
        return "refused by the register as a whole; its reason is on each report"
    if state == "failed":
        return f"failed, not tried again ({values.get('last_error')})"
    when = values.get("next_attempt_at")
    return f"{values.get('last_error')}; next attempt at {when:%Y-%m-%d %H:%M:%S} UTC"
