"""Fixtures shared by the test packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import Cli
from tests.storage import Database, _templates, database, db, empty_database, kind
from tests.submission.pki import SubmissionPki, make_submission_pki

__all__ = [
    "_templates",
    "cli",
    "cli_without_schema",
    "database",
    "db",
    "empty_database",
    "kind",
    "submission_pki",
]


@pytest.fixture(scope="session")
def submission_pki() -> SubmissionPki:
    """The practice's and the register's keys for submissions (tests/submission/pki.py),
    made once per session: RSA 3072 is slow."""
    return make_submission_pki()


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    database: Database,
) -> Cli:
    """An installation driven through the CLI, on SQLite and on PostgreSQL."""
    return Cli(monkeypatch, capsys, tmp_path, database.url)


@pytest.fixture
def cli_without_schema(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    empty_database: Database,
) -> Cli:
    """An installation whose database no `init` has touched (no schema at all)."""
    return Cli(monkeypatch, capsys, tmp_path, empty_database.url)
