"""The pushed FHIR resources in memory (the twin of `sql.resources`).

What the schema enforces is enforced here too: one resource per (id index, version), one
row per (resource, version), and the foreign keys to the data key and the resource.
"""

from __future__ import annotations

from datetime import UTC, datetime

from adapter.errors import ConcurrentUpdateError
from adapter.store.memory.tables import Tables
from adapter.store.rows import Row
from adapter.store.schema import fhir_resource, fhir_resource_version

_RESOURCE = tuple(c.name for c in fhir_resource.c)
_VERSION = tuple(c.name for c in fhir_resource_version.c)


class MemoryResourceRows:
    def __init__(self, tables: Tables) -> None:
        self.resources = tables["fhir_resource"]  # resource id -> row
        self.by_index = tables["fhir_resource_by_index"]  # (idx_ver, id_idx) -> resource id
        self.kept = tables["fhir_resource_version"]  # (resource id, version) -> row
        self.identifiers = tables["fhir_identifier_index"]  # (idx_ver, idx, id) -> row
        self.data_keys = tables["data_key"]

    def find(self, pairs: list[tuple[int, bytes]]) -> list[Row]:
        found = {self.by_index[p]["resource_id"] for p in pairs if p in self.by_index}
        return [dict(self.resources[r]) for r in sorted(found)]

    def get(self, resource_id: str) -> Row | None:
        row = self.resources.get(resource_id)
        return dict(row) if row is not None else None

    def add(self, row: Row) -> None:
        pair = (row["idx_ver"], row["id_idx"])
        if pair in self.by_index or row["resource_id"] in self.resources:
            raise ConcurrentUpdateError("fhir_resource: the logical id exists already")
        if row["dek_id"] not in self.data_keys:  # the foreign key
            raise KeyError(f"fhir_resource: no data key {row['dek_id']}")
        self.resources[row["resource_id"]] = {c: _utc(row.get(c)) for c in _RESOURCE}
        self.by_index[pair] = {"resource_id": row["resource_id"]}

    def advance(self, resource_id: str, expected: int, values: Row) -> bool:
        row = self.resources.get(resource_id)
        if row is None or row["version"] != expected:
            return False
        old_pair = (row["idx_ver"], row["id_idx"])
        row.update({c: _utc(v) for c, v in values.items()})
        new_pair = (row["idx_ver"], row["id_idx"])
        if new_pair != old_pair:  # re-indexed under the active index key
            del self.by_index[old_pair]
            self.by_index[new_pair] = {"resource_id": resource_id}
        return True

    def add_version(self, row: Row) -> None:
        key = (row["resource_id"], row["version"])
        if key in self.kept:
            raise ConcurrentUpdateError("fhir_resource_version: the version exists already")
        if row["resource_id"] not in self.resources:  # the foreign key
            raise KeyError(f"fhir_resource_version: no resource {row['resource_id']}")
        self.kept[key] = {c: _utc(row.get(c)) for c in _VERSION}

    def version(self, resource_id: str, version: int) -> Row | None:
        row = self.kept.get((resource_id, version))
        return dict(row) if row is not None else None

    def versions(self, resource_id: str) -> list[Row]:
        found = [dict(r) for (rid, _), r in self.kept.items() if rid == resource_id]
        return sorted(found, key=lambda r: -r["version"])

    def identified(self, pairs: list[tuple[int, bytes]]) -> list[str]:
        wanted = set(pairs)
        return sorted({rid for ver, idx, rid in self.identifiers if (ver, idx) in wanted})

    def set_identifiers(self, resource_id: str, pairs: list[tuple[int, bytes]]) -> None:
        for key in [k for k in self.identifiers if k[2] == resource_id]:
            del self.identifiers[key]
        for version, index in pairs:
            self.identifiers[(version, index, resource_id)] = {
                "identifier_idx": index,
                "idx_ver": version,
                "resource_id": resource_id,
            }

    def indexed_under_other_versions(self, version: int) -> list[Row]:
        stale = {rid for ver, _, rid in self.identifiers if ver != version}
        stale |= {rid for rid, row in self.resources.items() if row["idx_ver"] != version}
        return [dict(self.resources[rid]) for rid in sorted(stale)]

    def count_indexed_under(self, version: int) -> int:
        own = sum(1 for row in self.resources.values() if row["idx_ver"] == version)
        return own + sum(1 for ver, _, _ in self.identifiers if ver == version)

    def pending(self, limit: int) -> list[Row]:
        waiting = {rid for (rid, _), row in self.kept.items() if row["ingested_at"] is None}
        found = []
        for rid in waiting:
            resource = self.resources[rid]
            row = dict(self.kept[(rid, resource["version"])])
            row.update(resource_type=resource["resource_type"], dek_id=resource["dek_id"])
            found.append(row)
        found.sort(key=lambda r: (r["last_updated"], r["resource_id"]))
        return found[:limit]

    def mark_ingested(self, marks: list[tuple[str, int]], at: datetime) -> None:
        upto = dict(marks)
        for (rid, version), row in self.kept.items():
            if rid in upto and version <= upto[rid] and row["ingested_at"] is None:
                row["ingested_at"] = _utc(at)

    def count_pending(self) -> int:
        return len({rid for (rid, _), row in self.kept.items() if row["ingested_at"] is None})

    def set_owners(self, owners: dict[str, str | None]) -> None:
        for resource_id, owner in owners.items():
            if resource_id in self.resources:
                self.resources[resource_id]["owner"] = owner

    def owned_by(self, mapping_id: str) -> list[Row]:
        found = [dict(r) for r in self.resources.values() if r["owner"] == mapping_id]
        return sorted(found, key=lambda r: r["resource_id"])

    def forget(self, resource_ids: list[str]) -> None:
        gone = set(resource_ids)
        for key in [k for k in self.kept if k[0] in gone]:
            del self.kept[key]
        for key in [k for k in self.identifiers if k[2] in gone]:
            del self.identifiers[key]
        for key in [k for k, v in self.by_index.items() if v["resource_id"] in gone]:
            del self.by_index[key]
        for resource_id in gone:
            self.resources.pop(resource_id, None)


def _utc(value: object) -> object:
    return value.astimezone(UTC) if isinstance(value, datetime) else value
