"""`/tenant/keys`: a tenant's own API keys, for its admins (tenant setup; no patient
data). The same use cases as `substreg tenant key | revoke-key`
(adapter/services/tenants.py); a key of another tenant is "not found" here."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from adapter.api.models import KeyList, KeyOut, NewKeyIn, NewKeyOut
from adapter.api.outcome import ERRORS, NOT_FOUND
from adapter.api.tenancy import Caller, Role, Tenancy, requires
from adapter.errors import UnknownApiKeyError
from adapter.services import tenants

KeyId = Annotated[str, Path(min_length=16, max_length=16, pattern=r"^[0-9a-f]{16}$")]


def keys_router(caller: Callable[..., Caller]) -> APIRouter:
    router = APIRouter(prefix="/tenant", tags=["tenant"], responses=ERRORS)
    admin = requires(Role.ADMIN, caller=caller)

    @router.get("/keys", response_model=KeyList)
    def list_keys(request: Request, who: Annotated[Caller, Depends(admin)]) -> KeyList:
        """The tenant's keys, revoked ones too (never a key itself: only digests are kept)."""
        registry = _tenancy(request).registry
        return KeyList(keys=[KeyOut.of(k) for k in registry.keys(who.tenant)])

    @router.post("/keys", response_model=NewKeyOut, status_code=201)
    def new_key(
        request: Request, body: NewKeyIn, who: Annotated[Caller, Depends(admin)]
    ) -> NewKeyOut:
        """A new key of a role for this tenant: the answer shows it once (audited)."""
        tenancy = _tenancy(request)
        key, text = tenants.issue_key(
            tenancy.registry, who.store, who.actor, who.tenant, role=body.role, now=tenancy.clock()
        )
        return NewKeyOut(**KeyOut.of(key).model_dump(), key=text)

    @router.delete("/keys/{key_id}", response_model=KeyOut, responses=NOT_FOUND)
    def revoke_key(
        request: Request, key_id: KeyId, who: Annotated[Caller, Depends(admin)]
    ) -> KeyOut:
        """Revoke a key of this tenant (audited); it is refused from now on."""
        tenancy = _tenancy(request)
        key = tenancy.registry.key(key_id)
        if key is None or key.tenant_id != who.tenant:  # another tenant's key: not ours
            raise UnknownApiKeyError(f"this tenant has no API key {key_id}")
        revoked = tenants.revoke_key(tenancy.registry, who.store, who.actor, key, tenancy.clock())
        return KeyOut.of(revoked)

    return router


def _tenancy(request: Request) -> Tenancy:
    tenancy: Tenancy = request.app.state.tenancy
    return tenancy
