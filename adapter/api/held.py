"""`/sync/held`: a sync of pushed data held for a person (D-181). The debounced ingestion
refuses a run that would end many treatments at once on stale data (D-48); `GET
/sync/held` shows what waits and what that run would end (counts and days, never a
patient), `POST /sync/held/accept` is a doctor's or an admin's yes to at most the number
of ends they saw (audited under their key; more is refused again with 409).
Thin over `adapter.services.held`, run by `Ingestion.accept` (one run per tenant)."""

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from adapter.api.ingestion import Ingestion
from adapter.api.outcome import CONFLICT, ERRORS
from adapter.api.tenancy import Caller, Role, requires
from adapter.services.held import held
from adapter.services.sync import pending_and_waived


class HeldOut(BaseModel):
    held: bool = Field(description="a refused run waits for a person (D-48, D-181)")
    pending: int = Field(description="pushed resources sync has not read")
    as_of: date | None = Field(None, description="the day the refused run synced as of")
    ending: int = Field(0, description="registrations it would end by R-EP-3")
    open: int | None = Field(None, description="registrations open before it")
    newest_event: date | None = Field(None, description="the newest event of its data")


class AcceptIn(BaseModel):
    ending: int = Field(ge=0, le=1_000_000, description="the most ends accepted: as shown")


class AcceptedOut(BaseModel):
    runs: int = Field(description="sync runs made")
    recorded: int = Field(description="reports recorded as pending (to approve and send)")
    waived: int = Field(
        description="reports recorded as waived: rejected as recorded, never sent (D-242)"
    )
    run_ids: list[str]


def held_router(caller: Callable[..., Caller], ingestion: Ingestion) -> APIRouter:
    router = APIRouter(tags=["ingestion"], responses=ERRORS)
    reader = requires(Role.STAFF, Role.DOCTOR, Role.ADMIN, caller=caller)
    decider = requires(Role.DOCTOR, Role.ADMIN, caller=caller)

    @router.get("/sync/held", response_model=HeldOut)
    def show_held(who: Annotated[Caller, Depends(reader)]) -> HeldOut:
        """What the tenant's pushed data waits for: a refused mass end (D-48), if any."""
        waiting = held(who.store)
        refusal = waiting.refusal or {}
        return HeldOut(
            held=waiting.held,
            pending=waiting.pending,
            as_of=refusal.get("as_of"),
            ending=waiting.ending,
            open=refusal.get("open"),
            newest_event=refusal.get("newest_event"),
        )

    @router.post("/sync/held/accept", response_model=AcceptedOut, responses=CONFLICT)
    def accept(body: AcceptIn, who: Annotated[Caller, Depends(decider)]) -> AcceptedOut:
        """Sync the unread pushes accepting at most `ending` ends at once (audited)."""
        results = ingestion.accept(who, body.ending)
        pending, waived = pending_and_waived([r for result in results for r in result.recorded])
        return AcceptedOut(
            runs=len(results),
            recorded=pending,
            waived=waived,
            run_ids=[r.run_id for r in results if r.run_id is not None],
        )

    return router
