"""Crash and resume: `substreg pull` killed (SIGKILL, a real child process) while it
reads the pages or while it syncs, then run again, leaves the ledger one uninterrupted
pull makes; and a pull whose checkpoints were not kept reads the same resources again
harmlessly (issue 13.4, D-133)."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapter.services import pull as pull_service
from adapter.services.pull import PULLED_TYPES, pull
from adapter.store.opening import open_store
from tests.cli_helpers import CONFIG, substreg
from tests.pull.conftest import Served
from tests.pull.helpers import client, ledger, options
from tests.storage import ACTOR, make_twin

PAGE = 25


class Installation:
    """A SQLite installation driven by the `substreg` command in child processes; its
    practice.toml is the demo's, unpaced (the pace is test_connect's: here it would only
    make each pull take 10 s)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self.folder = folder
        self.db = folder / "substreg.db"
        self.config = folder / "practice.toml"
        self.config.write_text(CONFIG.read_text() + "\n[pull]\nrequests_per_second = 1000\n")
        self.env = {
            "SUBSTREG_HOME": str(folder / "home"),
            "SUBSTREG_DATABASE_URL": f"sqlite:///{self.db}",
            "SUBSTREG_ACTOR": "tester",
        }
        done = substreg(["init"], self.env, folder)
        assert done.returncode == 0, done.stderr

    def pull_argv(self, base: str) -> list[str]:
        return [
            sys.executable, "-m", "adapter.cli", "pull", "--server", base, "--config",
            str(self.config), "--as-of", "2025-12-31", "--page-size", str(PAGE),
        ]  # fmt: skip

    def start_pull(self, base: str) -> subprocess.Popen[str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SUBSTREG_")}
        return subprocess.Popen(
            self.pull_argv(base),
            env={**inherited, **self.env},
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def pull(self, base: str) -> str:
        child = self.start_pull(base)
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        return out

    def count(self, table: str) -> int:
        with sqlite3.connect(self.db) as connection:
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def ledger(self) -> list[str]:
        store = open_store(
            self.env["SUBSTREG_DATABASE_URL"], Path(self.env["SUBSTREG_HOME"]) / "keyring.json"
        )
        try:
            return ledger(store)
        finally:
            store.engine.dispose()


def _pages(served: Served) -> int:
    held = served.state.resources
    return sum(max(1, math.ceil(len(held.get(kind, {})) / PAGE)) for kind in PULLED_TYPES)


def _wait_for(condition: object, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL


def test_a_pull_killed_while_reading_and_while_syncing_resumes_to_the_same_ledger(
    fhir_server: Served, tmp_path: Path
) -> None:
    state = fhir_server.state
    whole = Installation(tmp_path / "uninterrupted")
    whole.pull(fhir_server.base)
    expected = whole.ledger()
    assert len(expected) == 16
    pages = _pages(fhir_server)

    crashed = Installation(tmp_path / "crashed")
    # 1. killed while it reads: the eleventh page request is held until the kill
    state.pages_served, state.stall_after_pages = 0, 10
    child = crashed.start_pull(fhir_server.base)
    _wait_for(lambda: state.pages_served > 10, "the held page")
    _kill(child)
    assert crashed.count("pull_checkpoint") == 0
    assert crashed.count("report") == 0
    state.stall_after_pages = None
    state.release.set()
    # 2. killed once every page was read: in the sync (one transaction) or just after
    state.pages_served = 0
    child = crashed.start_pull(fhir_server.base)
    _wait_for(lambda: state.pages_served >= pages, "the last page")
    time.sleep(0.2)
    _kill(child)
    kept = crashed.count("report")
    assert kept in (0, len(expected))  # all of the sync or none of it
    # 3. run again to the end
    out = crashed.pull(fhir_server.base)
    assert "Pulled from" in out
    assert crashed.ledger() == expected
    assert crashed.count("pull_checkpoint") == whole.count("pull_checkpoint") > 0
    # 4. and once more: nothing new is read, nothing recorded
    assert crashed.pull(fhir_server.base).count("Recorded 0 report(s)") == 1
    assert crashed.ledger() == expected


def test_checkpoints_lost_after_the_sync_mean_the_same_resources_read_again_harmlessly(
    fhir_server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the sync committed and before the checkpoints moved (here: keeping
    them fails once): the next pull reads everything again, records nothing new, and
    moves the checkpoints."""
    store, _ = make_twin()
    real = pull_service._advance
    calls = []

    def crash_once(*args: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt("killed before the checkpoints were kept")
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pull_service, "_advance", crash_once)
    with pytest.raises(KeyboardInterrupt):
        pull(store, ACTOR, client(fhir_server.base), options(), page_size=PAGE)
    first = ledger(store)
    assert len(first) == 16
    assert store.read(lambda space: space.pull.checkpoints(fhir_server.base)) == {}
    again = pull(store, ACTOR, client(fhir_server.base), options(), page_size=PAGE)
    assert again.resources == sum(
        len(v) for k, v in fhir_server.state.resources.items() if k in PULLED_TYPES
    )
    assert again.recorded == []
    assert ledger(store) == first
    assert store.read(lambda space: space.pull.checkpoints(fhir_server.base))


def test_what_a_killed_pull_spooled_stays_private_and_goes_with_the_next_pull(
    fhir_server: Served, tmp_path: Path
) -> None:
    """The pages are spooled in the installation's home (mode 0700), not in /tmp; a pull
    killed while reading leaves them there, and the next pull removes them."""
    state = fhir_server.state
    crashed = Installation(tmp_path / "crashed")
    spool = Path(crashed.env["SUBSTREG_HOME"]) / "spool" / "pull"
    state.stall_after_pages = 3
    child = crashed.start_pull(fhir_server.base)
    _wait_for(lambda: state.pages_served > 3, "the held page")
    _kill(child)
    assert any(spool.iterdir())
    assert (spool.stat().st_mode & 0o777, spool.parent.stat().st_mode & 0o777) == (0o700, 0o700)
    state.stall_after_pages = None
    state.release.set()
    crashed.pull(fhir_server.base)
    assert not spool.exists()
