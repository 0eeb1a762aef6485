"""Building blocks of the ledger's contract tests: report rows, and the rows of other parts'
tables (a patient's mapping, audit entries) written as their row stores keep them."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from sqlalchemy import Table

from adapter.store.memory.backend import MemoryBackend
from adapter.store.rows import RegisteredKey, Row
from adapter.store.schema import audit_log, patient_mapping
from tests.storage import NOW

DEK = "dek-1"


def put(backend: Any, table: Table, row: Row) -> None:
    """Write a row of a table another part owns: in SQL as an INSERT, in memory as that
    part's row store keeps it (every column, by primary key)."""
    if isinstance(backend, MemoryBackend):
        (key,) = [row[column.name] for column in table.primary_key]
        backend.tables[table.name][key] = {column.name: row.get(column.name) for column in table.c}
    else:
        backend.connection.execute(table.insert().values(**row))


def data_key(backend: Any, dek_id: str = DEK) -> None:
    """A data key for report rows to refer to (and the wrapping key it needs)."""
    if not backend.keys.registered():
        backend.keys.register(RegisteredKey("wrap-v1-aa", "wrap", 1, "active", None), "KW", NOW)
    backend.keys.add_data_key(dek_id, "wrap-v1-aa", b"wrapped", "patient", NOW)


def mapping(backend: Any, mapping_id: str, dek_id: str = DEK) -> None:
    """A patient's mapping row, for report rows of that patient to refer to."""
    put(
        backend,
        patient_mapping,
        {
            "mapping_id": mapping_id,
            "dek_id": dek_id,
            "status": "active",
            "row_version": 1,
            "created_at": NOW,
            "updated_at": NOW,
        },
    )


def entry(backend: Any, seq: int, action: str, ledger_id: str | None, **details: object) -> None:
    """An audit entry as the audit log stores it (details as canonical JSON text)."""
    put(
        backend,
        audit_log,
        {
            "seq": seq,
            "at": NOW,
            "actor": "tester",
            "role": "operator",
            "action": action,
            "mapping_id": details.pop("mapping_id", None),
            "ledger_id": ledger_id,
            "details": orjson.dumps(details, option=orjson.OPT_SORT_KEYS).decode(),
            "prev_hash": bytes(32),
            "entry_hash": bytes(32),
        },
    )


def report_row(
    ledger_id: str,
    *,
    slot: str | None = None,
    mapping_id: str | None = None,
    kind: str = "anmeldung",
    made_on: date = date(2026, 11, 3),
    day: date = date(2026, 11, 2),
    state: str = "pending",
    row_mac: bytes | None = b"m" * 32,
) -> Row:
    """A `report` row with every column the schema requires (no note)."""
    return {
        "ledger_id": ledger_id,
        "slot_key": slot or f"slot-{ledger_id}",
        "mapping_id": mapping_id,
        "kind": kind,
        "doctor_btm": "1234567",
        "report_date": day,
        "made_on": made_on,
        "rule": "R-EP-1",
        "origin": "derived",
        "superseded": False,
        "state": state,
        "dek_id": DEK,
        "payload_nonce": b"n" * 12,
        "payload_ct": b"ciphertext",
        "payload_digest": b"d" * 32,
        "created_at": NOW,
        "updated_at": NOW,
        "row_mac": row_mac,
        "mac_key": "audit-v1-bb" if row_mac is not None else None,
    }
