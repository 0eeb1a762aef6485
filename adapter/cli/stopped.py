"""How `substreg` ends when a person stops it (Ctrl-C) or its reader goes away (`| head`):
one line and 130, or silence and 141, never a traceback (D-205, D-235). Once the command's
work is done, Ctrl-C says so, and keeps the command's status when its output was written
in full (D-255).

A command's output to a pipe or file is buffered; it is written by `main` before it
returns, while these are still answered. What is left unwritten when they come is
dropped: the person or the reader did not want it, and the interpreter's end would
otherwise write it again (and block on a full pipe, or fail on a closed one).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn

from adapter.cli.exits import (
    EXIT_INTERRUPTED,
    EXIT_READER_GONE,
    FINISHED,
    INTERRUPTED,
    OUTPUT_CUT,
    stopped_line,
)

__all__ = [
    "EXIT_READER_GONE",
    "end",
    "finished",
    "guard_the_end",
    "interrupted",
    "reader_gone",
    "until_stopped",
]


def interrupted(*, done: bool = False) -> int:
    """Ctrl-C: the unwritten output dropped, the one line said; the exit status. `done`:
    the command had returned (its work kept) and only its output was still being written."""
    _drop_output()
    print(OUTPUT_CUT if done else INTERRUPTED, file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED


def finished(status: int) -> int:
    """Ctrl-C after `main` returned, its output written: the work is done and kept, so the
    command's own status stands, and one line says so (D-255), unless a line was said."""
    if status != EXIT_INTERRUPTED:
        sys.stderr.write(FINISHED + "\n")
        sys.stderr.flush()
    return status


def end(status: int) -> NoReturn:
    """End the process with `status` without the interpreter's finalization: there Python
    gives SIGINT back to the system's default, and a Ctrl-C killed the process silently
    with 130 after all its work and output were done (D-255). What the finalization does
    that matters is done here: other threads joined, the atexit callbacks run (logging's
    flush, a coverage run's data), the standard streams flushed."""
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a reader gone: nothing is left to tell it
            stream.flush()
    os._exit(status)


def reader_gone() -> bool:
    """Whether standard output's reader has gone (a pipe closed: `| head`, a pager left);
    then its unwritten output is dropped. False for any other broken pipe: that one is
    a fault and stays visible."""
    fd = _stdout_fd()
    if fd is None:
        return False
    poller = select.poll()
    poller.register(fd, 0)  # POLLERR and POLLHUP are reported whatever is asked
    gone = any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    if gone:
        _drop_output()
    return gone


@contextlib.contextmanager
def until_stopped(what: str) -> Iterator[threading.Event]:
    """For a command that runs until it is stopped: SIGINT (Ctrl-C) and SIGTERM set the
    event it yields, so that it finishes what it has in hand; then one line says it
    stopped and `what` of its work stands, and the command exits 0 (D-205, D-255)."""
    stop = threading.Event()

    def stopping(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop.is_set():
        print(stopped_line(what), file=sys.stderr, flush=True)


def guard_the_end(status: int) -> None:
    """From here only the end is left (the work done, the output written): an interrupt
    now says so in one line (unless a line was said) and ends the process at once with
    the command's own status (D-255)."""

    def stop(_signal: int, _frame: FrameType | None) -> None:
        os._exit(finished(status))  # nothing is left to write or roll back

    signal.signal(signal.SIGINT, stop)


def _drop_output() -> None:
    """Point standard output at /dev/null, so that what its buffer holds goes nowhere."""
    fd = _stdout_fd()
    if fd is None:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _stdout_fd() -> int | None:
    """Standard output's file descriptor; None when it has none (a test's capture)."""
    try:
        return sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
