"""The ledger's rows checked before they are used or changed, and chained as written
(D-44): each row's seal, and what the audit log last recorded of it.

A row is checked against both before it is rewritten, so that a row changed in SQL, or
set back to an older version of itself (whose old seal is valid), is never sealed over;
the versions a transaction writes count as recorded, since they are chained at its end.
"""

from __future__ import annotations

from typing import Any

from adapter.errors import LedgerIntegrityError
from adapter.store.audit import Actor, AuditLog
from adapter.store.keys import KeyStore
from adapter.store.ledger_entry import Entry
from adapter.store.ledger_seal import (
    CHAIN_ACTION,
    RowSeal,
    chain_problem,
    chain_record,
    columns_of,
    last_chained,
)
from adapter.store.rows import LedgerRows


class SealedRows:
    """The integrity half of the ledger: checking rows, chaining and sealing them."""

    def __init__(self, rows: LedgerRows, keys: KeyStore) -> None:
        self.rows = rows
        self.keys = keys
        self.seal = RowSeal(keys)
        self._written: dict[str, dict[str, Any]] = {}  # ledger id → its last version
        self._versions: list[dict[str, Any]] = []  # every version written, in order
        self._chain: dict[str, dict[str, Any]] | None = None  # the log's, read once
        self._read: dict[str, dict[str, Any] | None] = {}  # single rows' records, read once

    def wrote(self, columns: dict[str, Any]) -> None:
        """A version of a row this transaction wrote: each is chained at its end (a row
        moved queued → sent → rejected in one transaction leaves all three in the log)."""
        self._written[str(columns["ledger_id"])] = columns
        self._versions.append(columns)

    def chained(self, ledger_id: str | None = None) -> dict[str, dict[str, Any]]:
        """What the audit log last recorded of each row (of one, if given): with the
        versions this transaction wrote, which are chained at its end. The whole log is
        read once a transaction, and only when every row is asked for; one row's records
        alone (an index, D-118), so that changing a batch's rows costs as much as the
        batch, not as much as the ledger's history. Either is read once: the transaction
        holds the writer's lock, nobody else appends meanwhile."""
        if ledger_id is not None:
            columns = self._written.get(ledger_id)
            if columns is not None:
                return {ledger_id: _as_chained(columns)}
            last = self._last_of(ledger_id)
            return {} if last is None else {ledger_id: last}
        if self._chain is None:
            self._chain = last_chained(self.rows)
        found = dict(self._chain)
        for written_id, columns in self._written.items():
            found[written_id] = _as_chained(columns)
        return found

    def chained_of(self, mapping_ids: list[str], *, notices: bool) -> dict[str, dict[str, Any]]:
        """What the audit log last recorded of the rows of these patients (and, with
        `notices`, of the notices), with the versions this transaction wrote of them: their
        records alone, by an index, so that reading a day's patients costs as much as
        their history, not the ledger's (D-199). The records read serve later single-row
        checks of the transaction."""
        subjects = set(mapping_ids)

        def wanted(mapping_id: str | None) -> bool:
            return mapping_id in subjects if mapping_id is not None else notices

        if self._chain is not None:
            found = {k: v for k, v in self._chain.items() if wanted(v.get("mapping_id"))}
        else:
            found = last_chained(self.rows, mapping_ids=mapping_ids, notices=notices)
            for ledger_id, last in found.items():
                self._read.setdefault(ledger_id, last)
        for written_id, columns in self._written.items():
            if wanted(columns["mapping_id"]):
                found[written_id] = _as_chained(columns)
        return found

    def _last_of(self, ledger_id: str) -> dict[str, Any] | None:
        if self._chain is not None:
            return self._chain.get(ledger_id)
        if ledger_id not in self._read:
            self._read[ledger_id] = last_chained(self.rows, ledger_id).get(ledger_id)
        return self._read[ledger_id]

    def problem(self, entry: Entry, *, chained: bool = False) -> str | None:
        """Why the row fails its check (its seal; with `chained`, also the audit log's
        last record of it), or None."""
        columns = entry.columns()
        found = self.seal.problem(columns)
        if found is None and chained:
            found = chain_problem(columns, self.chained(entry.ledger_id).get(entry.ledger_id))
        return found

    def problems(
        self, entries: list[Entry], chained: dict[str, dict[str, Any]] | None = None
    ) -> dict[str, str]:
        """Ledger id → why the row fails its seal or the log's last record of it."""
        last = self.chained() if chained is None else chained
        found = {}
        for entry in entries:
            columns = entry.columns()
            problem = self.seal.problem(columns) or chain_problem(
                columns, last.get(entry.ledger_id)
            )
            if problem is not None:
                found[entry.ledger_id] = problem
        return found

    def require_intact(self, entry: Entry, *, chained: bool = False) -> None:
        found = self.problem(entry, chained=chained)
        if found is not None:
            msg = (
                f"The report {entry.ledger_id} fails its integrity check: {found}. It is "
                "neither shown nor changed; run `substreg audit verify`, and see the README "
                '("a damaged row").'
            )
            raise LedgerIntegrityError(msg)

    def chain(self, audit: AuditLog, actor: Actor) -> None:
        """Record every version of a row this transaction wrote, in order, in the audit log."""
        for columns in self._versions:
            audit.append(
                actor,
                CHAIN_ACTION,
                mapping_id=columns["mapping_id"],
                ledger_id=columns["ledger_id"],
                details=chain_record(columns),
            )
        for ledger_id, columns in self._written.items():  # what the log now last records
            last = _as_chained(columns)
            self._read[ledger_id] = last
            if self._chain is not None:
                self._chain[ledger_id] = last
        self._written, self._versions = {}, []

    def seal_unsealed(self) -> tuple[int, tuple[str, ...]]:
        """Seal the rows written before revision 0004 (by `substreg init`), once: the
        number sealed, and the ids of unsealed rows that are not sealed (D-44)."""
        rows = self.rows.unsealed()
        if not rows:
            return 0, ()
        chained = last_chained(self.rows)
        refused = []
        for row in rows:
            columns = columns_of(row)
            if not self._sealable(columns, chained):
                refused.append(str(columns["ledger_id"]))
                continue
            sealed = self.seal.seal(columns)
            self.rows.set_seal(columns["ledger_id"], sealed["row_mac"], sealed["mac_key"])
            self.wrote(columns | sealed)
        return len(rows) - len(refused), tuple(sorted(refused))

    def _sealable(self, columns: dict[str, Any], chained: dict[str, dict[str, Any]]) -> bool:
        """A row without a seal is sealed when it is older than the chain of ledger rows
        (the log records none yet), or when it is exactly as the log last recorded it (a
        seal lost by a schema taken back). One the log recorded otherwise was changed in
        SQL, and one it never saw while it records others was added: neither is sealed
        over (issue 9 review)."""
        last = chained.get(columns["ledger_id"])
        if last is None:
            return not chained
        return self.seal.is_recorded(columns, str(last.get("seal")))


def _as_chained(columns: dict[str, Any]) -> dict[str, Any]:
    """A version of a row as `last_chained` reads its record back from the log."""
    return {**chain_record(columns), "mapping_id": columns["mapping_id"]}
