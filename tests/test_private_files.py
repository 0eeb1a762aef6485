"""Files with patient data or keys are their owner's only (review of issue 13): the
service's registry (0600) and home (0700, on SQLite and PostgreSQL), and the files
`import --keep` downloads (0600), whatever the umask; the helpers that make them so."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapter.settings.files import make_private_file, open_private, write_private_together
from adapter.settings.service import ServiceSettings
from adapter.store.opening import open_registry, prepare_tenant_database
from tests.storage import empty_postgresql


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """A umask that takes nothing off: what the process's umask would not hide."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_a_private_file_is_made_0600_and_an_old_one_made_so(tmp_path: Path) -> None:
    """A new file is 0600 from its start; an existing one is left whole and made 0600."""
    new, old = tmp_path / "new", tmp_path / "old"
    make_private_file(new)
    old.write_bytes(b"kept")
    old.chmod(0o644)
    make_private_file(old)
    assert (_mode(new), new.read_bytes(), _mode(old), old.read_bytes()) == (
        0o600,
        b"",
        0o600,
        b"kept",
    )


def test_a_file_opened_privately_is_0600_and_written_from_its_start(tmp_path: Path) -> None:
    """A download's file: 0600 new or not, its old content gone."""
    path = tmp_path / "output.ndjson"
    path.write_bytes(b"an older and longer content")
    path.chmod(0o644)
    with open_private(path) as out:
        out.write(b"{}\n")
    assert (_mode(path), path.read_bytes()) == (0o600, b"{}\n")


def test_the_sqlite_services_registry_and_tenant_homes_are_private(tmp_path: Path) -> None:
    """registry.db is 0600 (its journals follow it), the home and tenants/ 0700."""
    settings = ServiceSettings(home=tmp_path / "service", postgresql_url=None)
    registry = open_registry(settings)
    registry.engine.dispose()  # type: ignore[attr-defined]
    prepare_tenant_database(settings, "alpha")
    assert _mode(settings.registry_path) == 0o600
    folders = (settings.home, settings.home / "tenants", settings.tenant_home("alpha"))
    assert [_mode(f) for f in folders] == [0o700] * 3


def test_a_postgresql_services_home_is_made_0700(tmp_path: Path) -> None:
    """On PostgreSQL the home is first made for a tenant's keyring: 0700, not 0755."""
    for url in empty_postgresql():
        settings = ServiceSettings(home=tmp_path / "service", postgresql_url=url)
        prepare_tenant_database(settings, "alpha")
        folders = (settings.home, settings.home / "tenants", settings.tenant_home("alpha"))
        assert [_mode(f) for f in folders] == [0o700] * 3


def test_files_written_together_are_all_or_none(tmp_path: Path) -> None:
    """The second file cannot be written (its folder is missing): the first, already
    complete, is not left behind either, nor any temporary file."""
    first, second = tmp_path / "a.json", tmp_path / "missing" / "a.pdf"
    with pytest.raises(OSError):
        write_private_together({first: b"{}", second: b"%PDF"})
    assert list(tmp_path.iterdir()) == []
    write_private_together({first: b"{}", tmp_path / "a.pdf": b"%PDF"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.pdf"]
    assert _mode(first) == 0o600
