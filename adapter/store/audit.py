"""The audit log: append-only, hash-chained, with signed checkpoints (PRIVACY.md T3).

Each entry's hash is SHA-256(previous hash ‖ canonical JSON of the entry), so a changed,
deleted or reordered entry breaks the chain from there on. At the end of every command
that wrote entries, the head of the chain is signed with the active audit key
(Ed25519); `verify` checks the chain, every checkpoint's signature against the public
keys of the key registry (old ones are kept), and that no entry follows the last
checkpoint. Entries carry our own ids, counts and kinds, never personal data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from adapter.crypto import verify as verify_signature
from adapter.store.keys import KeyStore
from adapter.store.rows import AuditRows, Row

GENESIS = bytes(32)
_CHECKPOINT_LABEL = b"substreg-audit-checkpoint|"


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    checkpoints: int
    head_seq: int
    head_hash: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    """Appends entries within one transaction (that holds the writer lock): the chain is
    computed here and the rows are written in one go when the run signs its checkpoint."""

    def __init__(
        self,
        rows: AuditRows,
        now: datetime,
        seal: Callable[[int, str, str], str] | None = None,
    ) -> None:
        """`seal(seq, field, text)`: how a person's free text (purpose, ticket) is kept; it
        may name anyone, so the workspace seals it (`adapter.store.workspace`)."""
        self.rows = rows
        self.now = now
        self._seal = seal
        self._head: tuple[int, bytes] | None = None
        self._pending: list[dict[str, object]] = []
        self._appended = 0

    def append(
        self,
        actor: Actor,
        action: str,
        *,
        mapping_id: str | None = None,
        ledger_id: str | None = None,
        purpose: str | None = None,
        ticket: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> int:
        if self._head is None:
            self._head = self.rows.head() or (0, GENESIS)
        seq, prev = self._head[0] + 1, self._head[1]
        if self._seal is not None:
            purpose = self._seal(seq, "purpose", purpose) if purpose else purpose
            ticket = self._seal(seq, "ticket", ticket) if ticket else ticket
        entry = {
            "seq": seq,
            "at": _utc_text(self.now),
            "actor": actor.name,
            "role": actor.role,
            "action": action,
            "mapping_id": mapping_id,
            "ledger_id": ledger_id,
            "purpose": purpose,
            "ticket": ticket,
            "details": dict(details or {}),
        }
        digest = entry_hash(prev, entry)
        self._pending.append(
            {
                **entry,
                "at": _utc(self.now),  # SQLite keeps the wall-clock time only: write UTC
                "details": _canonical(entry["details"]).decode(),
                "prev_hash": prev,
                "entry_hash": digest,
            }
        )
        self._head = (seq, digest)
        self._appended += 1
        return seq

    def flush(self) -> None:
        if self._pending:
            self.rows.add(self._pending)
            self._pending = []

    def checkpoint(self, keys: KeyStore, *, force: bool = False) -> int | None:
        """Sign the head of the chain, when this run appended entries (or when forced)."""
        self.flush()
        if not self._appended and not force:
            return None
        # The head this log appended is the table's (the writer's lock is held); read it
        # only when nothing was appended here.
        head = self._head if self._appended else self.rows.head()
        if head is None:
            return None
        seq, digest = head
        signer = keys.signer()
        self.rows.add_checkpoint(
            {
                "seq": seq,
                "entry_hash": digest,
                "key_id": signer.key_id,
                "signature": signer.sign(_checkpoint_message(seq, digest)),
                "at": _utc(self.now),
            }
        )
        self._appended = 0
        return int(seq)

    def count(self, action: str, actor: Actor, since: datetime) -> int:
        self.flush()
        return self.rows.count(action, actor.name, _utc(since))

    def entries(
        self, *, action: str | None = None, ledger_ids: list[str] | None = None
    ) -> list[Row]:
        """The entries as stored, by seq (`details` is canonical JSON text), of one action
        and of some ledger rows if given; what this transaction appended included."""
        self.flush()
        return self.rows.entries(action=action, ledger_ids=ledger_ids)


_HELD = {
    "report": "report(s)",
    "key_registry": "key(s)",
    "patient_mapping": "patient mapping(s)",
    "sync_run": "sync run(s)",
}


def wiped_log(rows: AuditRows) -> str | None:
    """What the database holds although its audit log is empty (`init` writes the first
    entry, and every command that writes data audits it, so a database in use never has
    an empty log: it was deleted); None when the log has entries or nothing is held."""
    if rows.has_entries():
        return None
    held = rows.held()
    if not any(held.values()):
        return None
    counts = [f"{held[table]} {label}" for table, label in _HELD.items()]
    return (
        f"the audit log is empty, but the database holds {', '.join(counts[:-1])} and "
        f"{counts[-1]}: the log was deleted"
    )


def entry_hash(prev: bytes, entry: Mapping[str, object]) -> bytes:
    return hashlib.sha256(prev + _canonical(entry)).digest()


def _canonical(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _checkpoint_message(seq: int, head: bytes) -> bytes:
    return _CHECKPOINT_LABEL + str(seq).encode() + b"|" + head


def verify(rows: AuditRows, public_keys: Mapping[str, bytes]) -> Verification:
    """Walk the whole chain and every checkpoint; list every problem found."""
    problems: list[str] = []
    hashes: dict[int, bytes] = {}
    prev, expected_seq = GENESIS, 1
    for row in rows.entries():
        seq = row["seq"]
        if seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (the next entry is {seq})")
        if row["prev_hash"] != prev:
            problems.append(f"entry {seq} does not follow the entry before it")
        entry = {
            "seq": seq,
            "at": _utc_text(row["at"]),
            "actor": row["actor"],
            "role": row["role"],
            "action": row["action"],
            "mapping_id": row["mapping_id"],
            "ledger_id": row["ledger_id"],
            "purpose": row["purpose"],
            "ticket": row["ticket"],
            "details": orjson.loads(row["details"]),
        }
        if entry_hash(row["prev_hash"], entry) != row["entry_hash"]:
            problems.append(f"entry {seq} was changed after it was written")
        hashes[seq] = row["entry_hash"]
        prev, expected_seq = row["entry_hash"], seq + 1
    head_seq = expected_seq - 1
    checkpoints = rows.checkpoints()
    for cp in checkpoints:
        if hashes.get(cp["seq"]) != cp["entry_hash"]:
            problems.append(f"the checkpoint at entry {cp['seq']} does not match the log")
        key = public_keys.get(cp["key_id"])
        message = _checkpoint_message(cp["seq"], cp["entry_hash"])
        if key is None or not verify_signature(key, message, cp["signature"]):
            problems.append(f"the checkpoint at entry {cp['seq']} has no valid signature")
    last_signed = checkpoints[-1]["seq"] if checkpoints else 0
    if head_seq > last_signed:
        problems.append(
            f"entries {last_signed + 1}–{head_seq} follow the last signed checkpoint "
            "(written outside substreg, or the log was extended)"
        )
    if last_signed > head_seq:
        problems.append(f"entries {head_seq + 1}–{last_signed} were deleted from the end")
    return Verification(
        entries=len(hashes),
        checkpoints=len(checkpoints),
        head_seq=head_seq,
        head_hash=prev.hex(),
        problems=tuple(problems),
    )


def _utc(moment: datetime) -> datetime:
    """The moment in UTC; a naive one is taken as UTC already."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC)


def _utc_text(moment: datetime) -> str:
    """One spelling of a moment on both databases: SQLite hands back naive datetimes (all
    written in UTC), PostgreSQL aware ones in the session's time zone."""
    return _utc(moment).isoformat(timespec="microseconds")
