"""Workers in parallel on PostgreSQL: each claims a different batch (FOR UPDATE SKIP
LOCKED, no writer's lock), and every batch is delivered exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from adapter.services.submit import submit
from adapter.services.worker import deliver_due
from tests.storage import ACTOR, Database, make_store
from tests.submission.fakes import FakeTransport
from tests.submission.pki import SubmissionPki
from tests.submission.seeding import approved, states
from tests.submission.setup import delivery_for, sealing_for

WORKERS = 3
REPORTS = 24  # two doctors, two reports per batch: twelve batches


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_parallel_workers_claim_disjoint_batches_and_deliver_each_once(
    database: Database, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """Three workers at once, each delivery taking 0.15 s: twelve batches, each handed
    over once, by one worker; every worker took some, so they ran side by side."""
    store, _ = make_store(database.url)
    approved(store, REPORTS)
    batches = submit(store, ACTOR, sealing_for(submission_pki, tmp_path, max_reports=2)).batches
    assert len(batches) == 12
    transport = FakeTransport(pause=0.15)
    by_worker: dict[str, list[str]] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(WORKERS, timeout=30)

    def work(name: str) -> None:
        try:
            start.wait()
            delivery = delivery_for(submission_pki, transport, worker=name)
            by_worker[name] = [o.batch_id for o in deliver_due(store, ACTOR, delivery)]
        except BaseException as exc:  # re-raised in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if failures:
        raise failures[0]
    handed = Counter(p.batch_id for p in transport.parcels)
    assert handed == Counter({b.batch_id: 1 for b in batches})
    done = [b for names in by_worker.values() for b in names]
    assert sorted(done) == sorted(b.batch_id for b in batches)
    assert all(by_worker[f"w{n}"] for n in range(WORKERS)), by_worker
    assert set(states(store).values()) == {"sent"}
