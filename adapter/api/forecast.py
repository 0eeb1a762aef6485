"""`GET /forecast`: what falls due in the days ahead, and why (issue 14, item 4), for the
caller's tenant, from what sync keeps of its data (pushed, pulled, imported): the same use
case as `substreg forecast` (adapter/services/forecast.py) and the same JSON document
(`adapter.export.forecast.forecast_json`, one serializer). Patients are named by their
pseudonyms; the codes are in clear, as the CLI shows them, and the showing is audited
(D-190). The ledger is counted: what sync will not make is `settled`, an open handover's
day 31 is in `handovers` (D-226). For staff and doctors, who read the reports too.
"""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from adapter.api.ingestion import BERLIN
from adapter.api.outcome import ERRORS
from adapter.api.tenancy import Caller, Role, requires
from adapter.export.forecast import forecast_json
from adapter.services.forecast import DEFAULT_DAYS, MAX_DAYS, stored_forecast


class DeadlineOut(BaseModel):
    due: date
    patient: str | None = Field(description="the patient's pseudonym; null: a doctor's notice")
    kind: str
    rule: str
    why: str
    report: dict[str, Any] = Field(description="the report that falls due (REPORTS.md)")


class OpenPhaseOut(BaseModel):
    patient: str = Field(description="the patient's pseudonym (the ledger's mapping id)")
    doctor: str | None
    patient_code: str | None = Field(description="null: no code, its reports are withheld")
    substance: str
    since: date
    last_covered: date
    next_due: date | None
    review_due: date | None = Field(description="R-DIA-2: the next outside review")
    withheld: bool = Field(
        description="its doctor has no BtM number (R-DOC-1) or is not in the data (R-EP-1): "
        "its reports are withheld, see `findings`"
    )


class FindingOut(BaseModel):
    severity: str
    rule: str
    message: str
    sources: list[str]


class HandoverDueOut(BaseModel):
    due: date = Field(description="day 31 of a handover received here and still open")
    patient: str | None = Field(description="the patient's pseudonym; null: no patient's code")
    handover: str
    patient_code: str
    why: str


class ForecastOut(BaseModel):
    """The document `substreg forecast --format json` writes (documentation only: the body
    is written by `forecast_json`)."""

    as_of: date
    until: date
    deadlines: list[DeadlineOut]
    open_phases: list[OpenPhaseOut]
    ledger: bool = Field(description="the ledger was counted (always, here: D-226)")
    settled: list[DeadlineOut] = Field(
        description="reports the data calls for that sync will not make, and why: a blanket "
        "deregistration ended the registration, a handover received holds them back (D-226)"
    )
    handovers: list[HandoverDueOut]
    findings: list[FindingOut] = Field(
        description="reports derive withholds for want of the doctor or a BtM number "
        "(R-EP-1, R-DOC-1), as derive gives them (D-252)"
    )


def forecast_router(caller: Callable[..., Caller]) -> APIRouter:
    router = APIRouter(tags=["forecast"], responses=ERRORS)
    reader = requires(Role.STAFF, Role.DOCTOR, caller=caller)

    @router.get(
        "/forecast",
        response_class=Response,
        responses={200: {"model": ForecastOut, "description": "The forecast"}},
    )
    def forecast(
        who: Annotated[Caller, Depends(reader)],
        days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS,
        as_of: Annotated[date | None, Query()] = None,
    ) -> Response:
        """Every deadline from the day after `as_of` (today in Berlin) to `as_of + days`,
        and the phases open on `as_of` (as `substreg forecast --format json`; audited)."""
        day = as_of or who.store.clock().astimezone(BERLIN).date()
        found = stored_forecast(
            who.store, who.actor, as_of=day, days=days, config=who.config, mappings=who.mappings
        )
        return Response(forecast_json(found), media_type="application/json")

    return router
