"""The `paper` transport (R-CH-1; docs/SUBMISSION.md "Transports"): the batch printed as
the register's report form, a PDF written into a folder to be printed, stamped, signed
and posted. The register confirms nothing it gets by post (004 §2.1.2): delivered means
printed (`sent`), and the day it was printed is the proof.

`{folder}/{batch_id}.pdf` is written whole or not at all (a temporary file, fsync,
rename; mode 0600: the form holds codes in clear). A second delivery of the same batch
finds its form and returns the first one's time without writing again; a file of
another batch under that name is never overwritten (D-111).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from adapter.errors import PermanentTransportError, TransientTransportError
from adapter.settings.files import make_private_dirs, write_private
from adapter.settings.submission import TransportSettings
from adapter.transport.base import Delivered, Parcel
from adapter.transport.paper_marker import batch_digest, read_marker

__all__ = ["PaperTransport"]


class PaperTransport:
    """Writes each parcel's batch as a PDF form into `folder`; `place` is the form's "Ort"
    (left blank for the hand when empty), `clock` gives the time of printing."""

    name = "paper"

    def __init__(self, folder: Path, *, place: str, clock: Callable[[], datetime]) -> None:
        self._folder = folder
        self._place = place
        self._clock = clock

    def deliver(self, parcel: Parcel) -> Delivered:
        if parcel.batch.batch_id != parcel.batch_id:
            msg = f"Parcel {parcel.batch_id} holds the batch {parcel.batch.batch_id}."
            raise PermanentTransportError(msg)
        path = self._folder / f"{parcel.batch_id}.pdf"
        existing = self._read(path)
        if existing is not None:
            return self._again(path, existing, parcel)
        printed_at = self._clock()
        # fpdf2 takes long to import: only when a form is made.
        from adapter.transport.paper_form import render_form  # noqa: PLC0415

        document = render_form(parcel.batch, self._place, printed_at)
        try:
            make_private_dirs(self._folder)
            write_private(path, document)
        except OSError as exc:
            raise self._cannot(path, "write", exc) from None
        return Delivered(at=printed_at, proof=path.name)

    def _again(self, path: Path, existing: bytes, parcel: Parcel) -> Delivered:
        """The form is there already: the same batch's is delivered, another's refused."""
        marker = read_marker(existing)
        same = (
            marker is not None
            and marker.batch_id == parcel.batch_id
            and marker.batch_sha256 == batch_digest(parcel.batch)
        )
        if marker is None or not same:
            msg = (
                f"The paper form {path.name} in {self._folder} holds another batch "
                "(or is no form of substreg); it is left as it is. Move it away if it "
                "was never posted, or resend the batch under a new id."
            )
            raise PermanentTransportError(msg)
        return Delivered(at=marker.printed_at, proof=path.name)

    def _read(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._cannot(path, "read", exc) from None

    def _cannot(self, path: Path, verb: str, exc: OSError) -> TransientTransportError:
        reason = exc.strerror or type(exc).__name__
        msg = f"Cannot {verb} the paper form {path.name} in {self._folder} ({reason})."
        return TransientTransportError(msg)


def from_settings(settings: TransportSettings) -> PaperTransport:
    """`[submission.paper] path = "…"` (the folder the forms are printed from, relative to
    practice.toml's folder) and `place` (printed beside the date and signature)."""
    settings.only("path", "place")
    return PaperTransport(settings.path("path"), place=settings.text("place"), clock=settings.clock)
