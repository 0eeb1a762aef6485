"""The rows beneath the fact and mark rows' foreign keys: a wrapping key, a data key and
a patient's mapping row.

The mapping row is written straight into the table of each backend (the mapping rows'
own port is another part's); the data key goes through the key rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from adapter.store.memory.backend import MemoryBackend
from adapter.store.rows import RegisteredKey
from adapter.store.schema import patient_mapping
from tests.storage import NOW

WRAP = "wrap-v1-aa"


def data_key(rows: Any, dek_id: str) -> str:
    """A data key `dek_id` (and the wrapping key it is under, the first time)."""
    if not any(k.key_id == WRAP for k in rows.keys.registered()):
        rows.keys.register(RegisteredKey(WRAP, "wrap", 1, "active", None), "AES-KW", NOW)
    rows.keys.add_data_key(dek_id, WRAP, b"wrapped", "patient", NOW)
    return dek_id


def mapping(
    rows: Any,
    mapping_id: str,
    dek_id: str | None = None,
    *,
    status: str = "active",
    closed_on: date | None = None,
) -> str:
    """A patient's mapping row under `dek_id` (a data key of its own when None)."""
    row = {
        "mapping_id": mapping_id,
        "dek_id": dek_id or data_key(rows, f"dek-{mapping_id}"),
        "subject_nonce": None,
        "subject_ct": None,
        "codes_nonce": None,
        "codes_ct": None,
        "status": status,
        "first_use": None,
        "last_use": None,
        "closed_on": closed_on,
        "row_version": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }
    if isinstance(rows, MemoryBackend):
        rows.tables["patient_mapping"][mapping_id] = row
    else:
        rows.connection.execute(patient_mapping.insert().values(**row))
    return mapping_id
