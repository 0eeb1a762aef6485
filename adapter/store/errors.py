"""What the store refuses or finds damaged, drawn as one tree.

    DamagedDataError        rows refer to data the database does not hold (a data key
    │                       deleted behind substreg's back)
    └── DamagedRowError     a sealed field or a wrapped data key fails authentication:
                            changed or damaged outside substreg (also a DecryptionError)
    ShreddedError           a row's data key was destroyed by retention: gone for good
    RetentionMarkError      a retention cutoff after today (it would hide all new data)
    LedgerIntegrityError    a ledger row does not match its seal (ledger_seal.py)

Messages name the row (mapping, report, practice, audit entry, data key) and the field,
never a value: what failed to decrypt may be a patient's code.
"""

from __future__ import annotations

from adapter.crypto import DecryptionError


class DamagedDataError(Exception):
    """Rows refer to a data key the database does not hold: never read as 'shredded'."""


class DamagedRowError(DamagedDataError, DecryptionError):
    """A sealed field or a wrapped data key fails authentication: changed or damaged
    outside substreg. The message names the row (mapping, report, practice, audit entry)
    and the field, never a value."""

    def __init__(self, message: str, *, row_id: str, field: str) -> None:
        super().__init__(message)
        self.row_id = row_id
        self.field = field


def sealed_field_name(row_id: str, field: str) -> str:
    """What a sealed field is, and how to look at it: `the codes of mapping … (…)`."""
    if field in ("payload", "note"):
        return f"the {field} of report {row_id} (`substreg inspect ledger {row_id}`)"
    if row_id == "practice":
        return "the practice's stored records (doctors, organisations, medications)"
    if row_id.startswith("audit/"):
        return f"the {field} of audit entry {row_id.removeprefix('audit/')}"
    what = (
        f"the stored {field}"
        if field == "state" or field.startswith("archive/")
        else (f"the {field}")
    )
    return f"{what} of mapping {row_id} (`substreg inspect mapping {row_id}`)"


class ShreddedError(Exception):
    """The data key of a row was destroyed (retention): what it sealed is gone for good."""


class RetentionMarkError(Exception):
    """A retention cutoff after today: it would hide every later event from sync."""
