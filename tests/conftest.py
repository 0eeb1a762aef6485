"""Fixtures shared by the test packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import Cli
from tests.storage import Database, database

__all__ = ["cli", "database"]


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    database: Database,
) -> Cli:
    """An installation driven through the CLI, on SQLite and on PostgreSQL."""
    return Cli(monkeypatch, capsys, tmp_path, database.url)
