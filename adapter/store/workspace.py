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
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

import stamina

from adapter.crypto import Keyring
from adapter.errors import AuditLogMissingError, ConcurrentUpdateError, DatabaseError
from adapter.store.audit import Actor, AuditLog, wiped_log
from adapter.store.facts import Facts
from adapter.store.group import GroupCommit
from adapter.store.handovers import IncomingHandovers
from adapter.store.keys import KeyStore
from adapter.store.ledger import Ledger
from adapter.store.mappings import PatientMappings
from adapter.store.notice_letters import NoticeLetters
from adapter.store.outbox import Outbox
from adapter.store.pull_state import PullState
from adapter.store.resources import PushedResources
from adapter.store.retention_mark import RetentionMark
from adapter.store.rows import AuditRows, Backend
from adapter.store.runs import RunJournal

if TYPE_CHECKING:
    from sqlalchemy import Engine

T = TypeVar("T")


class Database(Protocol):
    """Where the rows live: `SqlDatabase` (SQLite, PostgreSQL) or `MemoryDatabase`."""

    races: tuple[type[Exception], ...]  # refusals that mean "a parallel run was first"

    def require_ready(self) -> None: ...
    def create(self) -> None: ...
    def is_created(self) -> bool: ...
    def secure(self) -> None: ...
    def schema_version(self) -> str: ...
    def refused(self, exc: Exception) -> DatabaseError: ...
    def transaction(
        self, *, write: bool = True, exclusive: bool = True
    ) -> AbstractContextManager[Backend]: ...


@dataclass(slots=True)
class Workspace:
    """The unit of work a use case receives: the parts of the store on one transaction."""

    keys: KeyStore
    mappings: PatientMappings
    ledger: Ledger
    audit: AuditLog
    facts: Facts
    retention: RetentionMark
    journal: RunJournal  # the sync runs: this one's changes, and those kept for `runs undo`
    outbox: Outbox  # sealed batches for the register, and what came back
    pull: PullState  # the pull connector's checkpoints, the EHR's subscriptions (issue 13)
    resources: PushedResources  # what was pushed to /fhir, every version, sealed
    handovers: IncomingHandovers  # handover documents received, their registrations (R-HO-1)
    notice_letters: NoticeLetters  # the register's duplicate notices received (004 §10)
    actor: Actor
    now: datetime


class Store:
    """The database and the keyring of one installation, and a clock."""

    def __init__(
        self,
        database: Database,
        keyring: Callable[[], Keyring],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database = database
        self._keyring = keyring
        self.clock = clock
        self.group = GroupCommit(self)  # small writes that arrive together commit together

    @property
    def engine(self) -> Engine:
        """The SQL engine (for migrations and operators' tools; the twin has none)."""
        engine: Engine | None = getattr(self.database, "engine", None)
        if engine is None:
            raise TypeError("the in-memory store has no SQL engine")
        return engine

    def with_keyring(self, keyring: Keyring) -> Store:
        """The same database with `keyring` held in memory (a backup proven before it is
        put in place)."""
        return Store(self.database, lambda: keyring, clock=self.clock)

    def keys_registered(self) -> int:
        """How many keys the database's registry holds, read without a keyring (0 for a
        database not yet created): `init` never makes new keys for a database in use."""
        if not self.database.is_created():
            return 0
        with self.database.transaction(write=False) as backend:
            return len(backend.keys.registered())

    def run(self, actor: Actor, work: Callable[[Workspace], T], *, exclusive: bool = True) -> T:
        """Run `work` in one transaction; again from the start when a race is refused.
        `exclusive=False`: without the writer's lock on PostgreSQL, for work that locks the
        rows it changes itself and writes no ledger row and no audit entry (an outbox
        claim, so that parallel workers claim without waiting for one another)."""
        self.database.require_ready()
        keyring = self._keyring()  # before any transaction: a missing keyring stops here
        try:
            for attempt in stamina.retry_context(
                on=(ConcurrentUpdateError, *self.database.races),
                attempts=5,
                wait_initial=0.05,
                wait_max=1.0,
            ):
                with attempt:
                    return self._once(actor, work, keyring, exclusive=exclusive)
        except ConcurrentUpdateError:
            msg = "other runs changed the same rows again and again; run the command again"
            raise ConcurrentUpdateError(msg) from None
        except self.database.races as exc:  # refused every time: not a race after all
            raise self.database.refused(exc) from None
        raise AssertionError("unreachable: stamina re-raises the last failure")  # pragma: no cover

    def run_grouped(self, actor: Actor, work: Callable[[Workspace], T]) -> T:
        """`run`, sharing the unit of work (and its checkpoint and commit) with the other
        works of `actor` waiting at the same moment (`adapter.store.group`, D-175); `work`
        must be safe to run again, and is answered only once its group committed."""
        return self.group.run(actor, work)

    def read(self, work: Callable[[Workspace], T], *, keyring: Keyring | None = None) -> T:
        """Run `work` on a transaction that is rolled back: nothing is written, and the
        audit log gets no entry (`audit verify` looks without touching)."""
        self.database.require_ready()
        ring = keyring if keyring is not None else self._keyring()
        with self.database.transaction(write=False) as backend:
            return work(workspace_on(backend, ring, Actor("reader", "system"), self.clock()))

    def _once(
        self, actor: Actor, work: Callable[[Workspace], T], keyring: Keyring, *, exclusive: bool
    ) -> T:
        now = self.clock()
        with self.database.transaction(exclusive=exclusive) as backend:
            require_audit_log(backend.audit)
            space = workspace_on(backend, keyring, actor, now)
            result = work(space)
            space.ledger.chain(space.audit, actor)  # every ledger row written (D-44)
            space.audit.checkpoint(space.keys)
            return result


def workspace_on(backend: Backend, keyring: Keyring, actor: Actor, now: datetime) -> Workspace:
    """The parts of the store on the row stores of one transaction."""
    keys = KeyStore(backend.keys, keyring, now)
    ledger = Ledger(backend.ledger, keys, now)
    return Workspace(
        keys=keys,
        mappings=PatientMappings(backend.mappings, keys, now),
        ledger=ledger,
        audit=AuditLog(backend.audit, now, seal=AuditText(keys, ledger).seal),
        journal=RunJournal(backend.runs, now),
        facts=Facts(backend.facts, keys, now),
        retention=RetentionMark(backend.marks, now),
        outbox=Outbox(backend.outbox, keys, now, ledger.practice_key),
        pull=PullState(backend.pull, now),
        resources=PushedResources(backend.resources, keys, now),
        handovers=IncomingHandovers(backend.handovers, keys, now),
        notice_letters=NoticeLetters(backend.notice_letters, keys, now),
        actor=actor,
        now=now,
    )


def require_audit_log(rows: AuditRows) -> None:
    """Refuse a database whose audit log was deleted (D-53): writing on would start a new
    log, and the reports and runs deleted with the old one could no longer be told."""
    wiped = wiped_log(rows)
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
