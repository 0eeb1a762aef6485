"""`practice_state`, `patient_state`, `patient_archive` and `resource_seen` on SQLAlchemy
Core (the SQL twin of `memory.facts`).

A sync reads and writes thousands of these rows, so PostgreSQL gets one statement over
arrays where SQLite takes chunked IN lists or goes straight to the driver.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from adapter.store.rows import Row
from adapter.store.schema import (
    patient_archive,
    patient_mapping,
    patient_state,
    practice_state,
    resource_seen,
)

_PRACTICE_ROW = 1  # practice_state holds one row
_CHUNK = 500  # bound parameters per IN list


class SqlFactRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _postgresql(self) -> bool:
        return self.connection.dialect.name == "postgresql"

    # -- practice -----------------------------------------------------------------------

    def practice(self) -> Row | None:
        row = self.connection.execute(
            select(practice_state).where(practice_state.c.state_id == _PRACTICE_ROW)
        ).one_or_none()
        return None if row is None else dict(row._mapping)

    def put_practice(self, values: Row) -> None:
        # One upsert: every sync after the first replaces the row.
        dialect = postgresql if self._postgresql() else sqlite
        statement = dialect.insert(practice_state).values(state_id=_PRACTICE_ROW, **values)
        self.connection.execute(
            statement.on_conflict_do_update(
                index_elements=["state_id"], set_={c: statement.excluded[c] for c in values}
            )
        )

    # -- patient state ------------------------------------------------------------------

    def states(self, mapping_ids: list[str], *, with_live: bool, every: bool) -> list[Row]:
        query = select(patient_state, patient_mapping.c.dek_id).join(
            patient_mapping, patient_mapping.c.mapping_id == patient_state.c.mapping_id
        )
        if not every:
            chosen = patient_state.c.mapping_id.in_(mapping_ids)
            query = query.where(chosen | patient_state.c.live.is_(True) if with_live else chosen)
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def put_states(self, rows: list[Row]) -> None:
        if not rows:
            return
        dialect = postgresql if self._postgresql() else sqlite
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

    def archive(self, mapping_id: str) -> list[Row]:
        rows = self.connection.execute(
            select(patient_archive)
            .where(patient_archive.c.mapping_id == mapping_id)
            .order_by(patient_archive.c.seq)
        )
        return [dict(row._mapping) for row in rows]

    def archive_heads(self, mapping_ids: list[str]) -> dict[str, int]:
        heads: dict[str, int] = {}
        for start in range(0, len(mapping_ids), _CHUNK):
            rows = self.connection.execute(
                select(patient_archive.c.mapping_id, func.max(patient_archive.c.seq))
                .where(patient_archive.c.mapping_id.in_(mapping_ids[start : start + _CHUNK]))
                .group_by(patient_archive.c.mapping_id)
            )
            heads.update({row[0]: row[1] for row in rows})
        return heads

    def add_archives(self, rows: list[Row]) -> None:
        if rows:
            self.connection.execute(patient_archive.insert(), rows)

    def drop_archive(self, mapping_id: str) -> None:
        self.connection.execute(
            delete(patient_archive).where(patient_archive.c.mapping_id == mapping_id)
        )

    def archived_patients(self) -> list[str]:
        return list(
            self.connection.execute(select(patient_archive.c.mapping_id).distinct()).scalars()
        )

    # -- resources read -----------------------------------------------------------------

    def seen(self, indexes: list[bytes], version: int) -> dict[bytes, tuple[str | None, bytes]]:
        found: dict[bytes, tuple[str | None, bytes]] = {}
        if self._postgresql() and indexes:
            # One array parameter instead of hundreds of bound values.
            rows = self.connection.exec_driver_sql(
                _SEEN_POSTGRESQL, {"ver": version, "idx": list(indexes)}
            )
            return {bytes(idx): (owner, bytes(digest)) for idx, owner, digest in rows}
        for start in range(0, len(indexes), _CHUNK):
            chunk = indexes[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = self.connection.exec_driver_sql(
                # As bytes whatever SQLite holds (text written in SQL: schema.Bytes, D-84).
                "SELECT resource_idx, mapping_id, CAST(digest AS BLOB) FROM resource_seen "
                f"WHERE idx_ver = ? AND resource_idx IN ({marks})",
                (version, *chunk),
            )
            for idx, owner, digest in rows:
                found[bytes(idx)] = (owner, bytes(digest))
        return found

    def forget(self, rows: list[tuple[int, bytes]]) -> None:
        for version, idx in rows:
            self.connection.execute(
                delete(resource_seen)
                .where(resource_seen.c.idx_ver == version)
                .where(resource_seen.c.resource_idx == idx)
            )

    def count_marks_under(self, version: int) -> int:
        query = (
            select(func.count())
            .select_from(resource_seen)
            .join(patient_mapping, patient_mapping.c.mapping_id == resource_seen.c.mapping_id)
            .where(resource_seen.c.idx_ver == version)
            .where(patient_mapping.c.status == "shredded")
        )
        return int(self.connection.execute(query).scalar_one())

    def remember(
        self, rows: list[tuple[bytes, str | None, bytes]], version: int, *, new: bool
    ) -> None:
        if not rows:
            return
        if self._postgresql():
            # One statement over arrays: a batch brings thousands of resources, and one
            # row at a time would cost a round of the server each.
            self.connection.exec_driver_sql(
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


# Straight to psycopg, the arrays sent in its binary format (`%(name)b`): dumped as text,
# thousands of bytea values cost more than the statement itself (D-139).
_SEEN_POSTGRESQL = (
    "SELECT resource_idx, mapping_id, digest FROM resource_seen "
    "WHERE idx_ver = %(ver)s AND resource_idx = ANY(%(idx)b::bytea[])"
)
_SEEN_FROM_ARRAYS = (
    "INSERT INTO resource_seen (resource_idx, idx_ver, mapping_id, digest) "
    "SELECT * FROM unnest(%(idx)b::bytea[], %(ver)b::integer[], "
    "%(owner)b::varchar[], %(digest)b::bytea[])"
)
_INSERT_SEEN_POSTGRESQL = _SEEN_FROM_ARRAYS
_UPSERT_SEEN_POSTGRESQL = (
    _SEEN_FROM_ARRAYS + " ON CONFLICT (resource_idx, idx_ver) "
    "DO UPDATE SET mapping_id = excluded.mapping_id, digest = excluded.digest"
)
