"""A ledger row as read: its clear columns, and what its seal is made over (D-44)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from adapter.store.ledger_seal import note_digest
from adapter.store.rows import Row


@dataclass(frozen=True, slots=True)
class Entry:
    """A ledger row with its clear columns only."""

    ledger_id: str
    mapping_id: str | None
    kind: str
    doctor_btm: str
    report_date: date
    made_on: date
    rule: str
    origin: str
    superseded: bool
    state: str
    dek_id: str
    payload_digest: bytes
    slot_key: str
    created_at: datetime
    updated_at: datetime
    sealed_payload: tuple[bytes, bytes] | None = field(default=None, repr=False, compare=False)
    # The row as stored, for its seal (D-44): its MAC, the key id, the note's digest.
    row_mac: bytes | None = field(default=None, repr=False, compare=False)
    mac_key: str | None = field(default=None, repr=False, compare=False)
    note_digest: bytes | None = field(default=None, repr=False, compare=False)

    def columns(self) -> dict[str, Any]:
        """The stored columns the seal is made over."""
        nonce, ct = self.sealed_payload or (b"", b"")
        return {
            "ledger_id": self.ledger_id,
            "slot_key": self.slot_key,
            "mapping_id": self.mapping_id,
            "kind": self.kind,
            "doctor_btm": self.doctor_btm,
            "report_date": self.report_date,
            "made_on": self.made_on,
            "rule": self.rule,
            "origin": self.origin,
            "superseded": self.superseded,
            "state": self.state,
            "dek_id": self.dek_id,
            "payload_digest": self.payload_digest,
            "note_digest": self.note_digest,
            "payload_nonce": nonce,
            "payload_ct": ct,
            "row_mac": self.row_mac,
            "mac_key": self.mac_key,
        }


def entry_of(row: Row) -> Entry:
    """A `report` row as the row store gives it."""
    return Entry(
        ledger_id=row["ledger_id"],
        mapping_id=row["mapping_id"],
        kind=row["kind"],
        doctor_btm=row["doctor_btm"],
        report_date=row["report_date"],
        made_on=row["made_on"],
        rule=row["rule"],
        origin=row["origin"],
        superseded=row["superseded"],
        state=row["state"],
        dek_id=row["dek_id"],
        payload_digest=row["payload_digest"],
        slot_key=row["slot_key"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sealed_payload=(row["payload_nonce"], row["payload_ct"]),
        row_mac=row["row_mac"],
        mac_key=row["mac_key"],
        note_digest=note_digest(row["note_nonce"], row["note_ct"]),
    )
