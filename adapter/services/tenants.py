"""The service's tenants and their API keys (D-120, D-121): `substreg tenant …` and the
admin routes call these, as `substreg reports …` and the report routes call reports.py.

A tenant is a practice, a hospital or a prison health service: its own home (keyring),
its own practice database, made by the same `init` as a single installation's. Keys are
issued per tenant and role; the whole key is returned once and only its digest is kept.
Issuing and revoking a key is written to the tenant's own audit log (never the key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapter.crypto.api_keys import matches, new_api_key, split_key
from adapter.errors import RegistryError
from adapter.services.setup import InitResult, init
from adapter.settings.environment import Settings
from adapter.store.audit import Actor
from adapter.store.registry import ApiKey, Registry, Role, Tenant
from adapter.store.workspace import Store


@dataclass(frozen=True, slots=True)
class AddedTenant:
    tenant: Tenant
    init: InitResult


def add_tenant(
    registry: Registry,
    store: Store,
    settings: Settings,
    actor: Actor,
    tenant_id: str,
    *,
    config_path: str | None,
    now: datetime,
) -> AddedTenant:
    """Set up the tenant's database and keyring (`init`), then register it: a tenant
    that is registered always has both."""
    if registry.tenant(tenant_id) is not None:
        msg = f"the tenant {tenant_id} exists already (`substreg tenant list`)"
        raise RegistryError(msg)
    made = init(store, settings, actor, now)
    tenant = Tenant(tenant_id, config_path, now)
    registry.add_tenant(tenant)
    return AddedTenant(tenant, made)


def issue_key(
    registry: Registry, store: Store, actor: Actor, tenant_id: str, *, role: Role, now: datetime
) -> tuple[ApiKey, str]:
    """A new key of `role` for the tenant: the stored row, and the key to show once."""
    if registry.tenant(tenant_id) is None:
        msg = f"there is no tenant {tenant_id[:32]} (`substreg tenant list`)"
        raise RegistryError(msg)
    made = new_api_key()
    key = ApiKey(made.key_id, tenant_id, role, made.digest, now)
    details = {"key_id": key.key_id, "role": role.value}
    store.run(actor, lambda space: space.audit.append(actor, "service.key_issued", details=details))
    registry.add_key(key)
    return key, made.text


def revoke_key(
    registry: Registry, store: Store, actor: Actor, key: ApiKey, now: datetime
) -> ApiKey:
    """Revoke the key (it stays listed, refused from now on), audited in its tenant's log."""
    details = {"key_id": key.key_id, "role": key.role.value}
    store.run(
        actor, lambda space: space.audit.append(actor, "service.key_revoked", details=details)
    )
    return registry.revoke_key(key.key_id, now)


def key_of(registry: Registry, presented: str) -> ApiKey | None:
    """The stored key a presented one is, when it is known, not revoked, and its secret
    matches; None otherwise (the caller answers 401 without saying which)."""
    parts = split_key(presented)
    if parts is None:
        return None
    key = registry.key(parts[0])
    if key is None or key.revoked_at is not None or not matches(key.digest, parts[1]):
        return None
    return key
