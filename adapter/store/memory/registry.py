"""The service's registry held in memory: for tests (the same contract as SqlRegistry,
tests/store/contract/test_registry.py)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from adapter.errors import RegistryError, UnknownApiKeyError
from adapter.store.registry import ApiKey, Tenant


class MemoryRegistry:
    def __init__(self) -> None:
        self._tenants: dict[str, Tenant] = {}
        self._keys: dict[str, ApiKey] = {}

    def create(self) -> None:
        pass

    def ping(self) -> None:
        pass

    def add_tenant(self, tenant: Tenant) -> None:
        if tenant.tenant_id in self._tenants:
            msg = f"the tenant {tenant.tenant_id} exists already (`substreg tenant list`)"
            raise RegistryError(msg)
        self._tenants[tenant.tenant_id] = tenant

    def tenant(self, tenant_id: str) -> Tenant | None:
        return self._tenants.get(tenant_id)

    def tenants(self) -> list[Tenant]:
        return [self._tenants[t] for t in sorted(self._tenants)]

    def add_key(self, key: ApiKey) -> None:
        if key.tenant_id not in self._tenants:
            msg = f"there is no tenant {key.tenant_id[:32]} (`substreg tenant list`)"
            raise RegistryError(msg)
        self._keys[key.key_id] = key

    def key(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    def keys(self, tenant_id: str) -> list[ApiKey]:
        found = [k for k in self._keys.values() if k.tenant_id == tenant_id]
        return sorted(found, key=lambda k: (k.created_at, k.key_id))

    def revoke_key(self, key_id: str, at: datetime) -> ApiKey:
        key = self._keys.get(key_id)
        if key is None:
            msg = f"there is no API key {key_id[:16]} (`substreg tenant list --keys`)"
            raise UnknownApiKeyError(msg)
        if key.revoked_at is None:
            key = dataclasses.replace(key, revoked_at=at)
            self._keys[key_id] = key
        return key
