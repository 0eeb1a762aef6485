"""Reading the audit log: entries with their purposes and tickets opened (audited itself,
since a purpose a person typed may name anyone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from adapter.store.audit import Actor, Verification, verify, wiped_log
from adapter.store.ledger_seal import LedgerCheck, check_ledger
from adapter.store.workspace import AuditText, Store, Workspace


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    mapping_id: str | None
    ledger_id: str | None
    purpose: str | None
    ticket: str | None
    details: dict[str, Any]


def list_entries(store: Store, actor: Actor, *, action: str | None = None) -> list[AuditEntry]:
    def read(space: Workspace) -> list[AuditEntry]:
        text = AuditText(space.keys, space.ledger)
        entries = [
            AuditEntry(
                row["seq"],
                row["at"],
                row["actor"],
                row["role"],
                row["action"],
                row["mapping_id"],
                row["ledger_id"],
                text.open(row["seq"], "purpose", row["purpose"]),
                text.open(row["seq"], "ticket", row["ticket"]),
                orjson.loads(row["details"]),
            )
            for row in space.audit.entries(action=action)
        ]
        space.audit.append(actor, "audit.list", details={"entries": len(entries)})
        return entries

    return store.run(actor, read)


@dataclass(frozen=True, slots=True)
class LogCheck:
    """`audit verify`: the log's chain and checkpoints, and the ledger against both."""

    log: Verification
    ledger: LedgerCheck

    @property
    def ok(self) -> bool:
        return self.log.ok and not self.ledger.problems


def verify_log(store: Store) -> LogCheck:
    """Check the audit log and the ledger without writing anything (not even an entry:
    verification must work on a copy that nobody may change)."""

    def check(space: Workspace) -> LogCheck:
        log = verify(space.audit.rows, space.keys.public_keys())
        wiped = wiped_log(space.audit.rows)
        return LogCheck(log, check_ledger(space.ledger.rows, space.keys, wiped=wiped))

    return store.read(check)
