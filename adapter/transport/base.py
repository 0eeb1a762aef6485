"""The port every transport implements, and what it may answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from adapter.domain.batch import Batch
from adapter.errors import PermanentTransportError, TransientTransportError

__all__ = [
    "Delivered",
    "Parcel",
    "PermanentTransportError",
    "TransientTransportError",
    "Transport",
]


@dataclass(frozen=True, slots=True)
class Parcel:
    """One sealed batch as the outbox hands it over: the exact bytes stored before any
    was sent, and the batch they hold (the paper route prints it; others ignore it)."""

    batch_id: str  # also the idempotency key: every retry sends the same
    envelope: bytes
    batch: Batch


@dataclass(frozen=True, slots=True)
class Delivered:
    """The transport handed the parcel over. `receipt`: the register's signed receipt
    document, when the route gives one (http); None for folder and paper (`sent`)."""

    at: datetime
    receipt: bytes | None = None
    proof: str = ""  # how it was delivered, for the ledger export (a file name, a URL)


class Transport(Protocol):
    name: str

    def deliver(self, parcel: Parcel) -> Delivered:
        """Hand the parcel over, or raise TransientTransportError /
        PermanentTransportError. Messages never carry a code or a name."""
        ...
