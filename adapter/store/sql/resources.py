"""The pushed FHIR resources on SQLAlchemy Core (the SQL twin of `memory.resources`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update

from adapter.store.rows import Row
from adapter.store.schema import fhir_identifier_index, fhir_resource, fhir_resource_version

_CHUNK = 500  # bound parameters per IN list
_version = fhir_resource_version.c
_resource = fhir_resource.c


class SqlResourceRows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def find(self, pairs: list[tuple[int, bytes]]) -> list[Row]:
        wanted = set(pairs)
        indexes = sorted({index for _, index in wanted})
        found: list[Row] = []
        for start in range(0, len(indexes), _CHUNK):  # the index alone: compiled once
            query = select(fhir_resource).where(
                _resource.id_idx.in_(indexes[start : start + _CHUNK])
            )
            found += [_utc(r._asdict()) for r in self.connection.execute(query)]
        found = [r for r in found if (r["idx_ver"], r["id_idx"]) in wanted]
        return sorted(found, key=lambda r: r["resource_id"])

    def get(self, resource_id: str) -> Row | None:
        query = select(fhir_resource).where(_resource.resource_id == resource_id)
        row = self.connection.execute(query).first()
        return _utc(row._asdict()) if row is not None else None

    def add(self, row: Row) -> None:
        self.connection.execute(fhir_resource.insert(), _in_utc(row))  # compiled once

    def advance(self, resource_id: str, expected: int, values: Row) -> bool:
        statement = (
            update(fhir_resource)
            .where(_resource.resource_id == resource_id, _resource.version == expected)
            .values(**_in_utc(values))
        )
        return self.connection.execute(statement).rowcount == 1

    def add_version(self, row: Row) -> None:
        self.connection.execute(fhir_resource_version.insert(), _in_utc(row))

    def version(self, resource_id: str, version: int) -> Row | None:
        query = select(fhir_resource_version).where(
            _version.resource_id == resource_id, _version.version == version
        )
        row = self.connection.execute(query).first()
        return _utc(row._asdict()) if row is not None else None

    def versions(self, resource_id: str) -> list[Row]:
        query = (
            select(fhir_resource_version)
            .where(_version.resource_id == resource_id)
            .order_by(_version.version.desc())
        )
        return [_utc(r._asdict()) for r in self.connection.execute(query)]

    def identified(self, pairs: list[tuple[int, bytes]]) -> list[str]:
        if not pairs:
            return []
        index = fhir_identifier_index.c
        wanted = set(pairs)
        query = select(index.resource_id, index.idx_ver, index.identifier_idx).where(
            index.identifier_idx.in_(sorted({idx for _, idx in wanted}))
        )
        rows = self.connection.execute(query)
        return sorted({rid for rid, ver, idx in rows if (ver, bytes(idx)) in wanted})

    def set_identifiers(self, resource_id: str, pairs: list[tuple[int, bytes]]) -> None:
        index = fhir_identifier_index.c
        self.connection.execute(
            delete(fhir_identifier_index).where(index.resource_id == resource_id)
        )
        rows = [
            {"identifier_idx": idx, "idx_ver": ver, "resource_id": resource_id}
            for ver, idx in sorted(set(pairs))
        ]
        if rows:
            self.connection.execute(fhir_identifier_index.insert(), rows)

    def indexed_under_other_versions(self, version: int) -> list[Row]:
        index = fhir_identifier_index.c
        by_identifier = select(index.resource_id).where(index.idx_ver != version)
        query = (
            select(fhir_resource)
            .where(or_(_resource.idx_ver != version, _resource.resource_id.in_(by_identifier)))
            .order_by(_resource.resource_id)
        )
        return [_utc(r._asdict()) for r in self.connection.execute(query)]

    def count_indexed_under(self, version: int) -> int:
        index = fhir_identifier_index.c
        own = select(func.count()).select_from(fhir_resource).where(_resource.idx_ver == version)
        identifiers = (
            select(func.count()).select_from(fhir_identifier_index).where(index.idx_ver == version)
        )
        execute = self.connection.execute
        return int(execute(own).scalar_one()) + int(execute(identifiers).scalar_one())

    def pending(self, limit: int) -> list[Row]:
        waiting = select(_version.resource_id).where(_version.ingested_at.is_(None)).distinct()
        current = and_(
            _version.resource_id == _resource.resource_id, _version.version == _resource.version
        )
        query = (
            select(fhir_resource_version, _resource.resource_type, _resource.dek_id)
            .join(fhir_resource, current)
            .where(_resource.resource_id.in_(waiting))
            .order_by(_version.last_updated, _version.resource_id)
            .limit(limit)
        )
        return [_utc(r._asdict()) for r in self.connection.execute(query)]

    def mark_ingested(self, marks: list[tuple[str, int]], at: datetime) -> None:
        moment = at.astimezone(UTC)
        for start in range(0, len(marks), _CHUNK):
            chunk = marks[start : start + _CHUNK]
            upto = or_(
                *(and_(_version.resource_id == rid, _version.version <= v) for rid, v in chunk)
            )
            statement = (
                update(fhir_resource_version)
                .where(_version.ingested_at.is_(None), upto)
                .values(ingested_at=moment)
            )
            self.connection.execute(statement)

    def count_pending(self) -> int:
        query = select(func.count(func.distinct(_version.resource_id))).where(
            _version.ingested_at.is_(None)
        )
        return int(self.connection.execute(query).scalar_one())

    def set_owners(self, owners: dict[str, str | None]) -> None:
        statement = (
            update(fhir_resource)
            .where(_resource.resource_id == bindparam("rid"))
            .values(owner=bindparam("new_owner"))
        )
        rows = [{"rid": rid, "new_owner": owner} for rid, owner in owners.items()]
        if rows:
            self.connection.execute(statement, rows)  # one executemany

    def owned_by(self, mapping_id: str) -> list[Row]:
        query = (
            select(fhir_resource)
            .where(_resource.owner == mapping_id)
            .order_by(_resource.resource_id)
        )
        return [_utc(r._asdict()) for r in self.connection.execute(query)]

    def forget(self, resource_ids: list[str]) -> None:
        index = fhir_identifier_index.c
        for start in range(0, len(resource_ids), _CHUNK):
            chunk = resource_ids[start : start + _CHUNK]
            self.connection.execute(
                delete(fhir_identifier_index).where(index.resource_id.in_(chunk))
            )
            self.connection.execute(
                delete(fhir_resource_version).where(_version.resource_id.in_(chunk))
            )
            self.connection.execute(delete(fhir_resource).where(_resource.resource_id.in_(chunk)))


def _in_utc(values: Row) -> Row:
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in values.items()}


def _utc(row: Row) -> Row:
    """SQLite gives back the UTC wall-clock time it was given, without a zone: say so."""
    return {
        k: (v if v.tzinfo else v.replace(tzinfo=UTC)) if isinstance(v, datetime) else v
        for k, v in row.items()
    }
