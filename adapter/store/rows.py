"""The storage ports: what each part of the store needs of the rows beneath it.

The parts (`KeyStore`, `PatientMappings`, `Ledger`, `Facts`, `AuditLog`, `RunJournal`,
`RetentionMark`, `Outbox`, `PullState`, `PushedResources`) hold the logic: blind indexes,
sealing, seals and chains, optimistic locking. Beneath each is a row store of this module's
shape, one on
SQLAlchemy Core for SQLite and PostgreSQL (`adapter.store.sql`) and one in memory
(`adapter.store.memory`), the twin that use-case tests run on in milliseconds. Both pass
the same contract tests (tests/store/contract/). Values cross as plain Python: bytes,
dates, strings, and row dicts keyed by the column names of `adapter.store.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

Row = dict[str, Any]  # one row, by column name


@dataclass(frozen=True, slots=True)
class RegisteredKey:
    key_id: str
    purpose: str
    version: int
    state: str
    public_key: bytes | None


@dataclass(frozen=True, slots=True)
class WrappedKey:
    dek_id: str
    kek_id: str
    wrapped: bytes | None  # None: destroyed (retention)


class KeyRows(Protocol):
    """`key_registry` and `data_key`."""

    def registered(self) -> list[RegisteredKey]: ...
    def register(self, key: RegisteredKey, algorithm: str, at: datetime) -> None: ...
    def set_state(self, key_id: str, state: str, at: datetime) -> None: ...
    def mark_destroyed(self, purpose: str, version: int, at: datetime) -> None: ...
    def add_data_key(
        self, dek_id: str, kek_id: str, wrapped: bytes, owner: str, at: datetime
    ) -> None: ...
    def data_keys(self, dek_ids: list[str]) -> dict[str, WrappedKey]: ...
    def destroy_data_key(self, dek_id: str, at: datetime) -> None: ...
    def live_data_keys_not_under(self, kek_id: str) -> list[WrappedKey]: ...
    def rewrap(self, dek_id: str, kek_id: str, wrapped: bytes) -> None: ...
    def first_live_key_of(self, owner: str) -> str | None: ...
    def count_wrapped_under(self, kek_id: str) -> int: ...


class MappingRows(Protocol):
    """`patient_mapping` and `patient_index` (and, when a patient is shredded, the rows
    that belong to it elsewhere). An index pair is (version, index)."""

    def index_hits(self, pairs: list[tuple[int, bytes]]) -> list[tuple[str, int, bytes]]:
        """(mapping id, version, index) of the index rows among the pairs."""
        ...

    def index_of(self, mapping_id: str) -> list[tuple[int, bytes]]:
        """The pairs of the index rows that point to the row."""
        ...

    def add_index(self, index: bytes, version: int, mapping_id: str) -> bool:
        """Insert unless (index, version) is taken; True when inserted."""
        ...

    def drop_index(self, mapping_id: str, pairs: list[tuple[int, bytes]]) -> None:
        """Delete the row's index rows among the pairs."""
        ...

    def count_index(self, version: int) -> int: ...
    def mapped_under_other_versions(self, version: int) -> list[str]:
        """The ids of the rows with an index row under another version, each once."""
        ...

    def rows(self, mapping_ids: list[str]) -> dict[str, Row]:
        """Full rows by id (an id without a row is left out)."""
        ...

    def add(self, row: Row) -> None: ...
    def remove(self, mapping_id: str) -> None: ...
    def update_guarded(self, changes: list[tuple[str, int, Row]], at: datetime) -> int | None:
        """Apply (mapping id, expected row version, values), each bumping the row version;
        the rows changed (None: the database cannot count a batch)."""
        ...

    def closed_before(self, day: date) -> list[str]:
        """The ids of the closed rows whose treatment ended before `day`."""
        ...

    def not_shredded(self) -> list[str]: ...

    def with_sealed_reference(self) -> list[Row]:
        """Every row that is not shredded and holds its sealed reference."""
        ...

    def forget_patient(self, mapping_id: str) -> None:
        """Delete the patient's index rows, state and archive. The resources seen of it
        keep their blind index and owner, their digest replaced by `RETIRED_DIGEST`: they
        tell sync which resources belong to a treatment retention ended (D-81)."""
        ...


RETIRED_DIGEST = bytes(32)  # a resource seen of a shredded treatment: no digest is kept


class LedgerRows(Protocol):
    """`report`, and the audit entries that chained its rows."""

    def insert_new(self, rows: list[Row]) -> set[str]:
        """Insert the rows whose slot (and ledger id) is free; the ledger ids inserted (a
        taken slot is not an error: a parallel run recorded it first)."""
        ...

    def update_guarded(
        self, ledger_id: str, state: str, row_mac: bytes | None, values: Row
    ) -> bool:
        """Set columns of the row while it still has this state and seal; whether it did
        (False: a parallel run moved it first)."""
        ...

    def set_seal(self, ledger_id: str, row_mac: bytes, mac_key: str) -> None: ...
    def rows(
        self,
        *,
        state: str | None = None,
        mapping_ids: list[str] | None = None,
        since: date | None = None,
        until: date | None = None,
        notices: bool = False,
    ) -> list[Row]:
        """Full rows in ledger order (made on, date, kind), `since` and `until` bounding the
        day made on; `notices` adds the rows of no patient to those of `mapping_ids`."""
        ...

    def row(self, ledger_id: str) -> Row | None: ...
    def ids(self) -> list[str]: ...
    def unsealed(self) -> list[Row]:
        """Full rows without a seal (written before revision 0004), in no given order."""
        ...

    def chained(
        self,
        action: str,
        ledger_id: str | None = None,
        *,
        mapping_ids: list[str] | None = None,
        notices: bool = False,
    ) -> dict[str, Row]:
        """The last audit entry of `action` of each ledger id (of one, if given), keyed in
        the order the log first names them: its `mapping_id` and its `details` (the JSON
        text as stored). With `mapping_ids`, only the entries naming one of them (and,
        with `notices`, those naming no patient): one subject's share of the log, read by
        an index (D-199)."""
        ...


class FactRows(Protocol):
    """`practice_state`, `patient_state`, `patient_archive`, `resource_seen`."""

    def practice(self) -> Row | None:
        """The practice's one row, if it was ever saved."""
        ...

    def put_practice(self, values: Row) -> None:
        """Insert the practice's one row, or replace its columns with `values`."""
        ...

    def states(self, mapping_ids: list[str], *, with_live: bool, every: bool) -> list[Row]:
        """The state rows of `mapping_ids` (and of every live patient when `with_live`,
        of every patient when `every`), each with its patient's `dek_id`."""
        ...

    def put_states(self, rows: list[Row]) -> None:
        """Insert or replace state rows, by mapping id."""
        ...

    def latest_walk(self) -> date | None:
        """The furthest `walked_to` of any state."""
        ...

    def archive(self, mapping_id: str) -> list[Row]:
        """A patient's archive rows, by seq."""
        ...

    def archive_heads(self, mapping_ids: list[str]) -> dict[str, int]:
        """The highest seq of each patient's archive (patients without one left out)."""
        ...

    def add_archives(self, rows: list[Row]) -> None:
        """Insert archive rows; a (mapping id, seq) kept already is refused."""
        ...

    def drop_archive(self, mapping_id: str) -> None: ...
    def archived_patients(self) -> list[str]: ...
    def seen(self, indexes: list[bytes], version: int) -> dict[bytes, tuple[str | None, bytes]]:
        """Resource index → (owner mapping id, digest) of the indexes kept under `version`."""
        ...

    def forget(self, rows: list[tuple[int, bytes]]) -> None:
        """Delete (index version, resource index) rows."""
        ...

    def count_marks_under(self, version: int) -> int:
        """How many rows under index `version` belong to a shredded treatment (the marks
        of what retention ended, D-81)."""
        ...

    def remember(
        self, rows: list[tuple[bytes, str | None, bytes]], version: int, *, new: bool
    ) -> None:
        """Insert or replace (index, owner, digest) rows under `version`; `new`: a plain
        insert, which refuses an index kept already."""
        ...


class AuditRows(Protocol):
    """`audit_log` and `audit_checkpoint` (rows as stored: `details` is canonical JSON
    text, `at` in UTC), and what the tables of a database in use hold."""

    def head(self) -> tuple[int, bytes] | None:
        """(seq, entry hash) of the newest entry; None when the log is empty."""
        ...

    def add(self, entries: list[Row]) -> None:
        """Insert entries at the seqs the chain gave them; a seq taken is refused (a
        parallel writer appended first)."""
        ...

    def entries(
        self, *, action: str | None = None, ledger_ids: list[str] | None = None
    ) -> list[Row]:
        """Full entries by seq, of one action and of some ledger rows if given."""
        ...

    def count(self, action: str, actor: str, since: datetime) -> int:
        """Entries of an action by an actor at or after `since` (UTC)."""
        ...

    def add_checkpoint(self, row: Row) -> None:
        """One signed head; a seq signed already is refused."""
        ...

    def checkpoints(self) -> list[Row]: ...
    def has_entries(self) -> bool: ...
    def held(self) -> dict[str, int]:
        """How many rows `report`, `key_registry`, `patient_mapping` and `sync_run` hold,
        by table name (a database in use never has an empty log)."""
        ...


class RunRows(Protocol):
    """`sync_run` and `sync_run_change`, and the columns of the rows a run changes
    (`report`, `patient_mapping`, `patient_state`): kept before it, put back on undo."""

    def columns(self, kind: str, ids: list[str], names: tuple[str, ...]) -> dict[str, Row]:
        """The columns `names` of the `kind` rows (report, mapping, state) among `ids`, as
        they are, by ledger or mapping id; ids without a row are left out."""
        ...

    def restore(self, kind: str, row_id: str, values: Row, at: datetime) -> None:
        """Put back columns of a mapping or state row (`runs undo`), `updated_at` set; a
        mapping's row version is bumped (its optimistic lock)."""
        ...

    def latest_walk_except(self, mapping_ids: list[str]) -> date | None:
        """The latest `walked_to` of the patient states other than `mapping_ids`."""
        ...

    def newest_seq(self) -> int:
        """The seq of the newest run; 0 before the first."""
        ...

    def add_run(self, row: Row) -> None:
        """Insert a run; a seq (or run id) taken is refused (a parallel sync was first)."""
        ...

    def add_changes(self, rows: list[Row]) -> None:
        """Insert changes of runs written before; an (run id, item) taken is refused."""
        ...

    def drop_changes_through(self, seq: int) -> None:
        """Drop the changes of the runs up to seq `seq` (the runs stay)."""
        ...

    def runs(self, limit: int) -> list[Row]:
        """The newest `limit` runs, newest first."""
        ...

    def with_changes(self) -> set[str]:
        """The ids of the runs whose changes are kept."""
        ...

    def changes(self, run_id: str) -> list[Row]:
        """A run's changes in the order they were noted (by item)."""
        ...

    def mark_undone(self, run_id: str, at: datetime) -> None: ...


class MarkRows(Protocol):
    """`retention_mark` (one row), and the last treatment retention shredded."""

    def cutoff(self) -> date | None: ...
    def put(self, cutoff: date, at: datetime) -> None:
        """Insert the mark, or replace it."""
        ...

    def drop(self) -> None: ...
    def last_shredded_closed_on(self) -> date | None:
        """The latest `closed_on` of the shredded patients' mapping rows."""
        ...


class OutboxRows(Protocol):
    """`outbox_batch` and `outbox_report`. Times are written in UTC."""

    def add(self, batch: Row, items: list[Row]) -> None:
        """Insert a batch and its reports; a batch id taken is refused (a race)."""
        ...

    def batch(self, batch_id: str) -> Row | None:
        """The full row of a batch, envelope included."""
        ...

    def batches(
        self, *, states: list[str] | None = None, batch_ids: list[str] | None = None
    ) -> list[Row]:
        """Batches (of these states, these ids) oldest first, every column but `envelope`."""
        ...

    def items(self, batch_id: str) -> list[Row]:
        """The reports of a batch, by position."""
        ...

    def items_of(self, ledger_ids: list[str]) -> list[Row]:
        """The batch reports of these ledger rows, in every batch that held them."""
        ...

    def claim(self, now: datetime, until: datetime, worker: str) -> Row | None:
        """Claim the oldest batch that is due: `sealed` or `sent` with its next attempt at
        or before `now`, or `sending` with its lease ended before `now`; one that another
        transaction holds is skipped (PostgreSQL: FOR UPDATE SKIP LOCKED). It becomes
        `sending`, claimed by `worker` until `until`; its full row as it is now."""
        ...

    def update(self, batch_id: str, state: str, claimed_by: str | None, values: Row) -> bool:
        """Set columns of the batch while it is still in `state` and claimed by
        `claimed_by`; whether it did (False: another worker took it meanwhile)."""
        ...

    def set_results(self, batch_id: str, results: dict[int, str]) -> None:
        """The receipt's word on each report of the batch, by position."""
        ...

    def next_due(self) -> datetime | None:
        """The earliest time a batch becomes due (a next attempt, a lease that ends)."""
        ...


class PullRows(Protocol):
    """`pull_checkpoint` and `subscription_seen` (issue 13): the pull connector's
    checkpoints by (server, resource type), and the EHR's subscriptions last seen."""

    def checkpoints(self, server: str) -> dict[str, str]:
        """Resource type → the `last_updated` instant kept for it, of one server."""
        ...

    def put_checkpoint(self, server: str, resource_type: str, value: str, at: datetime) -> None:
        """Insert or replace the checkpoint of (server, resource type)."""
        ...

    def drop_checkpoints(self, server: str) -> int:
        """Forget every checkpoint of the server; how many there were."""
        ...

    def subscription(self, subscription: str) -> Row | None: ...
    def put_subscription(self, row: Row) -> None:
        """Insert or replace the row of `row["subscription"]`."""
        ...

    def subscriptions(self) -> list[Row]:
        """Every row, by subscription."""
        ...


class ResourceRows(Protocol):
    """`fhir_resource`, `fhir_resource_version` and `fhir_identifier_index`: the resources
    pushed to `/fhir`, every version of each, and blind indexes (pairs: (version, index))."""

    def find(self, pairs: list[tuple[int, bytes]]) -> list[Row]:
        """The resource rows whose (idx_ver, id_idx) is among the pairs."""
        ...

    def get(self, resource_id: str) -> Row | None: ...
    def add(self, row: Row) -> None:
        """Insert a resource row; an (id_idx, idx_ver) taken is refused (a parallel push
        created the same logical id first)."""
        ...

    def advance(self, resource_id: str, expected: int, values: Row) -> bool:
        """Set columns of the resource row while its `version` is still `expected`; whether
        it did (False: a parallel write made a version first)."""
        ...

    def add_version(self, row: Row) -> None:
        """Insert one version; a (resource id, version) taken is refused."""
        ...

    def version(self, resource_id: str, version: int) -> Row | None: ...
    def versions(self, resource_id: str) -> list[Row]:
        """Every version of the resource, newest first."""
        ...

    def identified(self, pairs: list[tuple[int, bytes]]) -> list[str]:
        """The ids of the resources with an identifier index row among the pairs, each
        once, sorted."""
        ...

    def set_identifiers(self, resource_id: str, pairs: list[tuple[int, bytes]]) -> None:
        """Replace the resource's identifier index rows with the pairs."""
        ...

    def indexed_under_other_versions(self, version: int) -> list[Row]:
        """The resource rows indexed under another index version than `version`: their
        own id index, or one of their identifier index rows (an index-key rotation)."""
        ...

    def count_indexed_under(self, version: int) -> int:
        """How many id and identifier index rows use the index version."""
        ...

    def pending(self, limit: int) -> list[Row]:
        """Of up to `limit` resources with a version sync has not read, the current
        version's row with its resource's `resource_type` and `dek_id`, oldest first."""
        ...

    def mark_ingested(self, marks: list[tuple[str, int]], at: datetime) -> None:
        """Mark the versions up to each (resource id, version) as read by sync."""
        ...

    def count_pending(self) -> int:
        """How many resources have a version sync has not read."""
        ...

    def set_owners(self, owners: dict[str, str | None]) -> None:
        """Set the `owner` (a mapping id, or None) of each resource id given."""
        ...

    def owned_by(self, mapping_id: str) -> list[Row]:
        """The resource rows the patient owns."""
        ...

    def forget(self, resource_ids: list[str]) -> None:
        """Delete the resources with their versions and identifier index rows."""
        ...


class HandoverRows(Protocol):
    """`handover_in`: the handover documents received (R-HO-1), by document id."""

    def add(self, row: Row) -> bool:
        """Insert the row; False when a row of that id exists (the document came before)."""
        ...

    def rows(self, state: str | None = None) -> list[Row]:
        """Every row (of `state`), oldest first."""
        ...

    def set_state(self, handover_id: str, state: str, released_on: date | None) -> bool:
        """Change a row's state; False when there is no such row."""
        ...

    def remove(self, handover_id: str) -> None:
        """Delete the row (retention, after its data key was destroyed)."""
        ...


class NoticeLetterRows(Protocol):
    """`duplicate_notice`: the register's duplicate notices received (004 §10), by our id."""

    def add(self, row: Row) -> None:
        """Insert the row (a new id: the caller compared the letters first)."""
        ...

    def rows(self) -> list[Row]:
        """Every row, oldest first."""
        ...

    def update(self, notice_id: str, values: Row) -> bool:
        """Set columns of the row; False when there is no such row."""
        ...

    def remove(self, notice_id: str) -> None:
        """Delete the row (retention, after its data key was destroyed, D-240)."""
        ...


class Backend(Protocol):
    """The row stores of one transaction (read-only members: each backend's own types)."""

    @property
    def keys(self) -> KeyRows: ...
    @property
    def mappings(self) -> MappingRows: ...
    @property
    def ledger(self) -> LedgerRows: ...
    @property
    def facts(self) -> FactRows: ...
    @property
    def audit(self) -> AuditRows: ...
    @property
    def runs(self) -> RunRows: ...
    @property
    def marks(self) -> MarkRows: ...
    @property
    def outbox(self) -> OutboxRows: ...
    @property
    def pull(self) -> PullRows: ...
    @property
    def resources(self) -> ResourceRows: ...
    @property
    def handovers(self) -> HandoverRows: ...
    @property
    def notice_letters(self) -> NoticeLetterRows: ...
