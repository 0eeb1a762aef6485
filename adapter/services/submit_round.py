"""`substreg submit` as one run: seal, deliver, then seal what that delivery released.

An inventory report is held back until the single reports it confirms were sent (D-196).
When `submit` seals those reports and its own delivery sends them, the held inventory
report is free in the same run: it is sealed and delivered then, not by a second `submit`
(D-232). A held report is sealed only after a pass that delivered something, at most
`MAX_ROUNDS` times (an inventory report waits for single reports only, never for another
inventory report, so one more round is all that is needed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from adapter.services.submit import Sealing, SubmitResult, submit
from adapter.services.worker import Delivery, deliver_due
from adapter.services.worker_record import Outcome
from adapter.store.audit import Actor
from adapter.store.workspace import Store

MAX_ROUNDS = 3
DELIVERED = frozenset({"sent", "acknowledged"})  # the register had the bytes (D-196)


@dataclass(frozen=True, slots=True)
class SubmitRound:
    result: SubmitResult  # every batch sealed in the run; `held`: those still held at its end
    outcomes: list[Outcome]


def delivered_any(outcomes: list[Outcome]) -> bool:
    """Whether a pass handed a batch over: only then may a held report have been freed."""
    return any(o.state in DELIVERED for o in outcomes)


def release_held(
    store: Store, actor: Actor, sealing: Sealing, outcomes: list[Outcome]
) -> SubmitResult | None:
    """After a worker's pass: when it delivered something, seal the inventory reports a
    `submit` held back that it freed (D-232); None when it delivered nothing. What is
    sealed is due at once, so the worker's next round delivers it."""
    if not delivered_any(outcomes):
        return None
    return submit(store, actor, sealing, held_only=True)


def submit_and_deliver(
    store: Store,
    actor: Actor,
    sealing: Sealing,
    delivery: Delivery,
    *,
    seen: Callable[[Outcome], None] = lambda _: None,
) -> SubmitRound:
    """Seal what is due, deliver it, and while inventory reports are held back and the pass
    delivered something, seal those now free and deliver them too (D-196, D-232)."""
    result = submit(store, actor, sealing)
    outcomes = deliver_due(store, actor, delivery, seen=seen)
    latest = outcomes
    for _ in range(MAX_ROUNDS):
        if not result.held or not delivered_any(latest):
            break
        freed = submit(store, actor, sealing, held_only=True)
        if not freed.batches:
            break
        result = merged(result, freed)
        latest = deliver_due(store, actor, delivery, seen=seen)
        outcomes += latest
    return SubmitRound(result, outcomes)


def merged(first: SubmitResult, freed: SubmitResult) -> SubmitResult:
    """The run's result: every batch, the inventory reports still held, those released."""
    released = tuple(i for i in first.held if i not in freed.held)
    return replace(
        first,
        batches=[*first.batches, *freed.batches],
        held=freed.held,
        released=first.released + released,
    )
