"""One unit of work on the store: a transaction with the keys, tables and audit log bound.

Every stateful command runs as `store.run(actor, work)`: one transaction that takes
the writer's lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), opens
the keys (fail closed), does the work, signs the audit head and commits. A race the
database refuses (a UNIQUE constraint, an optimistic-lock miss, a serialisation
failure) rolls everything back and the work runs again from the start, so two
parallel syncs never record a report twice and never half-record one.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import stamina
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from adapter.crypto import Keyring
from adapter.errors import AuditLogMissingError, ConcurrentUpdateError
from adapter.store.audit import Actor, AuditLog, wiped_log
from adapter.store.database import require_current
from adapter.store.keys import KeyStore
from adapter.store.ledger import Ledger
from adapter.store.mappings import PatientMappings

T = TypeVar("T")
_WRITER_LOCK = 0x5B5EE6  # pg_advisory_xact_lock key: one writer at a time


@dataclass(slots=True)
class Workspace:
    connection: Connection
    keys: KeyStore
    mappings: PatientMappings
    ledger: Ledger
    audit: AuditLog
    actor: Actor
    now: datetime


class Store:
    """The database and the keyring of one installation, and a clock."""

    def __init__(
        self,
        engine: Engine,
        keyring: Callable[[], Keyring],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        serialize_writers: bool = True,
    ) -> None:
        self.engine = engine
        self._keyring = keyring
        self.clock = clock
        self.serialize_writers = serialize_writers

    def run(self, actor: Actor, work: Callable[[Workspace], T]) -> T:
        """Run `work` in one transaction; again from the start when a race is refused."""
        require_current(self.engine)
        keyring = self._keyring()  # before any transaction: a missing keyring stops here
        try:
            for attempt in stamina.retry_context(
                on=(IntegrityError, ConcurrentUpdateError, _SerializationFailure),
                attempts=5,
                wait_initial=0.05,
                wait_max=1.0,
            ):
                with attempt:
                    return self._once(actor, work, keyring)
        except (ConcurrentUpdateError, _SerializationFailure):
            msg = "other runs changed the same rows again and again; run the command again"
            raise ConcurrentUpdateError(msg) from None
        raise AssertionError("unreachable: stamina re-raises the last failure")  # pragma: no cover

    def _once(self, actor: Actor, work: Callable[[Workspace], T], keyring: Keyring) -> T:
        now = self.clock()
        try:
            with self.engine.begin() as connection:
                self._lock(connection)
                _require_audit_log(connection)
                keys = KeyStore(connection, keyring, now)
                ledger = Ledger(connection, keys, now)
                space = Workspace(
                    connection=connection,
                    keys=keys,
                    mappings=PatientMappings(connection, keys, now),
                    ledger=ledger,
                    audit=AuditLog(connection, now, seal=AuditText(keys, ledger).seal),
                    actor=actor,
                    now=now,
                )
                result = work(space)
                ledger.chain(space.audit, actor)  # every ledger row written, as written (D-44)
                space.audit.checkpoint(keys)
                return result
        except OperationalError as exc:
            if _is_serialization_failure(exc):
                raise _SerializationFailure(str(exc)) from exc
            raise

    def _lock(self, connection: Connection) -> None:
        if self.serialize_writers and connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITER_LOCK})


def _require_audit_log(connection: Connection) -> None:
    """Refuse a database whose audit log was deleted (D-53): writing on would start a new
    log, and the reports and runs deleted with the old one could no longer be told."""
    wiped = wiped_log(connection)
    if wiped is not None:
        msg = (
            f"{wiped[0].upper()}{wiped[1:]} outside substreg, and with it the record of what "
            "was reported and changed. Nothing was read or written. Restore the database from "
            "the backup taken before (with the keyring it belongs to); `substreg audit "
            'verify` says the same (README: "The audit log was deleted").'
        )
        raise AuditLogMissingError(msg)


class AuditText:
    """A person's free text in the audit log (a purpose, a ticket), sealed under the
    practice's data key and bound to its entry: `sealed:v1:<data key>:<nonce>:<ct>`."""

    PREFIX = "sealed:v1:"

    def __init__(self, keys: KeyStore, ledger: Ledger) -> None:
        self.keys = keys
        self.ledger = ledger

    def seal(self, seq: int, field: str, text: str) -> str:
        dek_id = self.ledger.practice_key()
        sealed = self.keys.seal(dek_id, f"audit/{seq}", field, text.encode())
        return f"{self.PREFIX}{dek_id}:{_b64(sealed.nonce)}:{_b64(sealed.ct)}"

    def open(self, seq: int, field: str, stored: str | None) -> str | None:
        if stored is None or not stored.startswith(self.PREFIX):
            return stored
        dek_id, nonce, ct = stored[len(self.PREFIX) :].split(":")
        plain = self.keys.open(dek_id, f"audit/{seq}", field, _unb64(nonce), _unb64(ct))
        return plain.decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())


class _SerializationFailure(Exception):
    """PostgreSQL refused a transaction as not serialisable, or SQLite was busy."""


def _is_serialization_failure(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40001", "40P01") or "database is locked" in str(exc.orig)
