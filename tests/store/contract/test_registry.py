"""The service's registry (D-120, D-121): the same contract in memory, on SQLite and on
PostgreSQL (its own schema in the test database)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapter.errors import RegistryError, UnknownApiKeyError
from adapter.settings.service import ServiceSettings
from adapter.store.memory.registry import MemoryRegistry
from adapter.store.opening import open_registry
from adapter.store.registry import ApiKey, Registry, Role, Tenant
from tests.storage import empty_postgresql

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=("memory", "sqlite", "postgresql"))
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    if request.param == "memory":
        yield MemoryRegistry()
    elif request.param == "sqlite":
        yield open_registry(ServiceSettings(home=tmp_path / "home", postgresql_url=None))
    else:
        for url in empty_postgresql():
            opened = open_registry(ServiceSettings(home=tmp_path, postgresql_url=url))
            yield opened
            opened.engine.dispose()  # type: ignore[attr-defined]


def test_tenants_are_added_once_and_listed_in_order(registry: Registry) -> None:
    registry.add_tenant(Tenant("zeta", None, NOW))
    registry.add_tenant(Tenant("alpha", "/etc/substreg/alpha.toml", NOW))
    with pytest.raises(RegistryError, match="exists already"):
        registry.add_tenant(Tenant("alpha", None, NOW))
    assert [t.tenant_id for t in registry.tenants()] == ["alpha", "zeta"]
    assert registry.tenant("alpha") == Tenant("alpha", "/etc/substreg/alpha.toml", NOW)
    assert registry.tenant("beta") is None
    registry.create()  # again: nothing lost
    assert len(registry.tenants()) == 2
    registry.ping()


def test_keys_are_kept_per_tenant_and_revoked_keys_stay_listed(registry: Registry) -> None:
    registry.add_tenant(Tenant("alpha", None, NOW))
    registry.add_tenant(Tenant("beta", None, NOW))
    first = ApiKey("00000000000000a1", "alpha", Role.DOCTOR, "d" * 64, NOW)
    second = ApiKey("00000000000000a2", "alpha", Role.STAFF, "e" * 64, NOW + timedelta(seconds=1))
    other = ApiKey("00000000000000b1", "beta", Role.ADMIN, "f" * 64, NOW)
    for key in (second, first, other):
        registry.add_key(key)
    with pytest.raises(RegistryError, match="no tenant"):
        registry.add_key(ApiKey("00000000000000c1", "gamma", Role.STAFF, "0" * 64, NOW))
    assert registry.keys("alpha") == [first, second]
    assert registry.key(other.key_id) == other
    later = NOW + timedelta(hours=1)
    revoked = registry.revoke_key(first.key_id, later)
    assert revoked.revoked_at == later
    assert registry.revoke_key(first.key_id, later + timedelta(hours=1)).revoked_at == later
    assert registry.key(first.key_id) == revoked
    with pytest.raises(UnknownApiKeyError):
        registry.revoke_key("ffffffffffffffff", later)
