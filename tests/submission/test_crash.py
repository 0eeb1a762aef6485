"""Exactly once, whatever happens to the worker: 1,000 approved reports sealed into the
outbox (`submit --queue-only`), delivered to the register simulator (`substreg
register-sim`, its own process) by worker processes that are killed (SIGKILL) at random
points, two hundred times, half of them while the simulator drops connections after it
registered a submission and answers 503 before; then one last worker (`substreg submit
--worker`, started as a person would) finishes. On SQLite and on PostgreSQL.

Afterwards the simulator holds every report once, under the batch the outbox put it in,
each code registered once; every report of the ledger is acknowledged and every batch has
its receipt; `audit verify` passes. The killed workers are forked from a process that has
imported the command once (tests/submission/worker_zygote.py, D-116): each still runs the
whole command `substreg submit --worker` in a process of its own, and a kill lands in the
work rather than in the imports.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import create_engine, text

from adapter.domain.reconcile import Planned
from adapter.store.opening import open_store
from adapter.store.workspace import Workspace
from tests.cli_helpers import ROOT
from tests.storage import ACTOR, Database
from tests.store.helpers import make_report, reference
from tests.submission.pki import SubmissionPki

REPORTS = 1000
PER_BATCH = 4  # 250 batches, sealed per doctor: several in flight at every kill
KILLS = 200
FAULTY_FROM = KILLS // 2  # from this run on the simulator drops and refuses (below)
SLEEP = (0.0, 0.5)  # a worker lives this long before it is killed: startup ~0.1 s, a batch ~0.15 s
DOCTORS = ("3990101", "3990202")
LETTERS = "ABDEFGHKLMNOPRSTÄÖÜ"
ZYGOTE = Path(__file__).resolve().parent / "worker_zygote.py"
UNSENT = ("sealed", "sending", "sent", "failed")
FAULTS = (
    "--fault-drop", "0.2@after",  # registered, then the connection closed without an answer
    "--fault-503", "0.15@before",  # refused for now, Retry-After: 1
    "--retry-after", "1",
)  # fmt: skip


def code(n: int) -> str:
    """The n-th of 1,000 distinct patient codes of the register's form."""
    letters = "".join(LETTERS[(n // len(LETTERS) ** i) % len(LETTERS)] for i in range(3))
    return f"H{letters}{'FM'[n % 2]}{n:03d}"


def seed_approved(url: str, keyring: Path) -> None:
    """REPORTS approved Anmeldungen, each of its own patient and code, the doctors taking
    turns, dated within the last 300 days (the simulator refuses reports from the future),
    recorded and approved through the store's use-case parts in one transaction."""
    store = open_store(url, keyring)
    today = date.today()

    def work(space: Workspace) -> None:
        for number in range(REPORTS):
            day = today - timedelta(days=1 + number % 300)
            report = replace(
                make_report(code(number), btm=DOCTORS[number % 2], day=day, made_on=day),
                id=f"anm-crash-{number:06d}",
            )
            row, _ = space.mappings.find_or_create(reference(f"crash-{number}"))
            ledger_id = space.ledger.record(Planned(row.mapping_id, report), row.dek_id)
            assert ledger_id is not None
            space.ledger.move(ledger_id, "approved")

    store.run(ACTOR, work)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Installation:
    """One practice's installation (database, keyring, practice.toml) and its register."""

    tmp: Path
    url: str
    env: dict[str, str]
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.tmp / "practice.toml"

    def substreg(self, *argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "adapter.cli", *argv],
            env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        return done

    def json(self, *argv: str) -> Any:
        return json.loads(self.substreg(*argv, "--format", "json").stdout)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return [tuple(r) for r in connection.execute(text(sql))]
        finally:
            engine.dispose()

    def unsent(self) -> int:
        states = "', '".join(UNSENT)
        return len(self.rows(f"SELECT batch_id FROM outbox_batch WHERE state IN ('{states}')"))


def installation(tmp: Path, url: str, pki: SubmissionPki) -> Installation:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SUBSTREG_")}
    env = {
        **inherited,
        "SUBSTREG_HOME": str(tmp / "home"),
        "SUBSTREG_DATABASE_URL": url,
        "SUBSTREG_ACTOR": "crash-test",
    }
    return Installation(tmp, url, env, free_port())


def write_practice(place: Installation, pki: SubmissionPki, register: Path) -> None:
    """practice.toml: the simulator's certificate pinned, http to it, batches of two, a
    lease of one second and retries soon enough for a test (the schedule of D-92)."""
    files = pki.write(place.tmp / "keys")
    from adapter.crypto.envelope import certificate_fingerprint, load_certificate

    pin = certificate_fingerprint(load_certificate(register.read_bytes()))
    place.config.write_text(
        f"""[register]
certificate_sha256 = "{pin}"

[submission]
transport = "http"
signer_key = "{files["signer_key"]}"
signer_certificate = "{files["signer_certificate"]}"
register_certificate = "{register}"
max_reports_per_batch = {PER_BATCH}
lease_seconds = 1
poll_seconds = 0.2

[submission.retry]
initial_seconds = 0.05
max_seconds = 1
attempts = 1000
jitter = 0.5

[submission.http]
endpoint = "{place.endpoint}"
timeout_seconds = 5
connect_timeout_seconds = 1
""",
        encoding="utf-8",
    )


@contextmanager
def simulator(place: Installation, *faults: str) -> Iterator[subprocess.Popen[bytes]]:
    """`substreg register-sim` on the installation's port until the block ends."""
    state = place.tmp / "register"
    log = (place.tmp / "register-sim.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "adapter.cli", "register-sim", "--state", str(state),
         "--port", str(place.port), "--fault-seed", "12", *faults],
        env=place.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{place.endpoint}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (place.tmp / "register-sim.log").read_text()
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@contextmanager
def zygote(place: Installation) -> Iterator[tuple[IO[str], IO[str]]]:
    """The forking process (worker_zygote.py), ready: its stdin and stdout."""
    logs = place.tmp / "workers"
    logs.mkdir(exist_ok=True)
    argv = ["submit", "--worker", "--config", str(place.config), "--format", "json"]
    process = subprocess.Popen(
        [sys.executable, str(ZYGOTE), str(logs), *argv],
        env=place.env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "ready"
        yield process.stdin, process.stdout
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def fork(pipes: tuple[IO[str], IO[str]]) -> int:
    pipes[0].write("fork\n")
    pipes[0].flush()
    return int(pipes[1].readline())


def kill_loop(place: Installation, runs: range, draw: random.Random) -> Counter[str]:
    """For each run: a worker (every fifth run two at once), killed after a random while;
    returns what the runs did (kills, and how many batches were unsent after each)."""
    seen: Counter[str] = Counter()
    with zygote(place) as pipes:
        for run in runs:
            workers = [fork(pipes) for _ in range(2 if run % 5 == 4 else 1)]
            for pid in workers:
                time.sleep(draw.uniform(*SLEEP))
                try:
                    os.kill(pid, signal.SIGKILL)
                    seen["killed"] += 1
                except ProcessLookupError:  # it ended on its own: a refusal, in its log
                    seen["ended"] += 1
    return seen


def last_worker(place: Installation) -> list[dict[str, Any]]:
    """`substreg submit --worker` as a person starts it, until nothing is left unsent;
    stopped with SIGTERM (exit 0). Its outcomes, one JSON object a line (into a file: a
    pipe nobody reads while the worker runs would fill and stop it)."""
    out, err = place.tmp / "last-worker.out", place.tmp / "last-worker.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "-m", "adapter.cli", "submit", "--worker", "--config",
             str(place.config), "--format", "json"],
            env=place.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
        )  # fmt: skip
        try:
            _until_it_catches_sigterm(worker)  # a TERM during its imports would kill it
            deadline = time.monotonic() + 600
            while place.unsent() and time.monotonic() < deadline and worker.poll() is None:
                time.sleep(0.25)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
    assert worker.returncode == 0, err.read_text()
    return [json.loads(line) for line in out.read_text().splitlines()]


def _until_it_catches_sigterm(worker: subprocess.Popen[bytes]) -> None:
    """Wait until the worker has installed its SIGTERM handler (Linux: SigCgt in
    /proc/PID/status), or ended; a loaded machine takes seconds to import the command."""
    deadline = time.monotonic() + 120
    status = Path(f"/proc/{worker.pid}/status")
    while worker.poll() is None and time.monotonic() < deadline:
        try:
            lines = status.read_text().splitlines()
        except OSError:  # it ended meanwhile
            return
        caught = next((line for line in lines if line.startswith("SigCgt:")), "")
        if caught and int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.05)


def test_killed_workers_leave_every_report_registered_once_and_acknowledged(
    database: Database, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    place = installation(tmp_path, database.url, submission_pki)
    place.substreg("init")
    seed_approved(place.url, tmp_path / "home" / "keyring.json")
    draw = random.Random(20261207)
    started = time.monotonic()
    with simulator(place):
        write_practice(place, submission_pki, tmp_path / "register" / "register.pem")
        sealed = place.substreg("submit", "--config", str(place.config), "--queue-only")
        assert f"Sealed {REPORTS // PER_BATCH} batch(es)" in sealed.stdout
        calm = kill_loop(place, range(FAULTY_FROM), draw)
    with simulator(place, *FAULTS):
        faulty = kill_loop(place, range(FAULTY_FROM, KILLS), draw)
        left = place.unsent()
        killed = time.monotonic()
        outcomes = last_worker(place)
    print(
        f"{database.backend}: {calm['killed'] + faulty['killed']} kills in "
        f"{killed - started:.0f} s, {left} batch(es) left to the last worker, done in "
        f"{time.monotonic() - killed:.0f} s"
    )
    assert calm["killed"] + calm["ended"] >= FAULTY_FROM
    assert faulty["killed"] + faulty["ended"] >= KILLS - FAULTY_FROM
    assert calm["ended"] + faulty["ended"] == 0, "a worker ended before it was killed"
    # The kills must have fallen while batches were being delivered (not all before the
    # first claim); on an idle machine the killed workers may even finish everything.
    assert left < REPORTS // PER_BATCH, "no killed worker delivered anything"
    assert {o["state"] for o in outcomes} <= {"acknowledged", "sealed", "sent", "lost"}
    if left:
        assert "acknowledged" in {o["state"] for o in outcomes}
    check_exactly_once(place)


def check_exactly_once(place: Installation) -> None:
    # The practice: every batch acknowledged, every report acknowledged and accepted.
    batches = place.rows("SELECT batch_id, state FROM outbox_batch")
    assert len(batches) == REPORTS // PER_BATCH
    assert Counter(state for _, state in batches) == {"acknowledged": len(batches)}
    held = place.rows("SELECT batch_id, report_id, result FROM outbox_report")
    assert len(held) == REPORTS
    assert {result for _, _, result in held} == {"accepted"}
    ledger = place.json("reports", "list")["reports"]
    assert len(ledger) == REPORTS
    assert Counter(r["state"] for r in ledger) == {"acknowledged": REPORTS}
    # The register: each batch taken once, each report once under its batch, each code once.
    with simulator(place):
        overview = httpx.get(f"{place.endpoint}/registrations", timeout=30).json()
    counts = overview["counts"]
    assert counts["submissions"] == len(batches)
    assert (counts["reports"], counts["accepted"], counts["rejected"]) == (REPORTS, REPORTS, 0)
    assert counts["open"] == REPORTS and counts["duplicates"] == 0
    registered = {r["report_id"]: r["batch_id"] for r in overview["reports"]}
    assert len(overview["reports"]) == REPORTS
    assert registered == {report_id: batch_id for batch_id, report_id, _ in held}
    cryptograms = [r["code_cryptogram"] for r in overview["registrations"]]
    assert len(cryptograms) == len(set(cryptograms)) == REPORTS
    assert "OK:" in place.substreg("audit", "verify").stdout
