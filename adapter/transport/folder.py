"""The `folder` transport (docs/SUBMISSION.md "Transports"): each envelope written into a
folder for a separate uploader, with a manifest of what is there.

    {folder}/{batch_id}.p7m     the envelope (DER), byte for byte as stored in the outbox
    {folder}/manifest.json      {"format": "substreg-folder/1", "batches": [{"batch_id",
                                "file", "sha256", "size", "reports", "written_at"}, …]}

Both are written whole or not at all (a temporary file, fsync, rename, then the folder
fsynced; mode 0600), the envelope first: an uploader that reads the manifest finds every
file it names complete. Writers of one folder take turns (a lock file beside the
manifest). Delivering a batch again is idempotent: the same bytes under the same id add
nothing (a crash between the two writes is completed); other bytes under that id are
refused for good, and the file there is left alone. No receipt comes back: the batch is
`sent`, and the file name is its proof.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from adapter.errors import PermanentTransportError, TransientTransportError
from adapter.settings.files import make_private_dirs, write_private
from adapter.settings.submission import TransportSettings
from adapter.transport.base import Delivered, Parcel

__all__ = ["MANIFEST", "FolderTransport", "from_settings"]

MANIFEST = "manifest.json"
FORMAT = "substreg-folder/1"
_LOCK = ".manifest.lock"


class FolderTransport:
    """Writes each parcel's envelope into `folder` and lists it in the manifest."""

    name = "folder"

    def __init__(self, folder: Path, *, clock: Callable[[], datetime]) -> None:
        self.folder = folder
        self._clock = clock

    def deliver(self, parcel: Parcel) -> Delivered:
        digest = hashlib.sha256(parcel.envelope).hexdigest()
        path = self.folder / f"{parcel.batch_id}.p7m"
        try:
            make_private_dirs(self.folder)
            with self._turn():
                batches = self._manifest()
                listed = next((b for b in batches if b.get("batch_id") == parcel.batch_id), None)
                if listed is not None:
                    return self._again(parcel, listed, digest)
                self._write_envelope(path, parcel, digest)
                entry = {
                    "batch_id": parcel.batch_id,
                    "file": path.name,
                    "sha256": digest,
                    "size": len(parcel.envelope),
                    "reports": len(parcel.batch.reports),
                    "written_at": _utc(self._clock()),
                }
                self._write_manifest([*batches, entry])
                return Delivered(at=_moment(entry["written_at"], None), proof=path.name)
        except OSError as exc:  # a full disk, a folder not (yet) writable: try again later
            reason = exc.strerror or type(exc).__name__
            msg = f"The folder {self.folder} cannot be written ({reason})."
            raise TransientTransportError(msg) from None

    def _again(self, parcel: Parcel, listed: dict[str, Any], digest: str) -> Delivered:
        """The batch is in the manifest: the same bytes are delivered, others refused."""
        if listed.get("sha256") != digest:
            msg = (
                f"The folder {self.folder} holds another envelope under the batch id "
                f"{parcel.batch_id}; it is left as it is. Resend the batch under a new id."
            )
            raise PermanentTransportError(msg)
        written = _moment(listed.get("written_at"), self._clock)
        return Delivered(at=written, proof=str(listed.get("file")))

    def _write_envelope(self, path: Path, parcel: Parcel, digest: str) -> None:
        """Write the envelope, unless a crash after an earlier write left it there whole."""
        try:
            there = path.read_bytes()
        except FileNotFoundError:
            write_private(path, parcel.envelope)
            return
        if hashlib.sha256(there).hexdigest() != digest:
            msg = (
                f"The folder {self.folder} holds another file {path.name} that is not in its "
                "manifest; it is left as it is. Move it away, or resend the batch under a "
                "new id."
            )
            raise PermanentTransportError(msg)

    def _manifest(self) -> list[dict[str, Any]]:
        try:
            document = orjson.loads((self.folder / MANIFEST).read_bytes())
        except FileNotFoundError:
            return []
        except orjson.JSONDecodeError:
            document = None
        batches = document.get("batches") if isinstance(document, dict) else None
        if not isinstance(batches, list) or not all(isinstance(b, dict) for b in batches):
            msg = (
                f"{self.folder / MANIFEST} is not a manifest of substreg ({FORMAT}); it is left "
                "as it is. Move it away so that a new one is written."
            )
            raise PermanentTransportError(msg)
        return batches

    def _write_manifest(self, batches: list[dict[str, Any]]) -> None:
        document = {"format": FORMAT, "batches": batches}
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        write_private(self.folder / MANIFEST, data + b"\n")

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """One writer of the folder at a time, across processes (an advisory file lock)."""
        with (self.folder / _LOCK).open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def from_settings(settings: TransportSettings) -> FolderTransport:
    """`[submission.folder] path = "…"` (relative to practice.toml's folder)."""
    settings.only("path")
    return FolderTransport(settings.path("path"), clock=settings.clock)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _moment(value: object, clock: Callable[[], datetime] | None) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is not None:
        return moment
    if clock is None:
        raise ValueError(value)
    return clock()  # an entry an uploader rewrote: delivered, when is not known
