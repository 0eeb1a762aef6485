"""The seal of a ledger row, and the ledger checked against the audit log (D-44).

The ledger's clear columns (kind, dates, BtM number, rule, state, the payload's digest …)
are the practice's legal record (R-CH-2), readable without keys. Each row therefore
carries an HMAC over all of them, made with a key derived from the audit key
(`ledger_mac_key`), so that a row changed in SQL no longer matches its seal; the
payload's digest in it binds the sealed payload, the note's digest a person's note.
Every row as written is chained into the audit log (`ledger.row` entries with the seal),
so that `audit verify` also finds a deleted row, a row the log never saw, and a row set
back to an older version of itself (whose old seal is valid, but not the last one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from adapter.crypto import key_id, ledger_mac_key, mac, mac_matches, resolve_key_id
from adapter.errors import CryptoError
from adapter.store.keys import KeyStore
from adapter.store.rows import LedgerRows

ROW_FORMAT = "substreg-ledger-row/1"
CHAIN_ACTION = "ledger.row"
SEALED = (
    "ledger_id",
    "slot_key",
    "mapping_id",
    "kind",
    "doctor_btm",
    "report_date",
    "made_on",
    "rule",
    "origin",
    "superseded",
    "state",
    "dek_id",
    "payload_digest",
    "note_digest",
)


def note_digest(nonce: bytes | None, ct: bytes | None) -> bytes | None:
    return hashlib.sha256(nonce + ct).digest() if nonce is not None and ct is not None else None


def row_message(columns: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a row's sealed columns."""
    values: dict[str, object] = {"format": ROW_FORMAT}
    for name in SEALED:
        value = columns[name]
        if isinstance(value, bytes):
            value = value.hex()
        elif isinstance(value, date):
            value = value.isoformat()
        values[name] = value
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


class RowSeal:
    """Makes and checks row seals with the keyring's audit keys (one transaction)."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self._mac_keys: dict[str, bytes] = {}

    def seal(self, columns: Mapping[str, Any]) -> dict[str, Any]:
        master = self.keys.keyring.active("audit")
        kid = key_id(master)
        if kid not in self._mac_keys:
            self._mac_keys[kid] = ledger_mac_key(master)
        return {"row_mac": mac(self._mac_keys[kid], row_message(columns)), "mac_key": kid}

    def problem(self, columns: Mapping[str, Any]) -> str | None:
        """Why the row fails its check, or None when it is as substreg wrote it."""
        nonce, ct = columns["payload_nonce"], columns["payload_ct"]
        if hashlib.sha256(nonce + ct).digest() != columns["payload_digest"]:
            return "its sealed payload is not the one recorded (changed outside substreg)"
        if columns["row_mac"] is None or columns["mac_key"] is None:
            return "it carries no seal (changed outside substreg, or written before 0004)"
        try:
            key = self._key(columns["mac_key"])
        except CryptoError:
            kid = columns["mac_key"]
            return f"its seal was made with the audit key {kid}, which the keyring lacks"
        if not mac_matches(key, row_message(columns), columns["row_mac"]):
            return "its columns (kind, dates, doctor, state …) were changed outside substreg"
        return None

    def _key(self, kid: str) -> bytes:
        if kid not in self._mac_keys:
            self._mac_keys[kid] = ledger_mac_key(resolve_key_id(self.keys.keyring, kid))
        return self._mac_keys[kid]

    def is_recorded(self, columns: Mapping[str, Any], seal: str) -> bool:
        """Whether `seal` (as the audit log recorded it) is the seal of exactly these
        columns under one of the keyring's audit keys: a row whose own seal was lost (a
        schema taken back and upgraded again) but that is as the log last saw it."""
        message = row_message(columns)
        expected = bytes.fromhex(seal)
        keys = [k for k in self.keys.keyring.keys if k.purpose == "audit"]
        kept = [key_id(k) for k in keys if k.state != "destroyed"]
        return any(mac_matches(self._key(kid), message, expected) for kid in kept)


def columns_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A raw `report` row's columns as the seal reads them."""
    values = dict(row)
    values["note_digest"] = note_digest(values.get("note_nonce"), values.get("note_ct"))
    return values


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    rows: int
    problems: tuple[str, ...]


def chain_record(columns: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit log records of a version of a row (`ledger.row` details)."""
    return {
        "state": columns["state"],
        "superseded": columns["superseded"],
        "seal": columns["row_mac"].hex(),
    }


def last_chained(
    rows: LedgerRows,
    ledger_id: str | None = None,
    *,
    mapping_ids: list[str] | None = None,
    notices: bool = False,
) -> dict[str, dict[str, Any]]:
    """What the audit log last recorded of each ledger row (of one, if given; of the rows
    of `mapping_ids` and, with `notices`, of the notices, if given), with the mapping the
    entry names (`mapping_id`, None for a notice)."""
    found = rows.chained(CHAIN_ACTION, ledger_id, mapping_ids=mapping_ids, notices=notices)
    return {
        chained_id: {**orjson.loads(entry["details"]), "mapping_id": entry["mapping_id"]}
        for chained_id, entry in found.items()
    }


def deleted_problem(ledger_id: str, last: Mapping[str, Any]) -> str:
    return (
        f"report {ledger_id} was deleted from the ledger (the audit log last recorded it as "
        f"{last.get('state')})"
    )


def chain_problem(columns: Mapping[str, Any], chained: Mapping[str, Any] | None) -> str | None:
    """Why the row is not what the audit log last recorded of it, or None."""
    if chained is None:
        return "the audit log never recorded it (added outside substreg, or the log was cut)"
    if chained.get("seal") != (columns["row_mac"] or b"").hex():
        return (
            f"it is not as the audit log last recorded it (then: {chained.get('state')}, "
            f"now: {columns['state']}): changed behind substreg's back or set back"
        )
    return None


def check_ledger(rows: LedgerRows, keys: KeyStore, *, wiped: str | None) -> LedgerCheck:
    """Every ledger row against its seal and against the audit log; the problems found.
    `wiped` is what `adapter.store.audit.wiped_log` found (a deleted log), or None."""
    seal = RowSeal(keys)
    chained = last_chained(rows)
    problems: list[str] = []
    stored = sorted((columns_of(row) for row in rows.rows()), key=lambda c: str(c["ledger_id"]))
    for columns in stored:
        found = seal.problem(columns) or chain_problem(columns, chained.get(columns["ledger_id"]))
        if found is not None:
            problems.append(f"report {columns['ledger_id']}: {found}")
    present = {columns["ledger_id"] for columns in stored}
    for ledger_id, last in sorted(chained.items()):
        if ledger_id not in present:
            problems.append(deleted_problem(ledger_id, last))
    if wiped is not None:
        problems.append(wiped)
    return LedgerCheck(len(stored), tuple(problems))
