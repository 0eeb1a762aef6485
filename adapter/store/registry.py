"""The service's registry (D-120, D-121): its tenants, their API keys (as digests) and
the role of each key. A database of its own, apart from every tenant's practice
database: `SqlRegistry` (SQLite, PostgreSQL) and `MemoryRegistry` (tests) keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    """What a key or token may do (README "The service": the role matrix)."""

    STAFF = "staff"  # read reports, findings and the outbox; push data
    DOCTOR = "doctor"  # and approve or reject reports, submit
    ADMIN = "admin"  # the tenant's own keys; no patient data


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: str
    config_path: str | None  # the practice.toml it was added with (absolute), or None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    tenant_id: str
    role: Role
    digest: str  # SHA-256 of the secret (adapter/crypto/api_keys.py), never the key
    created_at: datetime
    revoked_at: datetime | None = None


class Registry(Protocol):
    def create(self) -> None:
        """Make the tables when they are not there (idempotent)."""

    def ping(self) -> None:
        """Reach the database; DatabaseError when it cannot be reached."""

    def add_tenant(self, tenant: Tenant) -> None:
        """RegistryError when the id is taken."""

    def tenant(self, tenant_id: str) -> Tenant | None: ...

    def tenants(self) -> list[Tenant]: ...

    def add_key(self, key: ApiKey) -> None:
        """RegistryError when the tenant is unknown."""

    def key(self, key_id: str) -> ApiKey | None: ...

    def keys(self, tenant_id: str) -> list[ApiKey]: ...

    def revoke_key(self, key_id: str, at: datetime) -> ApiKey:
        """The key revoked at `at` (kept, so a revoked key stays refused and is listed);
        RegistryError when there is no such key."""
