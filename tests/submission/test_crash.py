"""Exactly once, whatever happens to the worker: 1,000 approved reports sealed into the
outbox (`submit --queue-only`), delivered to the register simulator (`substreg
register-sim`, its own process) by worker processes that are killed (SIGKILL) at random
points, 240 times (SUBSTREG_CRASH_KILLS), the first half of them while the simulator
drops connections after it registered a submission and answers 503 before; then one last
worker (`substreg submit --worker`, started as a person would) finishes. On SQLite and on
PostgreSQL.

Before the workers, `submit --queue-only` runs are killed while they seal (the outbox
then holds all batches or none). Each worker is killed after a delay drawn from its life
as measured on this machine and database (when a worker first holds a batch, how long a
batch takes): a quarter of the kills in its start, the rest over two batches, so that
they land while it sends (claim, rebuild, post), while it records (the register took the
batch, the worker has not recorded it) and between two batches; the test prints how many
landed in each phase. The simulator waits 0.4 s on every submission while workers are
killed, so that each delivers few batches a life, and the runs go on until the required
number of kills fell while batches were left (D-149): a kill after the last delivery does
not count. SUBSTREG_CRASH_KILLS sets the kills per database: 240 by
default and in `make soak` (CI), 12 in `make test`; SUBSTREG_CRASH_REPORTS the reports:
1,000 by default, 96 in `make test` (D-117, D-218).

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

# Worker runs killed per database, and the reports they deliver: `make soak` (CI) the
# issue's ≥ 200 kills while 1,000 reports go, `make test` 12 kills and 96 reports, so that
# the path is always exercised within its time (D-117).
KILLS = int(os.environ.get("SUBSTREG_CRASH_KILLS", "240"))
REPORTS = int(os.environ.get("SUBSTREG_CRASH_REPORTS", "1000"))
PER_BATCH = 4  # 250 batches of 1,000 reports, sealed per doctor: several in flight at every kill
BATCHES = REPORTS // PER_BATCH
# The first half of the runs against a simulator that drops and refuses (FAULTS): first,
# so that the killed workers have batches left to fail with (on a quick database the
# runs of a calm simulator deliver all of them long before their last kill).
FAULTY_UNTIL = KILLS // 2
SEAL_KILLS = max(2, KILLS // 10)  # `submit` runs killed while they seal, before the workers
SEAL_SLEEP = (0.05, 0.25 + 1.5 * REPORTS / 1000)  # sealing 250 batches takes seconds
PHASES = ("sealing", "starting", "sending", "recording", "between batches", "nothing left")
DOCTORS = ("3990101", "3990202")
assert 0 < REPORTS <= 1000 and REPORTS % (PER_BATCH * len(DOCTORS)) == 0, "whole batches"
LETTERS = "ABDEFGHKLMNOPRSTÄÖÜ"
ZYGOTE = Path(__file__).resolve().parent / "worker_zygote.py"
UNSENT = ("sealed", "sending", "sent", "failed")
FAULTS = (
    "--fault-drop", "0.2@after",  # registered, then the connection closed without an answer
    "--fault-503", "0.15@before",  # refused for now, Retry-After: 1
    "--retry-after", "1",
)  # fmt: skip
# Pacing (D-149): every submission waits before the register takes it (the faulty half:
# longer sending) or after (the calm half: longer recording), so that a worker delivers
# fewer batches a life and the kills are spent while batches are left.
PACE_SECONDS = "0.4"
PACE_SENDING = ("--fault-delay", "1@before", "--delay-seconds", PACE_SECONDS)
PACE_RECORDING = ("--fault-delay", "1@after", "--delay-seconds", PACE_SECONDS)
# Kills that must land in sending and in recording each (in full; at the quick size in
# both together): more than a handful.
FULL_KILLS = 200  # the "at least 200 kills": `make soak`
HANDFUL = max(2, KILLS // 24)


def code(n: int) -> str:
    """The n-th of 1,000 distinct patient codes of the register's form."""
    letters = "".join(LETTERS[(n // len(LETTERS) ** i) % len(LETTERS)] for i in range(3))
    return f"H{letters}{'FM'[n % 2]}{n:03d}"


def seed_approved(url: str, keyring: Path) -> None:
    """REPORTS (1,000) approved Anmeldungen, each of its own patient and code, the doctors taking
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


def fork(pipes: tuple[IO[str], IO[str]], command: str = "fork") -> int:
    pipes[0].write(f"{command}\n")
    pipes[0].flush()
    return int(pipes[1].readline())


def kill(pid: int, seen: Counter[str]) -> bool:
    """SIGKILL, and wait until the process is gone (its phase is read afterwards)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended on its own: a refusal, in its log
        seen["ended"] += 1
        return False
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    seen["killed"] += 1
    return True


def kill_sealing(place: Installation, draw: random.Random) -> Counter[str]:
    """SEAL_KILLS runs of `submit --queue-only`, each killed after a random while: while it
    reads its keys, seals the batches or commits them. The outbox holds every batch or
    none after each (sealing is one transaction); a run that ended before its kill sealed
    them all (the runs after it find nothing to seal)."""
    seen: Counter[str] = Counter()
    with zygote(place) as pipes:
        for _ in range(SEAL_KILLS):
            pid = fork(pipes, "fork-seal")
            time.sleep(draw.uniform(*SEAL_SLEEP))
            killed = kill(pid, Counter())
            held = len(place.rows("SELECT batch_id FROM outbox_batch"))
            assert held in (0, BATCHES), f"a killed submit left {held} batches"
            assert killed or held == BATCHES, f"submit {pid} ended without sealing: see its log"
            seen["killed" if killed else "ended"] += 1
            seen["sealing" if held == 0 else "sealed whole"] += 1
    return seen


@dataclass(frozen=True)
class Window:
    """A worker's life as measured on this machine and database (seconds from its fork):
    when it first holds a batch, and how long one batch takes (claim, post, record)."""

    claimed: float
    per_batch: float

    def draw(self, draw: random.Random) -> float:
        """A kill delay: a quarter of the kills while the worker starts, the rest over its
        first two batches, so that kills land in sending and in recording on a database
        whose connections are slow to open as on one whose are quick."""
        if draw.random() < 0.25:
            return draw.uniform(0.0, self.claimed)
        return self.claimed + draw.uniform(0.0, 2 * self.per_batch)


def measure(place: Installation, pipes: tuple[IO[str], IO[str]]) -> Window:
    """The window, from one worker that is then killed too: when it first held a batch
    (its name in the outbox) and when its first outcomes were printed (one a batch)."""
    started = time.monotonic()
    pid = fork(pipes)
    log = place.tmp / "workers" / f"worker-{pid}.log"
    claimed: float | None = None
    recorded: list[float] = []  # when each outcome line appeared
    while len(recorded) < 3 and time.monotonic() < started + 30:
        if claimed is None and place.rows(
            f"SELECT batch_id FROM outbox_batch WHERE claimed_by LIKE 'w-{pid}-%'"
        ):
            claimed = time.monotonic() - started
        lines = len(log.read_text().splitlines()) if log.exists() else 0
        recorded += [time.monotonic() - started] * (lines - len(recorded))
        if claimed is None and time.monotonic() > started + 2 and not place.unsent():
            break  # the workers before it delivered everything: nothing to measure
        time.sleep(0.005)
    kill(pid, Counter())
    first = recorded[0] if recorded else 1.0
    per_batch = (recorded[-1] - first) / (len(recorded) - 1) if len(recorded) > 1 else 0.3
    return Window(claimed if claimed is not None else first / 2, per_batch)


def phase(place: Installation, pid: int) -> str:
    """Where a killed worker was: before its first claim (starting), holding a batch the
    register has not taken (claiming, rebuilding, posting: sending), holding one the
    register took (its answer on the way, or recording it), between two batches, or with
    nothing left to deliver (the killed workers before it delivered every batch)."""
    mine = f"state = 'sending' AND claimed_by LIKE 'w-{pid}-%'"
    held = {
        batch_id for (batch_id,) in place.rows(f"SELECT batch_id FROM outbox_batch WHERE {mine}")
    }
    if held:
        registrations = httpx.get(f"{place.endpoint}/registrations", timeout=30).json()
        taken = {r["batch_id"] for r in registrations["reports"]}
        return "recording" if held & taken else "sending"
    log = place.tmp / "workers" / f"worker-{pid}.log"
    if log.exists() and log.read_text().strip():
        return "between batches"
    return "starting" if place.unsent() else "nothing left"


def kill_loop(place: Installation, kills: int, draw: random.Random) -> Counter[str]:
    """Runs until `kills` kills landed in the work (any phase but `nothing left`), or no
    batch is left (D-149): each run a worker (every fifth run two at once), killed after a
    random while drawn from its measured window; returns what the runs did (kills, workers
    that ended on their own, `at work`: kills while work remained) and the phase each kill
    landed in. A kill after the last delivery is counted but does not count towards `kills`."""
    seen: Counter[str] = Counter()
    with zygote(place) as pipes:
        window = measure(place, pipes)
        print(f"(a worker holds its first batch after {window.claimed:.2f} s, a batch takes "
              f"{window.per_batch:.2f} s)", end=" ")  # fmt: skip
        run = 0
        while seen["at work"] < kills and place.unsent():
            workers = [fork(pipes) for _ in range(2 if run % 5 == 4 else 1)]
            run += 1
            for pid in workers:
                time.sleep(window.draw(draw))
                if kill(pid, seen):
                    landed = phase(place, pid)
                    seen[landed] += 1
                    seen["at work"] += landed != "nothing left"
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
    with simulator(place, *FAULTS, *PACE_SENDING):
        write_practice(place, submission_pki, tmp_path / "register" / "register.pem")
        sealing = kill_sealing(place, draw)
        place.substreg("submit", "--config", str(place.config), "--queue-only")
        assert len(place.rows("SELECT batch_id FROM outbox_batch")) == BATCHES
        faulty = kill_loop(place, FAULTY_UNTIL, draw)
    with simulator(place, *PACE_RECORDING):
        calm = kill_loop(place, KILLS - FAULTY_UNTIL, draw)
        left = place.unsent()
    killed = time.monotonic()
    with simulator(place):
        outcomes = last_worker(place)
    phases = sealing + calm + faulty
    print(
        f"{database.backend}: {calm['killed'] + faulty['killed']} worker kills "
        f"({calm['at work'] + faulty['at work']} while work was left) and "
        f"{sealing['killed']} sealing kills ({sealing['ended']} sealing runs ended first) in "
        f"{killed - started:.0f} s; by phase: "
        + ", ".join(f"{name} {phases[name]}" for name in (*PHASES, "sealed whole"))
        + f"; {left} batch(es) left to the last worker, done in "
        f"{time.monotonic() - killed:.0f} s"
    )
    assert calm["ended"] + faulty["ended"] == 0, "a worker ended before it was killed"
    # Every one of the KILLS kills fell while batches were left to deliver (D-149), in each
    # half, and more than a handful of them while a worker sent and while it recorded.
    assert faulty["at work"] >= FAULTY_UNTIL, f"the faulty half ran out of work: {faulty}"
    assert calm["at work"] >= KILLS - FAULTY_UNTIL, f"the calm half ran out of work: {calm}"
    # Where a kill lands is drawn at random: in full (240 kills) more than a handful land
    # in each of sending and recording; at `make test`'s few kills a handful in the two
    # together, which one random run need not split between them (D-218).
    in_flight = phases["sending"] + phases["recording"]
    if KILLS >= FULL_KILLS:
        assert phases["sending"] >= HANDFUL and phases["recording"] >= HANDFUL, phases
    assert in_flight >= HANDFUL, phases
    assert left < BATCHES, "no killed worker delivered anything"
    assert {o["state"] for o in outcomes} <= {"acknowledged", "sealed", "sent", "lost"}
    if left:
        assert "acknowledged" in {o["state"] for o in outcomes}
    check_exactly_once(place)


def check_exactly_once(place: Installation) -> None:
    # The practice: every batch acknowledged, every report acknowledged and accepted.
    batches = place.rows("SELECT batch_id, state FROM outbox_batch")
    assert len(batches) == BATCHES
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
