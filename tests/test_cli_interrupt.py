"""Ctrl-C: one line and exit 130, never a traceback; the step under way is rolled back (D-205)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapter.cli.exits import EXIT_INTERRUPTED, EXIT_READER_GONE, FINISHED, OUTPUT_CUT
from adapter.cli.main import main
from adapter.services import sync as sync_service
from tests.cli_helpers import SYNC, Cli, one_line
from tests.storage import ON_SQLITE_ONLY


@ON_SQLITE_ONLY
def test_ctrl_c_in_the_middle_of_a_sync_keeps_nothing_of_it_and_says_so(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync interrupted while it walks the patients: exit 130, one line, the database as it
    was before; the next sync records what an uninterrupted one does."""
    cli.ok("init")
    before = cli.counts()

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(sync_service.Walker, "derive", interrupted)
        run = cli.run(*SYNC)
    assert run.status == EXIT_INTERRUPTED
    assert "interrupted" in one_line(run.err)
    assert cli.counts() == before
    cli.ok(*SYNC)
    assert len(cli.ledger_ids()) > 0


@ON_SQLITE_ONLY
def test_ctrl_c_while_a_command_loads_is_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted before any work (while a command's modules load): one line, exit 130."""

    def interrupted(*_: object, **__: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("adapter.cli.run.run", interrupted)
    run = cli.run("reports", "list")
    assert run.status == EXIT_INTERRUPTED
    assert one_line(run.err).startswith("substreg: interrupted")


# -- the final output (D-235) ------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
DERIVE = ("derive", "demo", "--as-of", "2025-12-31", "--config", "demo/practice.toml")
BUFFERED = pytest.mark.parametrize(
    "unbuffered", [False, True], ids=["block-buffered", "PYTHONUNBUFFERED"]
)


def _child_env(*, unbuffered: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBSTREG_")}
    env.pop("PYTHONUNBUFFERED", None)  # as a person's shell has it: output buffered
    return env | ({"PYTHONUNBUFFERED": "1"} if unbuffered else {})


def _full_pipe() -> tuple[int, int]:
    """A pipe whose buffer is full already: the next write to it blocks."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    with contextlib.suppress(BlockingIOError):
        while True:
            os.write(write_end, b"x" * 4096)
    os.set_blocking(write_end, True)
    return read_end, write_end


def _blocked_writing(pid: int) -> bool:
    wchan = Path(f"/proc/{pid}/wchan")
    return wchan.exists() and "pipe_write" in wchan.read_text()


@BUFFERED
@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux's /proc")
def test_ctrl_c_while_the_final_output_waits_for_its_reader_is_one_line(
    unbuffered: bool,
) -> None:
    """`derive … | a reader that does not read`: Ctrl-C while the output waits to be
    written (inside the command, or, buffered, after it returned) is the one line and
    130, not "Exception ignored … KeyboardInterrupt" and exit 120."""
    read_end, write_end = _full_pipe()
    child = subprocess.Popen(
        [sys.executable, "-m", "adapter.cli", *DERIVE, "--format", "table"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=_child_env(unbuffered=unbuffered),
    )
    os.close(write_end)
    try:
        deadline = time.monotonic() + 60
        while not _blocked_writing(child.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _blocked_writing(child.pid), "the command never waited to write"
        child.send_signal(signal.SIGINT)
        status = child.wait(timeout=30)
        err = child.stderr.read().decode() if child.stderr else ""
    finally:
        child.kill()
        child.wait()
        os.close(read_end)
    assert status == EXIT_INTERRUPTED, err
    assert one_line(err).startswith("substreg: interrupted")


@BUFFERED
def test_a_reader_that_went_away_gets_no_traceback(unbuffered: bool) -> None:
    """`substreg derive … | head` where head has gone before the output is written: no
    traceback and no "Exception ignored", exit 141 as for SIGPIPE, like `cat | head`."""
    child = subprocess.Popen(
        [sys.executable, "-m", "adapter.cli", *DERIVE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=_child_env(unbuffered=unbuffered),
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before a line is written
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == EXIT_READER_GONE
    assert err == ""


WHEN_THE_END_COMES = {
    # In the process's end (an atexit callback): where the interpreter once gave SIGINT
    # back to the system's default and the process died silently with 130 (r1 item 10).
    "in-the-end": (
        "import atexit, importlib, os, signal, time\n"
        "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(5)))\n"
        "importlib.import_module('adapter.cli.main').console()\n"
    ),
    # Between `main`'s return and the guard of the end.
    "after-main": (
        "import importlib, os, signal\n"
        "cli = importlib.import_module('adapter.cli.main')\n"
        "guard = cli.stopped.guard_the_end\n"
        "def guarded(status):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    guard(status)\n"
        "cli.stopped.guard_the_end = guarded\n"
        "cli.console()\n"
    ),
}


@pytest.mark.parametrize("script", WHEN_THE_END_COMES.values(), ids=WHEN_THE_END_COMES.keys())
def test_ctrl_c_after_the_command_finished_says_its_work_is_done_and_keeps_its_status(
    script: str,
) -> None:
    """An interrupt landing once `main` has returned (the work done, the output written in
    full): one line saying so, and the command's own status, 0, never a silent 130 (D-255)."""
    run = subprocess.run(
        [sys.executable, "-c", script, *DERIVE, "--format", "table"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_child_env(unbuffered=False),
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert one_line(run.stderr) == FINISHED
    assert run.stdout.startswith("Reports due by 2025-12-31")


class _StalledOutput(io.StringIO):
    """Standard output whose final flush is where Ctrl-C lands."""

    def flush(self) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_in_the_final_flush_is_answered_by_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`main` writes the buffered output itself, inside its own handler: an interrupt
    there is one line and 130 (it used to come at the interpreter's end, unanswered); the
    command had returned, so the line says its work is done and only the output is cut
    (D-255)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "stdout", _StalledOutput())
    status = main([*DERIVE, "--format", "table"])
    assert status == EXIT_INTERRUPTED
    assert one_line(capsys.readouterr().err) == OUTPUT_CUT


def test_a_broken_pipe_that_is_not_standard_output_stays_visible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only a reader of standard output gone is silent: any other broken pipe is a fault
    and is not hidden."""

    def broken(*_: object, **__: object) -> int:
        raise BrokenPipeError

    monkeypatch.setattr("adapter.cli.run.run", broken)
    with pytest.raises(BrokenPipeError):
        main([*DERIVE])
