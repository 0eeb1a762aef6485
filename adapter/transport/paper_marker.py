"""The line a paper form carries in its PDF keywords, so that a form already in the folder
can be told apart from another batch's without a PDF reader (D-111):

    substreg-paper-form/1 batch_id=b-2025-06-30-1 batch_sha256=<hex> printed_at=<UTC>

fpdf2 writes an ASCII keyword string as it is (`/Keywords (…)`), so the line is found in
the file's bytes. The digest is over the batch's canonical JSON: the same batch gives the
same digest whatever time the form was printed at.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from adapter.domain.batch import Batch, batch_bytes

MARKER: Final = "substreg-paper-form/1"
_LINE: Final = re.compile(
    rb"/Keywords \(substreg-paper-form/1 batch_id=([A-Za-z0-9._-]{1,64}) "
    rb"batch_sha256=([0-9a-f]{64}) printed_at=([0-9T:.+-]{19,40}Z)\)"
)


@dataclass(frozen=True, slots=True)
class Marker:
    batch_id: str
    batch_sha256: str
    printed_at: datetime


def batch_digest(batch: Batch) -> str:
    return hashlib.sha256(batch_bytes(batch)).hexdigest()


def marker_line(batch: Batch, printed_at: datetime) -> str:
    """The keywords of the form of `batch` printed at `printed_at` (an aware time)."""
    moment = printed_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return (
        f"{MARKER} batch_id={batch.batch_id} batch_sha256={batch_digest(batch)} printed_at={moment}"
    )


def read_marker(document: bytes) -> Marker | None:
    """The marker of a form as `render_form` writes it; None for any other file."""
    found = _LINE.search(document)
    if found is None:
        return None
    try:
        printed_at = datetime.fromisoformat(found[3].decode()[:-1] + "+00:00")
    except ValueError:
        return None
    return Marker(found[1].decode(), found[2].decode(), printed_at)
