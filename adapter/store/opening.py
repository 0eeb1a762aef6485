"""Opening the store of an installation: its database and its keyring (the SQL database
of a URL; the in-memory twin is built by tests and demos as `Store(MemoryDatabase(), …)`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from adapter.crypto import Keyring, load_keyring
from adapter.settings.files import make_private_dirs, make_private_file
from adapter.settings.service import ServiceSettings, tenant_schema
from adapter.store.database import open_engine, schema_url
from adapter.store.sql.backend import SqlDatabase
from adapter.store.sql.registry import SqlRegistry, ensure_schema
from adapter.store.workspace import Store


def open_store(
    database_url: str,
    keyring_path: Path,
    *,
    clock: Callable[[], datetime] | None = None,
    keyring: Keyring | None = None,
) -> Store:
    """The database at `database_url`, and the keyring at `keyring_path`, read on each
    run: there is never a default key, and a keyring restored meanwhile is used.
    `keyring`: one held in memory instead (a backup being proven before it is put in
    place)."""
    ring = (lambda: keyring) if keyring is not None else (lambda: load_keyring(keyring_path))
    return Store(
        SqlDatabase(open_engine(database_url)),
        ring,
        clock=clock or (lambda: datetime.now(UTC)),
    )


# -- the service (issue 13): a registry, and a database and keyring per tenant (D-120) ----

REGISTRY_SCHEMA = "substreg_registry"


def open_registry(settings: ServiceSettings) -> SqlRegistry:
    """The service's registry, its tables made when they are not there: a SQLite file in
    the service's home, or the schema `substreg_registry` of the PostgreSQL database."""
    if settings.postgresql_url is None:
        make_private_dirs(settings.home)
        make_private_file(settings.registry_path)  # 0600, as a practice's database
        registry = SqlRegistry(open_engine(f"sqlite:///{settings.registry_path}"))
    else:
        base = open_engine(settings.postgresql_url)
        try:
            ensure_schema(base, REGISTRY_SCHEMA)
        finally:
            base.dispose()
        registry = SqlRegistry(open_engine(schema_url(settings.postgresql_url, REGISTRY_SCHEMA)))
    registry.create()
    return registry


def tenant_database_url(settings: ServiceSettings, tenant_id: str) -> str:
    """A tenant's own practice database: a SQLite file in its home, or its own schema."""
    if settings.postgresql_url is None:
        return f"sqlite:///{settings.tenant_home(tenant_id) / 'substreg.db'}"
    return schema_url(settings.postgresql_url, tenant_schema(tenant_id))


def prepare_tenant_database(settings: ServiceSettings, tenant_id: str) -> None:
    """Make the place a tenant's database goes: its home (0700) and, on PostgreSQL, its
    schema (`substreg init` makes the tables in it)."""
    make_private_dirs(settings.tenant_home(tenant_id))  # the home above it too: 0700
    if settings.postgresql_url is not None:
        base = open_engine(settings.postgresql_url)
        try:
            ensure_schema(base, tenant_schema(tenant_id))
        finally:
            base.dispose()
