"""`patient_mapping` and `patient_index` in memory (the twin of `sql.mappings`).

What the SQL schema enforces and the logic relies on is enforced here too: one index row
per (index, version) (a taken one is refused, as ON CONFLICT DO NOTHING refuses it), and
the foreign keys: an index row needs its mapping row, a mapping row its data key, and a
mapping row that other rows point to is not deleted.
"""

from __future__ import annotations

from datetime import date, datetime

from adapter.errors import ConcurrentUpdateError
from adapter.store.memory.tables import Tables
from adapter.store.rows import RETIRED_DIGEST, Row
from adapter.store.schema import patient_mapping

_COLUMNS = {c.name: c.nullable for c in patient_mapping.columns}  # name -> NULL allowed
_POINTING = ("patient_index", "patient_state", "patient_archive", "report")  # foreign keys
_FORGOTTEN = ("patient_index", "patient_state", "patient_archive")


class MemoryMappingRows:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.mapping = tables["patient_mapping"]
        self.index = tables["patient_index"]  # (subject_idx, idx_ver) -> row

    # -- patient_index ------------------------------------------------------------------

    def index_hits(self, pairs: list[tuple[int, bytes]]) -> list[tuple[str, int, bytes]]:
        found = (self.index.get((idx, ver)) for ver, idx in dict.fromkeys(pairs))
        return [(r["mapping_id"], r["idx_ver"], r["subject_idx"]) for r in found if r is not None]

    def index_of(self, mapping_id: str) -> list[tuple[int, bytes]]:
        return [
            (r["idx_ver"], r["subject_idx"])
            for r in self.index.values()
            if r["mapping_id"] == mapping_id
        ]

    def add_index(self, index: bytes, version: int, mapping_id: str) -> bool:
        if mapping_id not in self.mapping:  # the foreign key of the SQL schema
            raise KeyError(f"patient_index: there is no mapping row {mapping_id}")
        if (index, version) in self.index:
            return False
        self.index[(index, version)] = {
            "subject_idx": index,
            "idx_ver": version,
            "mapping_id": mapping_id,
        }
        return True

    def drop_index(self, mapping_id: str, pairs: list[tuple[int, bytes]]) -> None:
        for ver, idx in pairs:
            row = self.index.get((idx, ver))
            if row is not None and row["mapping_id"] == mapping_id:
                del self.index[(idx, ver)]

    def count_index(self, version: int) -> int:
        return sum(1 for r in self.index.values() if r["idx_ver"] == version)

    def mapped_under_other_versions(self, version: int) -> list[str]:
        return sorted({r["mapping_id"] for r in self.index.values() if r["idx_ver"] != version})

    # -- patient_mapping ----------------------------------------------------------------

    def rows(self, mapping_ids: list[str]) -> dict[str, Row]:
        return {i: dict(self.mapping[i]) for i in mapping_ids if i in self.mapping}

    def add(self, row: Row) -> None:
        full = _checked({c: row.get(c) for c in _COLUMNS} | row)
        if full["mapping_id"] in self.mapping:  # the primary key: a parallel run was first
            raise ConcurrentUpdateError(full["mapping_id"])
        if full["dek_id"] not in self.tables["data_key"]:  # the foreign key
            raise KeyError(f"patient_mapping: there is no data key {full['dek_id']}")
        self.mapping[full["mapping_id"]] = full

    def remove(self, mapping_id: str) -> None:
        for table in _POINTING:  # the foreign keys to the row
            if any(r.get("mapping_id") == mapping_id for r in self.tables[table].values()):
                raise KeyError(f"patient_mapping: rows of {table} point to {mapping_id}")
        self.mapping.pop(mapping_id, None)

    def update_guarded(self, changes: list[tuple[str, int, Row]], at: datetime) -> int | None:
        changed = 0
        for mapping_id, version, values in changes:
            row = self.mapping.get(mapping_id)
            if row is None or row["row_version"] != version:
                continue
            row.update(_checked(values), row_version=version + 1, updated_at=at)
            changed += 1
        return changed

    def closed_before(self, day: date) -> list[str]:
        return [
            i
            for i, r in self.mapping.items()
            if r["status"] == "closed" and r["closed_on"] is not None and r["closed_on"] < day
        ]

    def not_shredded(self) -> list[str]:
        return [i for i, r in self.mapping.items() if r["status"] != "shredded"]

    def with_sealed_reference(self) -> list[Row]:
        return [
            dict(r)
            for r in self.mapping.values()
            if r["status"] != "shredded" and r["subject_ct"] is not None
        ]

    def forget_patient(self, mapping_id: str) -> None:
        for name in _FORGOTTEN:
            table = self.tables[name]
            for key in [k for k, r in table.items() if r.get("mapping_id") == mapping_id]:
                del table[key]
        for row in self.tables["resource_seen"].values():
            if row["mapping_id"] == mapping_id:
                row["digest"] = RETIRED_DIGEST


def _checked(values: Row) -> Row:
    """`values` if each names a column of `patient_mapping` and only a nullable one is
    None (what the SQL schema refuses is refused here)."""
    for column, value in values.items():
        if column not in _COLUMNS:
            raise KeyError(f"patient_mapping has no column {column}")
        if value is None and not _COLUMNS[column]:
            raise ValueError(f"patient_mapping.{column} cannot be NULL")
    return values
