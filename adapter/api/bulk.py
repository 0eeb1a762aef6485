"""`/reports/inventory` and `/reports/blanket-deregistration`: the register's bulk reports
as `substreg inventory` and `substreg blanket-deregistration` make them, the same use cases
(adapter/services/bulk_reports.py), on the caller's tenant. Doctors only: each records
reports for the register. The blanket deregistration ends every open registration of a
doctor, so, as the command shows its plan and asks, the service shows it at `…/plan` and
records it only with `"confirm": true`. For a doctor who died, `deceased` carries the
date of death and who declares it (004 §3.7, D-197).
"""

import datetime
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from adapter.api.ingestion import BERLIN
from adapter.api.outcome import CONFLICT, ERRORS
from adapter.api.tenancy import Caller, Role, requires
from adapter.domain.bulk_deceased import Declarant
from adapter.services import bulk_reports as bulk
from adapter.services.bulk_reports import BlanketPlan, BulkResult, Deceased

BtmNumber = Annotated[str, Field(pattern=r"^[0-9]{7}$", description="seven digits (R-DOC-1)")]


class InventoryIn(BaseModel):
    key_date: date
    doctor: BtmNumber | None = None


class DeceasedIn(BaseModel):
    """004 §3.7: the doctor died; the successor (or an employee) declares and signs."""

    died_on: date
    declared_by: str = Field(min_length=1, max_length=200, description="who signs")
    declarant: Declarant = "successor"
    successor_btm: BtmNumber | None = None
    reason: str | None = Field(None, max_length=200, description="required for staff")

    def value(self) -> Deceased:
        return Deceased(
            self.died_on, self.declared_by, self.declarant, self.successor_btm, self.reason
        )


class BlanketPlanIn(BaseModel):
    doctor: BtmNumber
    date: date
    deceased: DeceasedIn | None = Field(None, description="a doctor who died (D-197)")


class BlanketIn(BlanketPlanIn):
    confirm: Literal[True] = Field(description="true: the plan was seen (D-166)")


class BulkOut(BaseModel):
    recorded: dict[str, list[str]] = Field(description="BtM number → ledger ids, pending")
    already: int = Field(description="in the ledger already for this day: not made again")
    withdrawn: list[str] = Field(description="single Abmeldungen not yet sent, taken back")

    @classmethod
    def of(cls, result: BulkResult) -> "BulkOut":
        recorded = {btm: list(ids) for btm, ids in result.recorded.items()}
        return cls(recorded=recorded, already=result.already, withdrawn=list(result.withdrawn))


class BlanketPlanOut(BaseModel):
    doctor: str
    date: date
    ends: list[str] = Field(description="mapping ids of the registrations it ends")
    withdraws: list[str] = Field(description="ledger ids of unsent single Abmeldungen")
    made_already: bool
    remarks: list[str] = Field(description="the statement (and declaration) as recorded")
    dosed_after: int = Field(description="registrations it ends with a dose after the date")
    # `datetime.date`: within this class `date` names the field above.
    last_dose: datetime.date | None = Field(description="the latest such dose (D-249)")

    @classmethod
    def of(cls, plan: BlanketPlan) -> "BlanketPlanOut":
        return cls(
            doctor=plan.doctor,
            date=plan.day,
            ends=list(plan.ends),
            withdraws=list(plan.withdraws),
            made_already=plan.made_already,
            remarks=list(plan.remarks),
            dosed_after=plan.dosed_after,
            last_dose=plan.last_dose,
        )


def _asked(body: BlanketPlanIn, who: Caller) -> dict[str, Any]:
    """The plan's and the deregistration's arguments, read alike from either body."""
    return {
        "doctor": body.doctor,
        "day": body.date,
        "today": _today(who),
        "deceased": body.deceased.value() if body.deceased else None,
    }


def _today(caller: Caller) -> date:
    """The German day, by the tenant store's clock (a report's day is one in Germany)."""
    return caller.store.clock().astimezone(BERLIN).date()


def bulk_router(caller: Callable[..., Caller]) -> APIRouter:
    router = APIRouter(tags=["reports"], responses=ERRORS | CONFLICT)
    doctor = requires(Role.DOCTOR, caller=caller)

    @router.post("/reports/inventory", response_model=BulkOut)
    def inventory(body: InventoryIn, who: Annotated[Caller, Depends(doctor)]) -> BulkOut:
        """R-INV-1: the Inventur-Meldungen of a key date, recorded as pending (audited)."""
        result = bulk.inventory(
            who.store, who.actor, key_date=body.key_date, today=_today(who), doctor=body.doctor
        )
        return BulkOut.of(result)

    @router.post("/reports/blanket-deregistration/plan", response_model=BlanketPlanOut)
    def blanket_plan(
        body: BlanketPlanIn, who: Annotated[Caller, Depends(doctor)]
    ) -> BlanketPlanOut:
        """R-PAU-1: what the blanket deregistration would end; nothing is written."""
        return BlanketPlanOut.of(bulk.plan_blanket(who.store, who.actor, **_asked(body, who)))

    @router.post("/reports/blanket-deregistration", response_model=BulkOut)
    def blanket(body: BlanketIn, who: Annotated[Caller, Depends(doctor)]) -> BulkOut:
        """R-PAU-1: record the blanket deregistration as pending (audited, D-166)."""
        result = bulk.blanket_deregistration(who.store, who.actor, **_asked(body, who))
        return BulkOut.of(result)

    return router
