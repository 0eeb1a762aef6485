"""`patient_mapping` and `patient_index` on SQLAlchemy Core (the SQL twin of
`memory.mappings`)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update

from adapter.store.database import insert_unless_present
from adapter.store.rows import RETIRED_DIGEST, Row
from adapter.store.schema import (
    patient_archive,
    patient_index,
    patient_mapping,
    patient_state,
    resource_seen,
)

_INDEX_CHUNK = 300  # index values per IN list (each also checked for its version)
_CHUNK = 500  # bound parameters per IN list


class SqlMappingRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- patient_index ------------------------------------------------------------------

    def index_hits(self, pairs: list[tuple[int, bytes]]) -> list[tuple[str, int, bytes]]:
        wanted = set(pairs)
        hits: list[tuple[str, int, bytes]] = []
        for start in range(0, len(pairs), _INDEX_CHUNK):
            chunk = pairs[start : start + _INDEX_CHUNK]
            rows = self.connection.execute(
                select(
                    patient_index.c.subject_idx, patient_index.c.idx_ver, patient_index.c.mapping_id
                ).where(patient_index.c.subject_idx.in_([idx for _, idx in chunk]))
            )
            for row in rows:
                # The IN list is of index values only: the version is checked here.
                if (row.idx_ver, bytes(row.subject_idx)) in wanted:
                    hits.append((row.mapping_id, row.idx_ver, bytes(row.subject_idx)))
        return hits

    def index_of(self, mapping_id: str) -> list[tuple[int, bytes]]:
        rows = self.connection.execute(
            select(patient_index.c.idx_ver, patient_index.c.subject_idx).where(
                patient_index.c.mapping_id == mapping_id
            )
        )
        return [(row.idx_ver, bytes(row.subject_idx)) for row in rows]

    def add_index(self, index: bytes, version: int, mapping_id: str) -> bool:
        return insert_unless_present(
            self.connection,
            patient_index,
            subject_idx=index,
            idx_ver=version,
            mapping_id=mapping_id,
        )

    def drop_index(self, mapping_id: str, pairs: list[tuple[int, bytes]]) -> None:
        if not pairs:
            return
        self.connection.execute(
            delete(patient_index)
            .where(patient_index.c.mapping_id == mapping_id)
            .where(
                or_(
                    *(
                        and_(patient_index.c.subject_idx == idx, patient_index.c.idx_ver == ver)
                        for ver, idx in pairs
                    )
                )
            )
        )

    def count_index(self, version: int) -> int:
        query = (
            select(func.count())
            .select_from(patient_index)
            .where(patient_index.c.idx_ver == version)
        )
        return int(self.connection.execute(query).scalar_one())

    def mapped_under_other_versions(self, version: int) -> list[str]:
        return list(
            self.connection.execute(
                select(patient_index.c.mapping_id)
                .where(patient_index.c.idx_ver != version)
                .distinct()
            ).scalars()
        )

    # -- patient_mapping ----------------------------------------------------------------

    def rows(self, mapping_ids: list[str]) -> dict[str, Row]:
        found: dict[str, Row] = {}
        for start in range(0, len(mapping_ids), _CHUNK):
            rows = self.connection.execute(
                select(patient_mapping).where(
                    patient_mapping.c.mapping_id.in_(mapping_ids[start : start + _CHUNK])
                )
            )
            for row in rows:
                found[row.mapping_id] = dict(row._mapping)
        return found

    def add(self, row: Row) -> None:
        self.connection.execute(patient_mapping.insert().values(**row))

    def remove(self, mapping_id: str) -> None:
        self.connection.execute(
            delete(patient_mapping).where(patient_mapping.c.mapping_id == mapping_id)
        )

    def update_guarded(self, changes: list[tuple[str, int, Row]], at: datetime) -> int | None:
        """One statement per set of columns changed (executemany), each row guarded by its
        row version (optimistic locking)."""
        by_columns: dict[tuple[str, ...], list[tuple[str, int, Row]]] = {}
        for change in changes:
            by_columns.setdefault(tuple(sorted(change[2])), []).append(change)
        changed, counted = 0, True
        for columns, group in by_columns.items():
            statement = (
                update(patient_mapping)
                .where(patient_mapping.c.mapping_id == bindparam("b_id"))
                .where(patient_mapping.c.row_version == bindparam("b_version"))
                .values(
                    {
                        **{c: bindparam(f"b_{c}") for c in columns},
                        "row_version": bindparam("b_next"),
                        "updated_at": at,
                    }
                )
            )
            params = [
                {
                    "b_id": mapping_id,
                    "b_version": version,
                    "b_next": version + 1,
                    **{f"b_{c}": values[c] for c in columns},
                }
                for mapping_id, version, values in group
            ]
            result = self.connection.execute(statement, params)
            if len(params) > 1 and not self.connection.dialect.supports_sane_multi_rowcount:
                counted = False
            changed += result.rowcount
        return changed if counted else None

    def closed_before(self, day: date) -> list[str]:
        return list(
            self.connection.execute(
                select(patient_mapping.c.mapping_id)
                .where(patient_mapping.c.status == "closed")
                .where(patient_mapping.c.closed_on < day)
            ).scalars()
        )

    def not_shredded(self) -> list[str]:
        return list(
            self.connection.execute(
                select(patient_mapping.c.mapping_id).where(patient_mapping.c.status != "shredded")
            ).scalars()
        )

    def with_sealed_reference(self) -> list[Row]:
        rows = self.connection.execute(
            select(patient_mapping)
            .where(patient_mapping.c.status != "shredded")
            .where(patient_mapping.c.subject_ct.is_not(None))
        )
        return [dict(row._mapping) for row in rows]

    def forget_patient(self, mapping_id: str) -> None:
        for table in (patient_index, patient_state, patient_archive):
            self.connection.execute(delete(table).where(table.c.mapping_id == mapping_id))
        self.connection.execute(
            update(resource_seen)
            .where(resource_seen.c.mapping_id == mapping_id)
            .values(digest=RETIRED_DIGEST)
        )
