"""Who calls (stand-in of the pull helper's branch: the service-core helper owns this
module, and the lead reconciles; the interface is the shared one of issue 13)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Depends, HTTPException, Request

from adapter.mappings import Mappings
from adapter.settings.practice import PracticeConfig
from adapter.store.audit import Actor
from adapter.store.workspace import Store


class Role(StrEnum):
    STAFF = "staff"
    DOCTOR = "doctor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str  # the tenant's own id (never a patient's anything)
    role: Role
    actor: Actor  # adapter.store.audit.Actor, for the audit log
    store: Store  # this tenant's store only (own database and keyring)
    config: PracticeConfig  # adapter.settings.practice
    mappings: Mappings  # adapter.mappings


def current_caller(request: Request) -> Caller:
    """Stand-in: no credentials are resolved in this branch, so every call is 401."""
    raise HTTPException(status_code=401, detail="credentials required")


def requires(*roles: Role) -> Callable[..., Caller]:
    """A dependency that answers 403 for a caller of another role."""

    def allowed(caller: Caller = Depends(current_caller)) -> Caller:  # noqa: B008
        if caller.role not in roles:
            raise HTTPException(status_code=403, detail="not allowed for this role")
        return caller

    return allowed
