"""The two installations of the handover tests (tests/handover/cases/README.md): a
sending and a receiving one, each with its own keyring and database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.handover.cases.sites import Site, site
from tests.storage import _Templates


@pytest.fixture
def backend() -> str:
    """The installations' database: SQLite, unless a case parametrises `backend`."""
    return "sqlite"


@pytest.fixture
def two(
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    _templates: _Templates,
) -> Iterator[tuple[Site, Site]]:
    """The sending and the receiving installation, each with a database of its own."""
    if backend == "sqlite":
        yield (
            site(tmp_path / "sender", monkeypatch, capsys),
            site(tmp_path / "receiver", monkeypatch, capsys),
        )
        return
    for sender in _templates.postgresql():
        for receiver in _templates.postgresql():
            yield (
                site(tmp_path / "sender", monkeypatch, capsys, sender),
                site(tmp_path / "receiver", monkeypatch, capsys, receiver),
            )
