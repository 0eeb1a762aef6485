"""`/reports` and `/findings`: the ledger as `substreg reports …` shows and moves it, the
same use cases (adapter/services/reports.py), scoped to the caller's tenant by its store.

Reading is for staff and doctors; approving and rejecting for doctors (README "The
service"). Showing one report opens its payload (the code in clear) and is audited,
as `reports show` is.
"""

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from adapter.api.findings import RecentFindings
from adapter.api.models import (
    FindingOut,
    FindingsOut,
    Rejection,
    ReportList,
    ReportOut,
    ShownReportOut,
    SyncFindingsOut,
)
from adapter.api.outcome import CONFLICT, ERRORS, NOT_FOUND
from adapter.api.tenancy import Caller, Role, requires
from adapter.domain.ledger import State
from adapter.export.derivation import finding_json
from adapter.services import reports as report_service

READERS = (Role.STAFF, Role.DOCTOR)
DECIDERS = (Role.DOCTOR,)
LedgerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


def reports_router(
    caller: Callable[..., Caller], findings: Callable[[], RecentFindings]
) -> APIRouter:
    router = APIRouter(tags=["reports"], responses=ERRORS)
    reader = requires(*READERS, caller=caller)
    decider = requires(*DECIDERS, caller=caller)

    @router.get("/reports", response_model=ReportList)
    def list_reports(
        who: Annotated[Caller, Depends(reader)],
        state: Annotated[State | None, Query()] = None,
        since: Annotated[date | None, Query()] = None,
        until: Annotated[date | None, Query()] = None,
    ) -> ReportList:
        """The ledger's reports (as `substreg reports list`), each checked against its seal."""
        listing = report_service.list_reports(
            who.store, who.actor, state=state, since=since, until=until
        )
        return ReportList(
            reports=[ReportOut.of(e, listing.problems.get(e.ledger_id)) for e in listing.entries],
            deleted=list(listing.deleted),
        )

    @router.get("/reports/{ledger_id}", response_model=ShownReportOut, responses=NOT_FOUND)
    def show_report(ledger_id: LedgerId, who: Annotated[Caller, Depends(reader)]) -> ShownReportOut:
        """One report with its payload (audited, as `substreg reports show`)."""
        return ShownReportOut.shown(report_service.show(who.store, who.actor, ledger_id))

    @router.post(
        "/reports/{ledger_id}/approve",
        response_model=ReportOut,
        responses=NOT_FOUND | CONFLICT,
    )
    def approve(ledger_id: LedgerId, who: Annotated[Caller, Depends(decider)]) -> ReportOut:
        """Approve a pending report (doctors; audited)."""
        moved = report_service.decide(who.store, who.actor, [ledger_id], "approve")
        return ReportOut.of(moved[0])

    @router.post(
        "/reports/{ledger_id}/reject",
        response_model=ReportOut,
        responses=NOT_FOUND | CONFLICT,
    )
    def reject(
        ledger_id: LedgerId, body: Rejection, who: Annotated[Caller, Depends(decider)]
    ) -> ReportOut:
        """Reject a pending report with a reason (doctors; audited)."""
        moved = report_service.decide(
            who.store, who.actor, [ledger_id], "reject", reason=body.reason
        )
        return ReportOut.of(moved[0])

    @router.get("/findings", response_model=FindingsOut)
    def recent_findings(who: Annotated[Caller, Depends(reader)]) -> FindingsOut:
        """The findings of this tenant's last sync runs in this process (D-123)."""
        runs = findings().of(who.tenant)
        return FindingsOut(
            runs=[
                SyncFindingsOut(
                    run_id=run.run_id,
                    as_of=run.as_of,
                    at=run.at,
                    source=run.source,
                    findings=[FindingOut(**finding_json(f)) for f in run.findings],
                )
                for run in runs
            ]
        )

    return router
