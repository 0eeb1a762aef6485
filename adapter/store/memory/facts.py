"""`practice_state`, `patient_state`, `patient_archive` and `resource_seen` in memory (the
twin of `sql.facts`): the same rows on dicts, with the keys and foreign keys the schema
enforces."""

from __future__ import annotations

from datetime import date

from adapter.errors import ConcurrentUpdateError
from adapter.store.memory.tables import Tables
from adapter.store.rows import Row

_PRACTICE_ROW = 1  # practice_state holds one row


class MemoryFactRows:
    def __init__(self, tables: Tables) -> None:
        self.practice_rows = tables["practice_state"]
        self.state_rows = tables["patient_state"]
        self.archive_rows = tables["patient_archive"]  # (mapping id, seq) -> row
        self.seen_rows = tables["resource_seen"]  # (resource index, index version) -> row
        self.mappings = tables["patient_mapping"]
        self.data_keys = tables["data_key"]

    # -- practice -----------------------------------------------------------------------

    def practice(self) -> Row | None:
        row = self.practice_rows.get(_PRACTICE_ROW)
        return None if row is None else dict(row)

    def put_practice(self, values: Row) -> None:
        if values["dek_id"] not in self.data_keys:  # the foreign key of the SQL schema
            raise KeyError(f"practice_state: the data key {values['dek_id']} does not exist")
        row = self.practice_rows.setdefault(_PRACTICE_ROW, {"state_id": _PRACTICE_ROW})
        row.update(values)

    # -- patient state ------------------------------------------------------------------

    def states(self, mapping_ids: list[str], *, with_live: bool, every: bool) -> list[Row]:
        wanted = set(mapping_ids)
        return [
            {**row, "dek_id": self.mappings[mapping_id]["dek_id"]}
            for mapping_id, row in self.state_rows.items()
            if every or mapping_id in wanted or (with_live and row["live"])
        ]

    def put_states(self, rows: list[Row]) -> None:
        for row in rows:
            self._require_patient("patient_state", row["mapping_id"])
        for row in rows:
            self.state_rows.setdefault(row["mapping_id"], {}).update(row)

    def latest_walk(self) -> date | None:
        days = [r["walked_to"] for r in self.state_rows.values() if r["walked_to"] is not None]
        return max(days, default=None)

    # -- archive ------------------------------------------------------------------------

    def archive(self, mapping_id: str) -> list[Row]:
        rows = [dict(r) for (m, _), r in self.archive_rows.items() if m == mapping_id]
        return sorted(rows, key=lambda r: r["seq"])

    def archive_heads(self, mapping_ids: list[str]) -> dict[str, int]:
        wanted = set(mapping_ids)
        heads: dict[str, int] = {}
        for mapping_id, seq in self.archive_rows:
            if mapping_id in wanted:
                heads[mapping_id] = max(seq, heads.get(mapping_id, seq))
        return heads

    def add_archives(self, rows: list[Row]) -> None:
        keys = [(row["mapping_id"], row["seq"]) for row in rows]
        for row in rows:
            self._require_patient("patient_archive", row["mapping_id"])
        if len(set(keys)) < len(keys) or any(key in self.archive_rows for key in keys):
            # The primary key (mapping_id, seq): on SQL a parallel run's batch is refused
            # the same way, and the unit of work runs again.
            raise ConcurrentUpdateError("patient_archive: a batch of that number is kept already")
        for key, row in zip(keys, rows, strict=True):
            self.archive_rows[key] = dict(row)

    def drop_archive(self, mapping_id: str) -> None:
        for key in [k for k in self.archive_rows if k[0] == mapping_id]:
            del self.archive_rows[key]

    def archived_patients(self) -> list[str]:
        return list(dict.fromkeys(mapping_id for mapping_id, _ in self.archive_rows))

    # -- resources read -----------------------------------------------------------------

    def seen(self, indexes: list[bytes], version: int) -> dict[bytes, tuple[str | None, bytes]]:
        found: dict[bytes, tuple[str | None, bytes]] = {}
        for idx in indexes:
            row = self.seen_rows.get((idx, version))
            if row is not None:
                found[idx] = (row["mapping_id"], row["digest"])
        return found

    def forget(self, rows: list[tuple[int, bytes]]) -> None:
        for version, idx in rows:
            self.seen_rows.pop((idx, version), None)

    def count_marks_under(self, version: int) -> int:
        return sum(
            1
            for (_, ver), row in self.seen_rows.items()
            if ver == version
            and row["mapping_id"] in self.mappings
            and self.mappings[row["mapping_id"]]["status"] == "shredded"
        )

    def remember(
        self, rows: list[tuple[bytes, str | None, bytes]], version: int, *, new: bool
    ) -> None:
        keys = [(idx, version) for idx, _, _ in rows]
        if new and (len(set(keys)) < len(keys) or any(key in self.seen_rows for key in keys)):
            # A plain insert, as on SQL: the primary key (resource_idx, idx_ver) refuses it.
            raise ConcurrentUpdateError("resource_seen: a resource read is kept already")
        for idx, owner, digest in rows:
            self.seen_rows[(idx, version)] = {
                "resource_idx": idx,
                "idx_ver": version,
                "mapping_id": owner,
                "digest": digest,
            }

    def _require_patient(self, table: str, mapping_id: str) -> None:
        if mapping_id not in self.mappings:  # the foreign key of the SQL schema
            raise KeyError(f"{table}: the mapping {mapping_id} does not exist")
