"""Who calls (D-120 … D-122): an API key or a bearer JWT resolved to a tenant and a role,
and that tenant's store, configuration and mappings — the `Caller` every route gets.

A caller's store is built from its tenant id alone (its own database and keyring), so a
route cannot reach another tenant's data: there is no tenant parameter to get wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Depends, Request

from adapter.errors import Forbidden, NotAuthenticated
from adapter.mappings import Mappings, load_mappings
from adapter.services.tenants import key_of
from adapter.settings.practice import PracticeConfig, load_config
from adapter.store.audit import Actor
from adapter.store.registry import Registry, Role, Tenant
from adapter.store.workspace import Store

if TYPE_CHECKING:
    from adapter.api.bearer import JwtVerifier
    from adapter.api.findings import RecentFindings

__all__ = ["Caller", "Role", "Tenancy", "current_caller", "requires"]


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str  # the tenant's own id (never a patient's anything)
    role: Role
    actor: Actor  # for the audit log
    store: Store  # this tenant's store only (own database and keyring)
    config: PracticeConfig
    mappings: Mappings


@dataclass
class Tenancy:
    """What the app resolves callers with (app.state.tenancy)."""

    registry: Registry
    open_store: Callable[[str], Store]  # a tenant id → its store (composition.tenant_store)
    clock: Callable[[], datetime]
    findings: RecentFindings
    jwt: JwtVerifier | None = None
    _stores: dict[str, Store] = field(default_factory=dict)
    _configs: dict[tuple[str, int], PracticeConfig] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def store(self, tenant_id: str) -> Store:
        """The tenant's store, opened once (its engine and pool are kept)."""
        with self._lock:
            if tenant_id not in self._stores:
                self._stores[tenant_id] = self.open_store(tenant_id)
            return self._stores[tenant_id]

    def config(self, tenant: Tenant) -> PracticeConfig:
        """The tenant's practice.toml, read again when the file changed."""
        if tenant.config_path is None:
            return PracticeConfig()
        path = Path(tenant.config_path)
        try:
            stamp = (tenant.config_path, path.stat().st_mtime_ns)
        except OSError:
            stamp = (tenant.config_path, -1)  # load_config says what is wrong with it
        if stamp not in self._configs:
            self._configs[stamp] = load_config(path)
        return self._configs[stamp]

    def caller(self, authorization: str | None) -> Caller:
        tenant_id, role, who = self._identify(authorization)
        tenant = self.registry.tenant(tenant_id)
        if tenant is None:  # a token for a tenant this service does not hold
            raise NotAuthenticated(_NO_CREDENTIALS)
        return Caller(
            tenant=tenant_id,
            role=role,
            actor=Actor(who, f"api-{role.value}"),
            store=self.store(tenant_id),
            config=self.config(tenant),
            mappings=load_mappings(),
        )

    def _identify(self, authorization: str | None) -> tuple[str, Role, str]:
        scheme, _, credentials = (authorization or "").partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "bearer" or not credentials:
            raise NotAuthenticated(_NO_CREDENTIALS)
        key = key_of(self.registry, credentials)
        if key is not None:
            return key.tenant_id, key.role, f"key-{key.key_id}"
        if self.jwt is not None and credentials.count(".") == 2:
            identity = self.jwt.identify(credentials)
            return identity.tenant_id, identity.role, identity.subject
        raise NotAuthenticated(_NO_CREDENTIALS)


_NO_CREDENTIALS = (
    "give a valid API key or bearer token: Authorization: Bearer <key> (`substreg tenant key`)"
)


def current_caller(request: Request) -> Caller:
    """The FastAPI dependency: the caller of this request; 401 without valid credentials."""
    tenancy: Tenancy = request.app.state.tenancy
    caller = tenancy.caller(request.headers.get("authorization"))
    request.state.tenant = caller.tenant  # for the request's log line (a practice's id)
    return caller


def requires(*roles: Role, caller: Callable[..., Caller] = current_caller) -> Callable[..., Caller]:
    """A dependency giving the caller when its role is one of `roles`; 403 otherwise."""
    allowed = frozenset(roles)

    def dependency(found: Caller = Depends(caller)) -> Caller:  # noqa: B008 (FastAPI's way)
        if found.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            msg = f"the role {found.role.value} may not do this (allowed: {names})"
            raise Forbidden(msg)
        return found

    return dependency
