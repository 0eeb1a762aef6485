"""What reading the input yields: resources, unreadable parts and notes about the input.

InputError        the input cannot be used at all: one line, exit 2 (raised)
Entry             a resource, with its fullUrl and where it was found
Unreadable        a line, entry or file that cannot be read: an `error` finding
Note              something about the input itself (a Bulk Data export's errors, a
                  file its manifest does not list): a finding of its own severity
Deleted           a DELETE in a history or transaction Bundle, or in a Bulk Data export's
                  `deleted` files: the resource is gone (INPUT.md 21, 22)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapter.domain.model import Finding, Severity

# The files a directory is read for.
SUFFIXES = frozenset({".json", ".ndjson", ".xml"})


@dataclass(frozen=True, slots=True)
class Entry:
    resource: dict[str, Any]
    full_url: str | None
    where: str = ""  # "file.json entry 3", "file.ndjson line 7"; for messages only
    # The (system, value) identifier of the Bundle the entry came in: a KBV prescription
    # Bundle carries the e-prescription's PrescriptionId there, not on its MedicationRequest.
    bundle_identifier: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Unreadable:
    where: str  # "file.ndjson line 7" or "file.json entry 3"
    problem: str


@dataclass(frozen=True, slots=True)
class Note:
    severity: Severity
    where: str
    message: str  # a sentence that names `where` itself

    def finding(self) -> Finding:
        return Finding(self.severity, "INPUT", self.message, (self.where,))


@dataclass(frozen=True, slots=True)
class Deleted:
    ref: str  # "MedicationRequest/x", as the DELETE's request.url names it
    where: str


Item = Entry | Unreadable | Note | Deleted
