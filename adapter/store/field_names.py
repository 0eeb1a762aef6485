"""How the store names a sealed field in an error (the errors are in adapter/errors.py).

Messages name the row (mapping, report, practice, audit entry, data key) and the field,
never a value: what failed to decrypt may be a patient's code.
"""

from __future__ import annotations

# Rows named by a prefix of their id: what they are, and the command that shows them.
_PREFIXED = (
    ("outbox/", "batch", "`substreg outbox show {id}`"),
    ("duplicate/", "duplicate notice", "`substreg duplicate list`"),  # D-233
)


def sealed_field_name(row_id: str, field: str) -> str:
    """What a sealed field is, and how to look at it: `the codes of mapping … (…)`."""
    if field in ("payload", "note"):
        return f"the {field} of report {row_id} (`substreg inspect ledger {row_id}`)"
    if row_id == "practice":
        return "the practice's stored records (doctors, organisations, medications)"
    for prefix, what, shown in _PREFIXED:
        if row_id.startswith(prefix):
            kept = row_id.removeprefix(prefix)
            return f"the {field} of {what} {kept} ({shown.format(id=kept)})"
    if row_id.startswith("fhir/"):
        return f"the {field} of pushed resource {row_id.removeprefix('fhir/')}"
    if row_id.startswith("audit/"):
        return f"the {field} of audit entry {row_id.removeprefix('audit/')}"
    what = (
        f"the stored {field}"
        if field == "state" or field.startswith("archive/")
        else (f"the {field}")
    )
    return f"{what} of mapping {row_id} (`substreg inspect mapping {row_id}`)"
