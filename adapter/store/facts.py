"""What incremental sync keeps between runs, sealed: the practice's records, each
patient's state (facts in use and where the walk stopped) and archive (every batch of
their records, for a full re-derivation), and the digests of resources already read.

Patient blobs are sealed under the patient's own data key, so crypto-shredding a
patient (retention) takes their facts with them. The store does not look inside: it
keeps bytes, the services decide what they mean.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from adapter.errors import DamagedDataError, StoredFormatError
from adapter.store.database import insert_unless_present
from adapter.store.keys import KeyStore
from adapter.store.schema import (
    patient_archive,
    patient_mapping,
    patient_state,
    practice_state,
    resource_seen,
)

_PRACTICE_ROW = 1
_PRACTICE = "practice"


@dataclass(frozen=True, slots=True)
class StoredState:
    mapping_id: str
    format: int
    data: bytes
    walked_to: date | None
    live: bool


class Facts:
    def __init__(self, connection: Connection, keys: KeyStore, now: datetime) -> None:
        self.connection = connection
        self.keys = keys
        self.now = now
        # Patient states this transaction could not read (mapping id → why): left out of
        # `states`, so that one damaged row does not stop every patient (issue 9.6).
        self.unreadable: dict[str, str] = {}

    # -- practice -----------------------------------------------------------------------

    def practice(self) -> tuple[int, bytes] | None:
        row = self.connection.execute(
            select(practice_state).where(practice_state.c.state_id == _PRACTICE_ROW)
        ).one_or_none()
        if row is None:
            return None
        plain = self.keys.open(row.dek_id, _PRACTICE, "state", row.nonce, row.ct)
        return row.format, plain

    def save_practice(self, fmt: int, data: bytes, dek_id: str) -> None:
        sealed = self.keys.seal(dek_id, _PRACTICE, "state", data)
        values = {
            "dek_id": dek_id,
            "format": fmt,
            "nonce": sealed.nonce,
            "ct": sealed.ct,
            "updated_at": self.now,
        }
        if not insert_unless_present(
            self.connection, practice_state, state_id=_PRACTICE_ROW, **values
        ):
            self.connection.execute(
                update(practice_state)
                .where(practice_state.c.state_id == _PRACTICE_ROW)
                .values(**values)
            )

    # -- patient state ------------------------------------------------------------------

    def states(
        self, mapping_ids: Iterable[str], *, with_live: bool, every: bool = False
    ) -> list[StoredState]:
        """The stored states of `mapping_ids`, and of every live patient when `with_live`
        (or of every patient when `every`), opened with their data keys."""
        query = select(patient_state, patient_mapping.c.dek_id).join(
            patient_mapping, patient_mapping.c.mapping_id == patient_state.c.mapping_id
        )
        wanted = list(mapping_ids)
        if not every:
            chosen = patient_state.c.mapping_id.in_(wanted)
            query = query.where(chosen | patient_state.c.live.is_(True) if with_live else chosen)
        rows = self.connection.execute(query).all()
        self.keys.preload([row.dek_id for row in rows])
        states = []
        for row in rows:
            try:
                data = self.keys.open(row.dek_id, row.mapping_id, "state", row.nonce, row.ct)
            except DamagedDataError as exc:
                self.unreadable[row.mapping_id] = str(exc)
                continue
            states.append(StoredState(row.mapping_id, row.format, data, row.walked_to, row.live))
        return states

    def save_states(self, states: list[tuple[StoredState, str]]) -> None:
        """Insert or replace patient states (with their data keys), one statement."""
        if not states:
            return
        rows = []
        for state, dek_id in states:
            sealed = self.keys.seal(dek_id, state.mapping_id, "state", state.data)
            rows.append(
                {
                    "mapping_id": state.mapping_id,
                    "format": state.format,
                    "nonce": sealed.nonce,
                    "ct": sealed.ct,
                    "walked_to": state.walked_to,
                    "live": state.live,
                    "updated_at": self.now,
                }
            )
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(patient_state)
        changed = {c: statement.excluded[c] for c in rows[0] if c != "mapping_id"}
        self.connection.execute(
            statement.on_conflict_do_update(index_elements=["mapping_id"], set_=changed), rows
        )

    def latest_walk(self) -> date | None:
        latest: date | None = self.connection.execute(
            select(func.max(patient_state.c.walked_to))
        ).scalar_one()
        return latest

    # -- archive ------------------------------------------------------------------------

    def archive(self, mapping_id: str, dek_id: str, fmt: int | None = None) -> list[bytes]:
        """A patient's archived batches in order; StoredFormatError for rows of another
        `fmt` (written by another version: a full export synced with --rebuild renews them)."""
        rows = self.connection.execute(
            select(patient_archive)
            .where(patient_archive.c.mapping_id == mapping_id)
            .order_by(patient_archive.c.seq)
        ).all()
        if fmt is not None and any(row.format != fmt for row in rows):
            msg = (
                f"the stored records of mapping {mapping_id} are of another format than "
                f"{fmt}: sync a full export again with --rebuild"
            )
            raise StoredFormatError(msg)
        return [
            self.keys.open(dek_id, mapping_id, f"archive/{row.seq}", row.nonce, row.ct)
            for row in rows
        ]

    def append_archives(self, items: list[tuple[str, str, int, bytes]]) -> None:
        """Append one batch row to each patient's archive: (mapping id, data key, format,
        data), with two statements however many patients."""
        if not items:
            return
        ids = [mapping_id for mapping_id, _, _, _ in items]
        heads: dict[str, int] = {}
        for start in range(0, len(ids), 500):
            rows = self.connection.execute(
                select(patient_archive.c.mapping_id, func.max(patient_archive.c.seq))
                .where(patient_archive.c.mapping_id.in_(ids[start : start + 500]))
                .group_by(patient_archive.c.mapping_id)
            )
            heads.update({row[0]: row[1] for row in rows})
        values = []
        for mapping_id, dek_id, fmt, data in items:
            seq = heads[mapping_id] = heads.get(mapping_id, 0) + 1  # two batches: 1, 2
            sealed = self.keys.seal(dek_id, mapping_id, f"archive/{seq}", data)
            values.append(
                {
                    "mapping_id": mapping_id,
                    "seq": seq,
                    "format": fmt,
                    "nonce": sealed.nonce,
                    "ct": sealed.ct,
                    "created_at": self.now,
                }
            )
        self.connection.execute(patient_archive.insert(), values)

    def replace_archive(self, mapping_id: str, dek_id: str, fmt: int, data: bytes) -> None:
        """Compaction: one row with everything (after a full re-derivation)."""
        self.connection.execute(
            delete(patient_archive).where(patient_archive.c.mapping_id == mapping_id)
        )
        self.append_archives([(mapping_id, dek_id, fmt, data)])

    def archived_patients(self) -> list[str]:
        return list(
            self.connection.execute(select(patient_archive.c.mapping_id).distinct()).scalars()
        )

    # -- resources read -----------------------------------------------------------------

    def seen(self, indexes: list[bytes], version: int) -> dict[bytes, tuple[str | None, bytes]]:
        """Resource index → (owner mapping id, digest) for the resources read before."""
        found: dict[bytes, tuple[str | None, bytes]] = {}
        if self.connection.dialect.name == "postgresql" and indexes:
            # One array parameter instead of hundreds of bound values.
            rows = self.connection.execute(_SEEN_POSTGRESQL, {"ver": version, "idx": list(indexes)})
            return {row.resource_idx: (row.mapping_id, row.digest) for row in rows}
        for start in range(0, len(indexes), 500):
            chunk = indexes[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self.connection.exec_driver_sql(
                "SELECT resource_idx, mapping_id, digest FROM resource_seen "
                f"WHERE idx_ver = ? AND resource_idx IN ({marks})",
                (version, *chunk),
            )
            for idx, owner, digest in rows:
                found[bytes(idx)] = (owner, bytes(digest))
        return found

    def forget(self, rows: list[tuple[int, bytes]]) -> None:
        """Drop (version, index) rows kept again under the active index version."""
        for version, idx in rows:
            self.connection.execute(
                delete(resource_seen)
                .where(resource_seen.c.idx_ver == version)
                .where(resource_seen.c.resource_idx == idx)
            )

    def remember(
        self, rows: list[tuple[bytes, str | None, bytes]], version: int, *, new: bool = False
    ) -> None:
        """Insert or replace (index, owner, digest) of resources read in this run; `new`:
        none of them was kept before, so a plain insert does (and costs less)."""
        if not rows:
            return
        if self.connection.dialect.name == "postgresql":
            # One statement over arrays: a batch brings thousands of resources, and one
            # row at a time would cost a round of the server each.
            self.connection.execute(
                _INSERT_SEEN_POSTGRESQL if new else _UPSERT_SEEN_POSTGRESQL,
                {
                    "idx": [idx for idx, _, _ in rows],
                    "ver": [version] * len(rows),
                    "owner": [owner for _, owner, _ in rows],
                    "digest": [digest for _, _, digest in rows],
                },
            )
            return
        if new:
            # Straight to the driver: thousands of rows of four plain values need none of
            # SQLAlchemy's per-row parameter processing.
            self.connection.exec_driver_sql(
                "INSERT INTO resource_seen (resource_idx, idx_ver, mapping_id, digest) "
                "VALUES (?, ?, ?, ?)",
                [(i, version, o, d) for i, o, d in rows],
            )
            return
        statement = sqlite.insert(resource_seen)
        self.connection.execute(
            statement.on_conflict_do_update(
                index_elements=["resource_idx", "idx_ver"],
                set_={
                    "mapping_id": statement.excluded.mapping_id,
                    "digest": statement.excluded.digest,
                },
            ),
            [
                {"resource_idx": idx, "idx_ver": version, "mapping_id": owner, "digest": digest}
                for idx, owner, digest in rows
            ],
        )


_SEEN_POSTGRESQL = text(
    "SELECT resource_idx, mapping_id, digest FROM resource_seen "
    "WHERE idx_ver = :ver AND resource_idx = ANY(CAST(:idx AS bytea[]))"
)
_SEEN_FROM_ARRAYS = (
    "INSERT INTO resource_seen (resource_idx, idx_ver, mapping_id, digest) "
    "SELECT * FROM unnest(CAST(:idx AS bytea[]), CAST(:ver AS integer[]), "
    "CAST(:owner AS varchar[]), CAST(:digest AS bytea[]))"
)
_INSERT_SEEN_POSTGRESQL = text(_SEEN_FROM_ARRAYS)
_UPSERT_SEEN_POSTGRESQL = text(
    _SEEN_FROM_ARRAYS + " ON CONFLICT (resource_idx, idx_ver) "
    "DO UPDATE SET mapping_id = excluded.mapping_id, digest = excluded.digest"
)
