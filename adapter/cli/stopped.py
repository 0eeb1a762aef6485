"""How `substreg` ends when a person stops it (Ctrl-C) or its reader goes away (`| head`):
one line and 130, or silence and 141, never a traceback (D-205, D-235).

A command's output to a pipe or file is buffered; it is written by `main` before it
returns, while these are still answered. What is left unwritten when they come is
dropped: the person or the reader did not want it, and the interpreter's end would
otherwise write it again (and block on a full pipe, or fail on a closed one).
"""

from __future__ import annotations

import os
import select
import signal
import sys
from types import FrameType

from adapter.cli.exits import EXIT_INTERRUPTED, EXIT_READER_GONE, INTERRUPTED

__all__ = ["EXIT_READER_GONE", "guard_the_end", "interrupted", "reader_gone"]


def interrupted() -> int:
    """Ctrl-C: the unwritten output dropped, the one line said; the exit status."""
    _drop_output()
    print(INTERRUPTED, file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED


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


def guard_the_end(status: int) -> None:
    """From here only the interpreter's end is left (the output written): an interrupt
    now says the one line (unless it was said) and ends the process with 130 at once."""

    def stop(_signal: int, _frame: FrameType | None) -> None:
        if status != EXIT_INTERRUPTED:
            sys.stderr.write(INTERRUPTED + "\n")
            sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)  # nothing is left to write or roll back

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
