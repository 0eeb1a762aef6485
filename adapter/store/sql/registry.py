"""The service's registry in SQL (adapter/store/registry.py): two small tables in a
database of their own (a SQLite file, or the schema `substreg_registry` on PostgreSQL).

The tables are made by `create_all` on start, not by the practice's Alembic chain: they
are not part of a practice database, and the chain's revisions stay the practice's
(D-120). A change to them later gets its own migration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from adapter.errors import DatabaseError, RegistryError, UnknownApiKeyError
from adapter.store.registry import ApiKey, Role, Tenant

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("config_path", String(1024), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.tenant_id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


class SqlRegistry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _reached(self, *, write: bool = False) -> Iterator[Connection]:
        """A connection (in a transaction that commits when `write`); a database that
        cannot be reached is a DatabaseError (the service answers 503), never a driver's
        error; a violated constraint stays an IntegrityError for the caller to name."""
        try:
            with self.engine.begin() if write else self.engine.connect() as connection:
                yield connection
        except IntegrityError:
            raise
        except DBAPIError as exc:
            msg = f"the service's registry cannot be reached ({_first_line(exc)})"
            raise DatabaseError(msg) from None

    def create(self) -> None:
        try:
            metadata.create_all(self.engine)
        except DBAPIError as exc:
            msg = f"the service's registry cannot be created ({_first_line(exc)})"
            raise DatabaseError(msg) from None

    def ping(self) -> None:
        with self._reached() as connection:
            connection.execute(select(tenants.c.tenant_id).limit(1))

    def add_tenant(self, tenant: Tenant) -> None:
        try:
            with self._reached(write=True) as connection:
                connection.execute(
                    insert(tenants).values(
                        tenant_id=tenant.tenant_id,
                        config_path=tenant.config_path,
                        created_at=tenant.created_at,
                    )
                )
        except IntegrityError:
            msg = f"the tenant {tenant.tenant_id} exists already (`substreg tenant list`)"
            raise RegistryError(msg) from None

    def tenant(self, tenant_id: str) -> Tenant | None:
        with self._reached() as connection:
            row = connection.execute(
                select(tenants).where(tenants.c.tenant_id == tenant_id)
            ).first()
        return None if row is None else _tenant(row._mapping)

    def tenants(self) -> list[Tenant]:
        with self._reached() as connection:
            rows = connection.execute(select(tenants).order_by(tenants.c.tenant_id)).all()
        return [_tenant(row._mapping) for row in rows]

    def add_key(self, key: ApiKey) -> None:
        if self.tenant(key.tenant_id) is None:
            raise RegistryError(_no_tenant(key.tenant_id))
        with self._reached(write=True) as connection:
            connection.execute(
                insert(api_keys).values(
                    key_id=key.key_id,
                    tenant_id=key.tenant_id,
                    role=key.role.value,
                    digest=key.digest,
                    created_at=key.created_at,
                    revoked_at=key.revoked_at,
                )
            )

    def key(self, key_id: str) -> ApiKey | None:
        with self._reached() as connection:
            row = connection.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return None if row is None else _key(row._mapping)

    def keys(self, tenant_id: str) -> list[ApiKey]:
        query = (
            select(api_keys)
            .where(api_keys.c.tenant_id == tenant_id)
            .order_by(api_keys.c.created_at, api_keys.c.key_id)
        )
        with self._reached() as connection:
            return [_key(row._mapping) for row in connection.execute(query).all()]

    def revoke_key(self, key_id: str, at: datetime) -> ApiKey:
        with self._reached(write=True) as connection:
            connection.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        key = self.key(key_id)
        if key is None:
            msg = f"there is no API key {key_id[:16]} (`substreg tenant list --keys`)"
            raise UnknownApiKeyError(msg)
        return key


def ensure_schema(engine: Engine, schema: str) -> None:
    """CREATE SCHEMA IF NOT EXISTS (PostgreSQL): a tenant's, or the registry's."""
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    except DBAPIError as exc:
        msg = f"the schema {schema} cannot be created ({_first_line(exc)})"
        raise DatabaseError(msg) from None


def _no_tenant(tenant_id: str) -> str:
    return f"there is no tenant {tenant_id[:32]} (`substreg tenant list`)"


def _utc(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back: they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _tenant(row: object) -> Tenant:
    values = dict(row)  # type: ignore[call-overload]
    created = _utc(values["created_at"])
    assert created is not None
    return Tenant(values["tenant_id"], values["config_path"], created)


def _key(row: object) -> ApiKey:
    values = dict(row)  # type: ignore[call-overload]
    created = _utc(values["created_at"])
    assert created is not None
    return ApiKey(
        key_id=values["key_id"],
        tenant_id=values["tenant_id"],
        role=Role(values["role"]),
        digest=values["digest"],
        created_at=created,
        revoked_at=_utc(values["revoked_at"]),
    )


def _first_line(exc: DBAPIError) -> str:
    first = str(exc.orig).strip().splitlines()[:1]
    return first[0] if first else type(exc.orig).__name__
