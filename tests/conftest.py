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


# The tests that take many seconds each (real processes, exhaustive loops): collected
# first, so that `make test`'s workers start them at once, and none is left holding one
# at the end while the other idles. Only the order changes, never what runs.
LONG_RUNNING = (
    "tests/submission/test_crash.py",
    "tests/e2e/",
    "tests/pull/test_crash_resume.py",
    "tests/api/test_serve",
    "tests/test_benchmark_submit_roundtrip.py",
    "tests/transport/test_exactly_once.py",
    "tests/api/test_fhir_versions_property.py",
    "tests/api/test_fhir_sql.py",
    "tests/api/test_schema.py",
    "tests/crypto/test_envelope_tamper.py",
    "tests/transport/test_paper.py",
    "tests/sync/test_sync_privacy.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_RUNNING))
