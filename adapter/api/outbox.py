"""`/outbox`: where the reports went (`substreg outbox list | show`), the same use cases
(adapter/services/outbox.py), for staff and doctors. Showing a batch that has a receipt
or a reason opens it, and is audited as `outbox show` is."""

from collections.abc import Callable
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Query

from adapter.api.models import BatchList, BatchOut, BatchReportOut, ShownBatchOut
from adapter.api.outcome import ERRORS, NOT_FOUND
from adapter.api.tenancy import Caller, Role, requires
from adapter.domain.submission import BatchState
from adapter.services import outbox as outbox_service

BatchId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


def outbox_router(caller: Callable[..., Caller]) -> APIRouter:
    router = APIRouter(tags=["submission"], responses=ERRORS)
    reader = requires(Role.STAFF, Role.DOCTOR, caller=caller)

    @router.get("/outbox", response_model=BatchList)
    def list_batches(
        who: Annotated[Caller, Depends(reader)],
        state: Annotated[BatchState | None, Query()] = None,
    ) -> BatchList:
        """The sealed batches and their state (as `substreg outbox list`)."""
        batches = outbox_service.list_batches(who.store, who.actor, state=state)
        return BatchList(batches=[BatchOut.of(b) for b in batches])

    @router.get("/outbox/{batch_id}", response_model=ShownBatchOut, responses=NOT_FOUND)
    def show_batch(batch_id: BatchId, who: Annotated[Caller, Depends(reader)]) -> ShownBatchOut:
        """One batch, its reports and the register's answer (as `substreg outbox show`)."""
        shown = outbox_service.show_batch(who.store, who.actor, batch_id)
        return ShownBatchOut(
            **BatchOut.of(shown.batch).model_dump(),
            report_items=[
                BatchReportOut.model_validate(
                    {
                        "position": item.position,
                        "ledger_id": item.ledger_id,
                        "report_id": item.report_id,
                        "result": item.result,
                        "ledger_state": state,
                    }
                )
                for item, state in shown.reports
            ],
            register_reason=shown.reason,
            receipt=orjson.loads(shown.receipt) if shown.receipt is not None else None,
        )

    return router
