"""`POST /fhir/notifications`: where the EHR's topic-based subscriptions deliver (R5
`subscription-notification` Bundles, or their R4B backport form), issue 13.3.

`notifications_router(caller)` carries its full path: `create_app` includes it without a
prefix, and before `fhir_router`, so that `POST /fhir/{type}` does not take the path
first (`notifications` is no resource type). The use case is
`adapter.services.notifications.receive`; an id-only notification reads the named
resources from the server `[pull]` configures. Answers: 200 with an informational
OperationOutcome (what was done); 400 not JSON; 422 not a notification (the issue's
path); 409 a sync refused; 501 id-only without a server configured; 502 that server
failed (the EHR delivers again: nothing is lost).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from adapter import composition
from adapter.api.outcome import CONFLICT, ERRORS, OperationOutcome, operation_outcome
from adapter.api.tenancy import Caller
from adapter.errors import InputError, RefusedError, SourceError, SubstregError
from adapter.services.notifications import Received, receive
from adapter.services.sync import SyncOptions, SyncResult

PATH = "/fhir/notifications"
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"model": OperationOutcome, "description": "Acknowledged: what was done"},
    422: {"model": OperationOutcome, "description": "No notification Bundle we can use"},
    500: {"model": OperationOutcome, "description": "The notification could not be acted on"},
    501: {"model": OperationOutcome, "description": "An id-only notification, no [pull] server"},
    502: {"model": OperationOutcome, "description": "The EHR's server could not be read"},
}
_BERLIN = ZoneInfo("Europe/Berlin")


def notifications_router(
    caller: Callable[..., Caller],
    on_synced: Callable[[Request, Caller, SyncResult], None] = lambda *_: None,
) -> APIRouter:
    """The notification endpoint; `on_synced` hears of each sync it ran (`GET /findings`)."""
    router = APIRouter(tags=["subscriptions"], responses=ERRORS | CONFLICT | _ANSWERS)

    @router.post(PATH, summary="Receive a topic-based subscription notification")
    def notify(
        request: Request,
        request_body: bytes = Depends(_body),
        who: Caller = Depends(caller),  # noqa: B008
    ) -> JSONResponse:
        try:
            bundle = orjson.loads(request_body)
        except orjson.JSONDecodeError:
            return operation_outcome(400, [("error/structure", "the body is not JSON", None)])
        options = SyncOptions(
            as_of=_today(who), config=who.config, mappings=who.mappings, service=True
        )
        try:
            received = receive(
                who.store,
                who.actor,
                bundle,
                options,
                source=lambda: composition.pull_source(who.config),
            )
        except InputError as exc:
            return operation_outcome(422, [("error/invalid", str(exc), _path_of(str(exc)))])
        except SourceError as exc:
            unconfigured = "configure [pull]" in str(exc)
            status, code = (501, "not-supported") if unconfigured else (502, "transient")
            return operation_outcome(status, [(f"error/{code}", str(exc), None)])
        except RefusedError as exc:
            return operation_outcome(409, [("error/conflict", str(exc), None)])
        except SubstregError as exc:  # messages never carry personal data (errors.py)
            return operation_outcome(500, [("error/exception", str(exc), None)])
        if received.synced is not None:
            on_synced(request, who, received.synced)
        return operation_outcome(200, [("information/informational", _summary(received), None)])

    return router


async def _body(request: Request) -> bytes:
    return await request.body()


def _today(caller: Caller) -> date:
    """The German day (INPUT.md), by the tenant's store clock."""
    return caller.store.clock().astimezone(_BERLIN).date()


def _path_of(message: str) -> str | None:
    """The FHIRPath a read_notification message starts with (`Bundle.type: …`)."""
    head = message.split(":", 1)[0]
    return head if head.startswith("Bundle.") else None


def _summary(received: Received) -> str:
    seen = received.seen
    text = f"{seen.last_type} of {seen.subscription} acknowledged"
    if received.synced is not None:
        synced = received.synced
        text += (
            f"; {received.content}: {synced.resources} resource(s) synced, "
            f"{len(synced.recorded)} report(s) recorded"
        )
    elif received.content == "empty":
        text += "; empty: the next pull reads what changed"
    return text
