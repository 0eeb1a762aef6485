"""Kill safety of submit and the worker, on the twin: a crash injected between any two
steps (inside each transaction before it commits, right after it commits, in the
transport before and after the register took the batch) leaves a state from which the
next run brings every batch to the register exactly once, with the same bytes under the
same batch id, and the ledger agrees with the register. (The crash test with real
processes and SIGKILL is deliverable 6; this one pins the use cases' part of it.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from adapter.services.submit import Sealing, submit
from adapter.services.worker import deliver_due
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR, NOW
from tests.submission.fakes import Crash, FakeRegister, FakeTransport
from tests.submission.pki import SubmissionPki
from tests.submission.seeding import approved, states
from tests.submission.setup import delivery_for, sealing_for
from tests.usecases.conftest import Clock

T = TypeVar("T")
REPORTS = 5  # two doctors, max 2 per batch: three batches
NEXT_RUN = timedelta(hours=1)  # past the lease of a worker that died


class CrashingStore(Store):
    """A store whose `crash_at`-th unit of work dies: `before` its commit (everything of
    it rolled back) or `after` it (committed, and the process gone before the next step)."""

    def __init__(self, store: Store, crash_at: int, when: str) -> None:
        super().__init__(store.database, store._keyring, clock=store.clock)
        self.crash_at, self.when, self.calls = crash_at, when, 0

    def run(self, actor: Actor, work: Callable[[Workspace], T], *, exclusive: bool = True) -> T:
        self.calls += 1
        if self.calls != self.crash_at:
            return super().run(actor, work, exclusive=exclusive)
        if self.when == "before":

            def dying(space: Workspace) -> T:
                work(space)
                raise Crash(f"unit of work {self.calls}")

            return super().run(actor, dying, exclusive=exclusive)
        super().run(actor, work, exclusive=exclusive)
        raise Crash(f"after unit of work {self.calls}")


def _one_run(store: Store, sealing: Sealing, transport: FakeTransport, pki: SubmissionPki) -> Any:
    """What `substreg submit` does: seal what is due, then deliver what is due."""
    submit(store, ACTOR, sealing)
    return deliver_due(store, ACTOR, delivery_for(pki, transport))


def _units_of_a_clean_run(
    twin: Store, sealing: Sealing, pki: SubmissionPki, register: FakeRegister
) -> int:
    counting = CrashingStore(twin, crash_at=0, when="never")
    _one_run(counting, sealing, FakeTransport(register), pki)
    return counting.calls


@pytest.fixture
def sealing(submission_pki: SubmissionPki, tmp_path: Path) -> Sealing:
    return sealing_for(submission_pki, tmp_path, max_reports=2)


def test_a_clean_run_has_the_units_of_work_the_crash_points_cover(
    twin: Store, submission_pki: SubmissionPki, sealing: Sealing
) -> None:
    """Submit (1), then per batch a claim and a record (2 × 3), then the claim that finds
    nothing (1): the crash points below are every one of these 8, before and after."""
    approved(twin, REPORTS)
    register = FakeRegister(submission_pki.register_key())
    assert _units_of_a_clean_run(twin, sealing, submission_pki, register) == 8
    assert len(register.registered) == 3


CRASHES = [(n, when) for n in range(1, 9) for when in ("before", "after")] + [
    (0, "transport-before-register"),
    (0, "transport-after-register"),
]


@pytest.mark.parametrize("crash", CRASHES, ids=[f"{when}-{n}" for n, when in CRASHES])
def test_after_a_crash_the_next_run_brings_every_batch_to_the_register_once(
    twin: Store,
    submission_pki: SubmissionPki,
    sealing: Sealing,
    clock: Clock,
    crash: tuple[int, str],
) -> None:
    """Whatever step died, the next run (after the dead worker's lease) leaves every
    report registered once and acknowledged, every batch sent as the same bytes under
    its id, and no batch delivered again once the register acknowledged it."""
    crash_at, when = crash
    ids = approved(twin, REPORTS)
    register = FakeRegister(submission_pki.register_key())
    transport = FakeTransport(register)
    if when.startswith("transport"):
        transport.script = ["crash" if when.endswith("before-register") else "ok"]
        if when.endswith("after-register"):
            transport.script = []
            _answer_lost_once(transport)
        store: Store = twin
    else:
        store = CrashingStore(twin, crash_at, when)
    with pytest.raises(Crash):
        _one_run(store, sealing, transport, submission_pki)
    done = _acknowledged(twin)

    clock.now = NOW + NEXT_RUN
    before = len(transport.parcels)
    _one_run(twin, sealing, transport, submission_pki)

    assert set(states(twin).values()) == {"acknowledged"}
    assert sorted(states(twin)) == sorted(ids)
    assert len(register.registered) == 3
    assert sorted(register.reports.values()) == [1] * REPORTS
    by_id: dict[str, set[bytes]] = {}
    for parcel in transport.parcels:
        by_id.setdefault(parcel.batch_id, set()).add(parcel.envelope)
    assert all(len(envelopes) == 1 for envelopes in by_id.values())
    again = [p.batch_id for p in transport.parcels[before:]]
    assert len(again) == len(set(again))  # the next run hands each batch over once
    assert not done & set(again)  # and none the register had acknowledged
    assert set(again) | done == set(register.registered)


def _answer_lost_once(transport: FakeTransport) -> None:
    """The register takes the first parcel, then the worker dies before the answer."""
    original = transport.deliver
    dead = [False]

    def deliver(parcel: Any) -> Any:
        answer = original(parcel)
        if not dead[0]:
            dead[0] = True
            raise Crash("after the register took the batch")
        return answer

    transport.deliver = deliver  # type: ignore[method-assign]


def _acknowledged(store: Store) -> set[str]:
    def read(space: Workspace) -> set[str]:
        return {b.batch_id for b in space.outbox.listed(["acknowledged"])}

    return store.run(ACTOR, read)
