"""One outbox worker for every tenant of the service (D-183): `substreg tenant work`.

`substreg serve` runs no worker, and `submit --worker` works on one installation (one
tenant's database and keyring, named by the environment), so a service with many tenants
needed one worker process per tenant, each started by hand. `run_tenants` is the loop of
`run_worker` over every tenant the registry holds, read again each round (a tenant added
while it runs is worked on from the next round): deliver what is due for each tenant in
turn, then sleep until the earliest next due time of any tenant, at most the shortest
`poll_seconds`. A tenant whose database, keyring or configuration fails is reported (by
its id and the error's kind) and left until the next round; the others go on. Several
such workers may run at once: each batch is claimed under a lease, as for `submit
--worker` (SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from adapter.services.submit import Sealing
from adapter.services.submit_round import release_held
from adapter.services.worker import MIN_PAUSE, Delivery, deliver_due
from adapter.services.worker_record import Outcome
from adapter.store.audit import Actor
from adapter.store.workspace import Store

__all__ = ["TenantWork", "run_tenants"]


@dataclass(frozen=True, slots=True)
class TenantWork:
    """One tenant's store and what its worker delivers with."""

    tenant: str
    store: Store
    delivery: Delivery
    poll_seconds: float
    sealing: Sealing | None = None  # to seal what a pass freed of the held (D-232)


def run_tenants(
    tenants: Callable[[], Iterable[TenantWork]],
    actor: Actor,
    *,
    stop: threading.Event,
    once: bool = False,
    seen: Callable[[str, Outcome], None] = lambda _t, _o: None,
    failed: Callable[[str, Exception], None] = lambda _t, _e: None,
    idle_seconds: float = 60.0,
) -> int:
    """Deliver what is due for every tenant, round after round until `stop` is set (one
    round when `once`); the number of outcomes."""
    count = 0
    while not stop.is_set():
        pauses = [idle_seconds]
        for work in tenants():
            if stop.is_set():
                break
            try:
                count += _deliver(work, actor, stop, seen)
                due = work.store.read(lambda space: space.outbox.next_due())
            except Exception as exc:  # one tenant's failure stops no other tenant
                failed(work.tenant, exc)
                pauses.append(work.poll_seconds)
                continue
            pause = work.poll_seconds if due is None else (due - work.store.clock()).total_seconds()
            pauses.append(min(work.poll_seconds, max(MIN_PAUSE, pause)))
        if once:
            return count
        stop.wait(min(pauses))
    return count


def _deliver(
    work: TenantWork, actor: Actor, stop: threading.Event, seen: Callable[[str, Outcome], None]
) -> int:
    outcomes = deliver_due(
        work.store,
        actor,
        work.delivery,
        stop=stop.is_set,
        seen=lambda outcome: seen(work.tenant, outcome),
    )
    if work.sealing is not None:  # delivered in the tenant's next round (D-232)
        release_held(work.store, actor, work.sealing, outcomes)
    return len(outcomes)
