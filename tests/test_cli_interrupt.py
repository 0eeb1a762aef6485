"""Ctrl-C: one line and exit 130, never a traceback; the step under way is rolled back (D-205)."""

from __future__ import annotations

import pytest

from adapter.cli.exits import EXIT_INTERRUPTED
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
