"""The two installations of the handover tests (tests/handover/cases/README.md): a
sending and a receiving one, each with its own keyring and database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.handover.cases import fhir
from tests.handover.cases.sites import Site, site
from tests.storage import _Templates

SOMMER = fhir.Doctor("sommer", "3810101", "381010101", "Sommer", "Heike", "1968-02-14")
WINTER = fhir.Person("p-4711", "Winter", "Marcel", "1988-06-21", "male", "W123456789")


@pytest.fixture
def sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[Site, Site, Path, str]:
    """A sender that exported Marcel Winter's handover, and a fresh receiver."""
    sender = site(tmp_path / "sender", monkeypatch, capsys)
    first, last = date(2025, 3, 3), date(2025, 5, 14)
    data = fhir.write_export(
        tmp_path / "data",
        [
            fhir.practitioner(SOMMER),
            fhir.patient(WINTER),
            fhir.episode("eoc-1", WINTER, SOMMER, first),
            fhir.request("mr-1", WINTER, SOMMER, first),
            *fhir.doses("ma", WINTER, SOMMER, links=("eoc-1", "mr-1"), days=(first, last)),
        ],
    )
    sender.sync(data, "2025-05-14")
    document, signer = sender.export("Patient/p-4711", "JVA Dresden", "2025-05-15")
    return sender, site(tmp_path / "receiver", monkeypatch, capsys), document, signer


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
