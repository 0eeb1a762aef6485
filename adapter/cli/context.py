"""What every stateful command starts from: the settings, who acts, the clock, and, for
the commands that destroy or take back, a person's confirmation.

The clock is one function (`clock`), read each time a command needs the day: the tests
set it, and a wrong clock is a fault the commands guard against (issue 9), never one they
hide. A destructive command shows what it will do and asks on a terminal; without one it
needs `--yes`, else it refuses in one line and changes nothing.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from adapter.errors import NotConfirmed

if TYPE_CHECKING:
    from adapter.settings.environment import Settings
    from adapter.store.audit import Actor
    from adapter.store.workspace import Store

_BERLIN = ZoneInfo("Europe/Berlin")
_YES = frozenset({"yes", "ja", "y", "j"})


def clock() -> datetime:
    """This machine's time (UTC)."""
    return datetime.now(UTC)


def today_in_berlin() -> date:
    """The register counts German days (INPUT.md): the default --as-of of the commands."""
    return clock().astimezone(_BERLIN).date()


def context() -> tuple[Settings, Actor, datetime]:
    # The composition root (the store, SQLAlchemy) is loaded by the commands that use it
    # only: `validate` reads the clock here and must stay light.
    from adapter import composition  # noqa: PLC0415

    settings = composition.settings()
    return settings, composition.operator(settings), clock()


def store(settings: Settings) -> Store:
    from adapter import composition  # noqa: PLC0415

    return composition.store(settings, clock)  # looked up now: the tests may set it


def confirm(what: str, question: str, *, yes: bool) -> None:
    """Go on when `--yes` was given or a person at the terminal answers yes; otherwise
    NotConfirmed. `what` says in one line what would have been done."""
    if yes:
        return
    if not sys.stdin.isatty():
        msg = f"{what}: run it at a terminal to be asked, or give --yes"
        raise NotConfirmed(msg)
    sys.stdout.write(f"{question} Type yes to go on: ")
    sys.stdout.flush()
    if sys.stdin.readline().strip().lower() not in _YES:
        msg = "not confirmed: nothing was changed"
        raise NotConfirmed(msg)
