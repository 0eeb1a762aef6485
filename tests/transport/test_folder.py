"""The `folder` transport: each envelope written whole as `{batch_id}.p7m`, listed in a
manifest written whole too, and a second delivery of a batch adding nothing."""

from __future__ import annotations

import hashlib
import json
import stat
import threading
from pathlib import Path

import pytest

from adapter.domain.batch import Batch
from adapter.errors import ConfigError, PermanentTransportError, TransientTransportError
from adapter.settings.submission import TransportSettings
from adapter.transport.base import Parcel
from adapter.transport.folder import MANIFEST, FolderTransport, from_settings
from tests.storage import NOW
from tests.submission.seeding import report

ENVELOPE = bytes(range(256)) * 8


def parcel(batch_id: str = "sr-1234567-b1", envelope: bytes = ENVELOPE, reports: int = 2) -> Parcel:
    batch = Batch(batch_id, "1234567", NOW, tuple(report(n, "1234567") for n in range(reports)))
    return Parcel(batch_id, envelope, batch)


def manifest(folder: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads((folder / MANIFEST).read_text())
    return document


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "outbox" / "register"  # made on first delivery, 0700


@pytest.fixture
def transport(folder: Path) -> FolderTransport:
    return FolderTransport(folder, clock=lambda: NOW)


def test_an_envelope_is_written_byte_for_byte_and_listed_in_the_manifest(
    transport: FolderTransport, folder: Path
) -> None:
    """`{batch_id}.p7m` holds the envelope, mode 0600; the manifest names its file,
    SHA-256, size, reports and time; no temporary file is left; no receipt comes back."""
    delivered = transport.deliver(parcel())
    path = folder / "sr-1234567-b1.p7m"
    assert path.read_bytes() == ENVELOPE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (delivered.at, delivered.receipt, delivered.proof) == (NOW, None, path.name)
    assert manifest(folder) == {
        "format": "substreg-folder/1",
        "batches": [
            {
                "batch_id": "sr-1234567-b1",
                "file": path.name,
                "sha256": hashlib.sha256(ENVELOPE).hexdigest(),
                "size": len(ENVELOPE),
                "reports": 2,
                "written_at": "2026-12-01T09:00:00Z",
            }
        ],
    }
    assert sorted(p.name for p in folder.iterdir()) == [
        ".manifest.lock",
        MANIFEST,
        path.name,
    ]


def test_the_same_batch_again_adds_nothing(folder: Path) -> None:
    """A retry after a lost answer: the same bytes under the same id give the first
    delivery's time and proof; file and manifest stay as they were."""
    FolderTransport(folder, clock=lambda: NOW).deliver(parcel())
    before = (folder / MANIFEST).read_bytes()
    later = FolderTransport(folder, clock=lambda: NOW.replace(hour=12))
    again = later.deliver(parcel())
    assert (again.at, again.proof) == (NOW, "sr-1234567-b1.p7m")
    assert (folder / MANIFEST).read_bytes() == before


def test_other_bytes_under_a_batch_id_are_refused_for_good(
    transport: FolderTransport, folder: Path
) -> None:
    """Another envelope under a listed id: PermanentTransportError, the file untouched."""
    transport.deliver(parcel())
    with pytest.raises(PermanentTransportError, match="another envelope under the batch id"):
        transport.deliver(parcel(envelope=b"other"))
    assert (folder / "sr-1234567-b1.p7m").read_bytes() == ENVELOPE
    assert len(manifest(folder)["batches"]) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize("same", [True, False], ids=["same-bytes", "other-bytes"])
def test_a_file_left_by_a_crash_before_the_manifest_is_completed_or_refused(
    transport: FolderTransport, folder: Path, same: bool
) -> None:
    """The envelope was renamed into place, then the writer died before the manifest: the
    same bytes are listed now; other bytes are refused and left alone."""
    folder.mkdir(parents=True)
    (folder / "sr-1234567-b1.p7m").write_bytes(ENVELOPE if same else b"half")
    if same:
        transport.deliver(parcel())
        assert len(manifest(folder)["batches"]) == 1  # type: ignore[arg-type]
    else:
        with pytest.raises(PermanentTransportError, match="not in its manifest"):
            transport.deliver(parcel())
        assert (folder / "sr-1234567-b1.p7m").read_bytes() == b"half"


def test_a_manifest_that_is_none_is_left_alone(transport: FolderTransport, folder: Path) -> None:
    """A manifest.json of something else stops the delivery; it is not overwritten."""
    folder.mkdir(parents=True)
    (folder / MANIFEST).write_text('{"not": "ours"}')
    with pytest.raises(PermanentTransportError, match="not a manifest of substreg"):
        transport.deliver(parcel())
    assert (folder / MANIFEST).read_text() == '{"not": "ours"}'


def test_a_folder_that_cannot_be_written_is_tried_again_later(tmp_path: Path) -> None:
    """A file where the folder should be (or a full disk): transient, try again."""
    blocked = tmp_path / "outbox"
    blocked.write_text("a file")
    with pytest.raises(TransientTransportError, match="cannot be written"):
        FolderTransport(blocked, clock=lambda: NOW).deliver(parcel())


def test_parallel_writers_lose_no_entry_of_the_manifest(folder: Path) -> None:
    """Workers writing into one folder at once take turns: every batch is listed."""
    transports = [FolderTransport(folder, clock=lambda: NOW) for _ in range(4)]
    threads = [
        threading.Thread(target=transports[n % 4].deliver, args=(parcel(f"b-{n}"),))
        for n in range(24)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    listed = sorted(b["batch_id"] for b in manifest(folder)["batches"])  # type: ignore[attr-defined, index]
    assert listed == sorted(f"b-{n}" for n in range(24))


def _settings(tmp_path: Path, options: dict[str, object]) -> TransportSettings:
    return TransportSettings(
        "folder",
        options,
        tmp_path,
        "practice.toml: [submission.folder]",
        tmp_path / "register.pem",
        None,
        lambda: NOW,
    )


def test_the_folder_is_read_relative_to_the_configuration(tmp_path: Path) -> None:
    """`path` relative to practice.toml's folder; an unknown setting or no path is refused."""
    assert from_settings(_settings(tmp_path, {"path": "out"})).folder == tmp_path / "out"
    with pytest.raises(ConfigError, match=r"\[submission.folder\]: unknown setting 'pth'"):
        from_settings(_settings(tmp_path, {"pth": "out"}))
    with pytest.raises(ConfigError, match="path must be given"):
        from_settings(_settings(tmp_path, {}))
