"""`report`, and the audit entries that chained its rows, in memory (the twin of
`sql.ledger`).

What the SQL schema enforces and the ledger relies on is enforced here too: one row per
slot (a taken slot is skipped on insert, as ON CONFLICT DO NOTHING does, and refused as
a race on update), and the foreign keys to the data key and the patient's mapping.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from adapter.errors import ConcurrentUpdateError
from adapter.store.memory.tables import Tables
from adapter.store.rows import Row
from adapter.store.schema import report

_COLUMNS = tuple(c.name for c in report.c)


class MemoryLedgerRows:
    def __init__(self, tables: Tables) -> None:
        self.reports = tables["report"]
        self.log = tables["audit_log"]
        self.data_keys = tables["data_key"]
        self.mappings = tables["patient_mapping"]

    def insert_new(self, rows: list[Row]) -> set[str]:
        new: dict[str, Row] = {}
        slots = self._slots()
        for row in map(_stored, rows):
            if row["ledger_id"] in self.reports or row["ledger_id"] in new:
                continue
            if row["slot_key"] not in slots:
                slots.add(row["slot_key"])
                new[row["ledger_id"]] = row
        for row in new.values():  # one statement: all rows or none
            self._check_references(row)
        self.reports.update(new)
        return set(new)

    def update_guarded(
        self, ledger_id: str, state: str, row_mac: bytes | None, values: Row
    ) -> bool:
        _known(values)
        row = self.reports.get(ledger_id)
        if row is None or row["state"] != state or row["row_mac"] != row_mac:
            return False
        slot = values.get("slot_key", row["slot_key"])
        if slot != row["slot_key"] and slot in self._slots():
            msg = f"report: the slot {slot} is taken (UNIQUE slot_key)"
            raise ConcurrentUpdateError(msg)
        row.update(values)
        return True

    def set_seal(self, ledger_id: str, row_mac: bytes, mac_key: str) -> None:
        row = self.reports.get(ledger_id)
        if row is not None:
            row.update(row_mac=row_mac, mac_key=mac_key)

    def rows(
        self,
        *,
        state: str | None = None,
        mapping_ids: list[str] | None = None,
        since: date | None = None,
        until: date | None = None,
        notices: bool = False,
    ) -> list[Row]:
        wanted = None if mapping_ids is None else set(mapping_ids)
        found = [
            row
            for row in self.reports.values()
            if (state is None or row["state"] == state)
            and _of_subjects(row["mapping_id"], wanted, notices)
            and (since is None or row["made_on"] >= since)
            and (until is None or row["made_on"] <= until)
        ]
        # The ledger id breaks ties, as the SQL's ORDER BY does: one order on every backend.
        found.sort(key=lambda r: (r["made_on"], r["report_date"], r["kind"], r["ledger_id"]))
        return _copies(found)

    def row(self, ledger_id: str) -> Row | None:
        row = self.reports.get(ledger_id)
        return dict(row) if row is not None else None

    def ids(self) -> list[str]:
        return list(self.reports)

    def unsealed(self) -> list[Row]:
        return _copies(r for r in self.reports.values() if r["row_mac"] is None)

    def chained(
        self,
        action: str,
        ledger_id: str | None = None,
        *,
        mapping_ids: list[str] | None = None,
        notices: bool = False,
    ) -> dict[str, Row]:
        last: dict[str, Row] = {}
        wanted = None if mapping_ids is None else set(mapping_ids)
        # Only the entries asked for are put in order, as the SQL reads them by an index.
        found = [
            (seq, entry)
            for seq, entry in self.log.items()
            if entry["action"] == action
            and ledger_id in (None, entry["ledger_id"])
            and _of_subjects(entry["mapping_id"], wanted, notices)
        ]
        for _, entry in sorted(found, key=lambda item: item[0]):
            last[entry["ledger_id"]] = {
                "mapping_id": entry["mapping_id"],
                "details": entry["details"],
            }
        return last

    def _slots(self) -> set[str]:
        return {row["slot_key"] for row in self.reports.values()}

    def _check_references(self, row: Row) -> None:
        """The foreign keys of the SQL schema."""
        if row["dek_id"] not in self.data_keys:
            raise KeyError(f"report: the data key {row['dek_id']} is not in data_key")
        mapping_id = row["mapping_id"]
        if mapping_id is not None and mapping_id not in self.mappings:
            raise KeyError(f"report: the mapping {mapping_id} is not in patient_mapping")


def _of_subjects(mapping_id: str | None, wanted: set[str] | None, notices: bool) -> bool:
    """Whether a row (or audit entry) of `mapping_id` is among the subjects asked for."""
    if wanted is None:
        return True
    return mapping_id in wanted if mapping_id is not None else notices


def _known(values: Row) -> None:
    unknown = set(values) - set(_COLUMNS)
    if unknown:
        raise KeyError(f"report has no column(s) {sorted(unknown)}")


_NULLABLE = frozenset({"mapping_id", "note_nonce", "note_ct", "row_mac", "mac_key"})


def _stored(row: Row) -> Row:
    """The row as the table holds it: every column, NULL where none is given, refused
    where the schema says NOT NULL."""
    _known(row)
    stored = {name: row.get(name) for name in _COLUMNS}
    missing = sorted(n for n, v in stored.items() if v is None and n not in _NULLABLE)
    if missing:
        raise KeyError(f"report: NOT NULL column(s) {missing} without a value")
    return stored


def _copies(rows: Iterable[Row]) -> list[Row]:
    return [dict(row) for row in rows]
