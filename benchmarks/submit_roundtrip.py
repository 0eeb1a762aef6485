"""Benchmark the whole submission path: approved reports through `submit` and the worker to
the register simulator over loopback, against sealing the same batches alone.

    python benchmarks/submit_roundtrip.py [--reports 1000] [--batch-size 10]
                                          [--history 0] [--database sqlite|postgresql]
                                          [--postgresql URL]

A fresh database (a SQLite file in a temporary folder, or a PostgreSQL database made for
the run and dropped after it; `--postgresql` names the server, default
SUBSTREG_TEST_POSTGRESQL_URL or postgres@127.0.0.1:5432) at the newest schema gets
`--reports` approved Anmeldungen of two doctors (after `--history` more left pending: a
ledger with a past), recorded and approved through the
store's use-case parts as sync and a person would. The register simulator runs as its own
process (`substreg register-sim` under uvicorn on 127.0.0.1, as `make run`'s
demo/round.sh starts it). Then, in this process and on the real clock:

- submit:  `adapter.services.submit.submit` once: every batch sealed (ECDSA P-256 signer,
           as `envelope keygen` makes, to the simulator's RSA-3072 certificate) and stored
           in the outbox, every report `approved → queued`, one transaction;
- worker:  `adapter.services.worker.claim` and `.deliver` batch after batch, as
           `submit --worker` does: claim (a short transaction, the batch rebuilt from the
           ledger), post (the http transport: POST /submissions, the simulator opens,
           verifies, registers, signs a receipt), record (the receipt verified and stored,
           every report `queued → acknowledged`, one transaction); each part timed alone;
- baseline: the same batches sealed again (`seal(batch_bytes(batch))`), each timed alone,
           in the same run: what a batch costs at the least.

It prints reports per second (submit, worker, both), per batch the p50 and p99 of each
part, the ratio of a batch's whole path to sealing it alone, and how recording the first
and the last tenth of the batches compare (the audit log grows by the batches in
between; recording must not grow with it).
Every batch must come back acknowledged and every report acknowledged: exit 2 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerun import run_with_adapter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCTORS = ("3990101", "3990202")
PG_ENV = "SUBSTREG_TEST_POSTGRESQL_URL"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

if TYPE_CHECKING:
    from adapter.domain.batch import Batch
    from adapter.store.audit import Actor
    from adapter.store.workspace import Store


# -- the installation ---------------------------------------------------------------------


@contextmanager
def database(kind: str, folder: Path, server: str) -> Iterator[str]:
    """The URL of an empty database for this run: a SQLite file, or a PostgreSQL database
    made on `server` and dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'substreg.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def open_bench_store(url: str, actor: Actor) -> Store:
    """The store at the newest schema, a keyring held in memory, the audit log begun."""
    from adapter.crypto import generate_keyring
    from adapter.store.database import open_engine, upgrade
    from adapter.store.sql.backend import SqlDatabase
    from adapter.store.workspace import Store

    engine = open_engine(url)
    upgrade(engine)
    ring = generate_keyring(datetime.now(UTC).isoformat())
    store = Store(SqlDatabase(engine), lambda: ring, clock=lambda: datetime.now(UTC))
    store.run(actor, lambda space: space.audit.append(actor, "init", details={}))
    return store


def seed_approved(store: Store, actor: Actor, reports: int, history: int = 0) -> None:
    """`reports` approved Anmeldungen, each of its own patient and code, the doctors taking
    turns, dated within the last 300 days (the register refuses dates in the future);
    before them `history` more left pending: a ledger with a longer past."""
    from register_roundtrip import code  # the same distinct codes of the register's form

    from adapter.domain.model import Address, RegisterDoctor, Report
    from adapter.domain.reconcile import Planned
    from adapter.store.mappings import canonical_reference
    from adapter.store.workspace import Workspace

    doctors = [
        RegisterDoctor(btm, "Falkner", "Miriam", "1974-09-30",
                       Address(("Lindenplatz 3",), "04109", "Leipzig"), "0341 5550101")
        for btm in DOCTORS
    ]  # fmt: skip
    today = date.today()

    def work(space: Workspace) -> None:
        for n in range(history + reports):
            day = today - timedelta(days=1 + n % 300)
            report = Report(
                kind="anmeldung", made_on=day, date=day, patient_code=code(n),
                substance="Methadon", doctor=doctors[n % len(doctors)], consultant=None,
                remarks=(), rule="R-EP-1", sources=(f"MedicationAdministration/ma-{n}",),
                id=f"anm-bench-{n:06d}",
            )  # fmt: skip
            reference = canonical_reference("https://ehr.example.org/fhir", f"bench-{n}")
            row, _ = space.mappings.find_or_create(reference)
            ledger_id = space.ledger.record(Planned(row.mapping_id, report), row.dek_id)
            assert ledger_id is not None
            if n >= history:
                space.ledger.move(ledger_id, "approved")

    store.run(actor, work)


def signer_files(folder: Path) -> tuple[Path, Path]:
    """A practice's signing pair as `substreg envelope keygen` makes it (ECDSA P-256)."""
    from adapter.crypto.envelope.identity import new_signer_identity

    made = new_signer_identity("Praxis (benchmark)", now=datetime.now(UTC), days=30)
    key, certificate = folder / "signer.key", folder / "signer.pem"
    key.write_bytes(made.key_pem)
    certificate.write_bytes(made.certificate_pem)
    return key, certificate


# -- timing -------------------------------------------------------------------------------


@dataclass
class Timings:
    submit: float = 0.0
    batches: int = 0
    claim: list[float] = field(default_factory=list)
    post: list[float] = field(default_factory=list)
    record: list[float] = field(default_factory=list)
    seal: list[float] = field(default_factory=list)  # the baseline, per batch

    def whole(self) -> list[float]:
        """A batch's worker path: claim + post + record."""
        return [sum(parts) for parts in zip(self.claim, self.post, self.record, strict=True)]


class TimedTransport:
    """The http transport, each delivery timed alone (the post part of a batch)."""

    def __init__(self, inner: Any, times: list[float]) -> None:
        self.inner = inner
        self.times = times

    def deliver(self, parcel: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.inner.deliver(parcel)
        finally:
            self.times.append(time.perf_counter() - start)


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def run(url: str, folder: Path, reports: int, batch_size: int, history: int) -> Timings:
    from adapter.crypto.envelope import certificate_fingerprint, load_certificate, seal
    from adapter.domain.batch import batch_bytes
    from adapter.domain.submission import RetryPolicy
    from adapter.services.submit import Sealing, sealing_keys, submit
    from adapter.services.worker import Delivery, claim, deliver
    from adapter.store.audit import Actor
    from adapter.transport.http import HttpTransport

    actor = Actor("benchmark", "operator")
    store = open_bench_store(url, actor)
    seed_approved(store, actor, reports, history)
    key, certificate = signer_files(folder)
    # The simulator is started as benchmarks/register_roundtrip.py starts it; its first
    # start makes its key and certificate in the state folder.
    from register_roundtrip import start_simulator

    state = folder / "register"
    simulator = start_simulator(state, folder / "register-sim.log")
    times = Timings()
    batches: list[Batch] = []
    try:
        register_pem = state / "register.pem"
        register = load_certificate(register_pem.read_bytes())
        sealing = Sealing(
            signer_key=key, signer_certificate=certificate,
            register_certificate=register_pem,
            pinned_sha256=certificate_fingerprint(register), passphrase=None,
            transport="http", max_reports=batch_size,
        )  # fmt: skip
        result, times.submit = timed(lambda: submit(store, actor, sealing))
        times.batches = len(result.batches)
        with HttpTransport(simulator.endpoint, register, timeout=120) as http:
            delivery = Delivery(
                transport=TimedTransport(http, times.post), policy=RetryPolicy(attempts=1),
                lease=timedelta(minutes=10), worker="benchmark",
                register_certificate=lambda: register,
            )  # fmt: skip
            while True:
                now = datetime.now(UTC)
                held, took = timed(lambda: claim(store, actor, delivery, due_by=now))  # noqa: B023
                if held is None:
                    break
                times.claim.append(took)
                outcome, took = timed(lambda: deliver(store, actor, delivery, held))  # noqa: B023
                times.record.append(took - times.post[-1])
                if outcome.state != "acknowledged":
                    sys.exit(f"FAILED: batch {outcome.batch_id} is {outcome.state}: {outcome.note}")
                assert held.parcel is not None
                batches.append(held.parcel.batch)
    finally:
        simulator.stop()
    check(store, reports, times)
    keys = sealing_keys(sealing, datetime.now(UTC))
    for batch in batches:  # the baseline: the same batches, sealed alone
        _, took = timed(
            lambda: seal(
                batch_bytes(batch),  # noqa: B023
                signer=keys.signer,
                recipient=keys.recipient,
                signing_time=batch.created_at,  # noqa: B023
            )
        )
        times.seal.append(took)
    store.database.engine.dispose()
    return times


def check(store: Store, reports: int, times: Timings) -> None:
    states = store.read(lambda space: [e.state for e in space.ledger.entries()])
    acknowledged = sum(state == "acknowledged" for state in states)
    if acknowledged != reports or len(times.claim) != times.batches:
        sys.exit(
            f"FAILED: {acknowledged} of {reports} reports acknowledged, "
            f"{len(times.claim)} of {times.batches} batches delivered"
        )


# -- the table ----------------------------------------------------------------------------


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def report(times: Timings, reports: int, backend: str) -> None:
    median = statistics.median
    worker = sum(times.whole())
    ms = 1000
    print()
    print(f"{backend}: {reports:,} reports in {times.batches:,} batches")
    total = times.submit + worker
    for name, took in (
        ("submit (seal + outbox, one transaction)", times.submit),
        ("worker (claim + post + record)", worker),
        ("both", total),
    ):
        print(f"  {name:<40}{took:8.2f} s {reports / took:8,.0f} reports/s")
    print()
    header = f"  {'per batch':<28}{'p50 ms':>9}{'p99 ms':>9}{'× seal':>8}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    base = median(times.seal)
    rows = [
        ("seal alone (baseline)", times.seal),
        ("submit (its share)", [times.submit / times.batches] * times.batches),
        ("claim", times.claim),
        ("post (loopback, simulator)", times.post),
        ("record", times.record),
        ("worker path", times.whole()),
    ]
    for name, values in rows:
        print(
            f"  {name:<28}{median(values) * ms:>9.1f}{p99(values) * ms:>9.1f}"
            f"{median(values) / base:>8.1f}"
        )
    tenth = max(1, len(times.record) // 10)
    first, last = median(times.record[:tenth]), median(times.record[-tenth:])
    print()
    print(
        f"  recording: the first tenth of the batches {first * ms:.1f} ms, the last tenth "
        f"{last * ms:.1f} ms (× {last / first:.2f})"
    )
    whole = (times.submit / times.batches) + median(times.whole())
    print(
        "  a batch's whole path (submit share + worker p50) ÷ sealing it alone: "
        f"× {whole / base:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    run_with_adapter(__file__)
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=10, help="reports per batch (10)")
    parser.add_argument(
        "--history", type=int, default=0, help="further reports, left pending, recorded first"
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgresql", default=os.environ.get(PG_ENV) or PG_DEFAULT)
    args = parser.parse_args(argv)
    if args.reports < 1 or args.batch_size < 1:
        parser.error("--reports and --batch-size must be at least 1")
    print(
        f"python {sys.version.split()[0]}; {args.reports:,} approved reports, batches of "
        f"{args.batch_size}, {args.history:,} more in the ledger, {args.database}; "
        "simulator: its own process (uvicorn) on 127.0.0.1"
    )
    folder = Path(tempfile.mkdtemp(prefix="substreg-submit-"))
    try:
        with database(args.database, folder, args.postgresql) as url:
            times = run(url, folder, args.reports, args.batch_size, args.history)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(times, args.reports, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
