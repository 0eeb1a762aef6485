"""Rows put straight into a backend's tables, for contract tests of a part whose rows
point at other parts' tables (patients, reports): written as the schema has them, on the
SQL connection or into the twin's dicts, without the other parts' logic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table

from adapter.store.memory.backend import MemoryBackend
from adapter.store.rows import RegisteredKey
from adapter.store.schema import patient_mapping, patient_state, report
from tests.storage import NOW

DEK = "dek-1"


def put(rows: Any, table: Table, **values: Any) -> None:
    """Insert one row of `table` (columns not given are NULL)."""
    if isinstance(rows, MemoryBackend):
        row = {c.name: values.get(c.name) for c in table.c}
        key = tuple(row[c.name] for c in table.primary_key)
        rows.tables[table.name][key[0] if len(key) == 1 else key] = row
    else:
        rows.connection.execute(table.insert().values(**values))


def data_key(rows: Any) -> None:
    """A wrapping key and the data key `DEK` under it (the foreign keys of patients)."""
    rows.keys.register(RegisteredKey("wrap-v1-aa", "wrap", 1, "active", None), "AES-KW", NOW)
    rows.keys.add_data_key(DEK, "wrap-v1-aa", b"wrapped", "practice", NOW)


def patient(rows: Any, mapping_id: str, **values: Any) -> None:
    put(
        rows,
        patient_mapping,
        **{
            "mapping_id": mapping_id,
            "dek_id": DEK,
            "status": "active",
            "row_version": 1,
            "created_at": NOW,
            "updated_at": NOW,
            **values,
        },
    )


def state(rows: Any, mapping_id: str, **values: Any) -> None:
    put(
        rows,
        patient_state,
        **{
            "mapping_id": mapping_id,
            "format": 3,
            "nonce": b"n",
            "ct": b"c",
            "live": False,
            "updated_at": NOW,
            **values,
        },
    )


def ledger_row(rows: Any, ledger_id: str, mapping_id: str | None, **values: Any) -> None:
    put(
        rows,
        report,
        **{
            "ledger_id": ledger_id,
            "slot_key": f"slot|{ledger_id}",
            "mapping_id": mapping_id,
            "kind": "anmeldung",
            "doctor_btm": "1234567",
            "report_date": NOW.date(),
            "made_on": NOW.date(),
            "rule": "r",
            "origin": "derived",
            "superseded": False,
            "state": "pending",
            "dek_id": DEK,
            "payload_nonce": b"n",
            "payload_ct": b"c",
            "payload_digest": bytes(32),
            "created_at": NOW,
            "updated_at": NOW,
            **values,
        },
    )


def utc(moment: datetime | None) -> datetime | None:
    """A moment as both databases mean it: SQLite hands back naive UTC datetimes."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
