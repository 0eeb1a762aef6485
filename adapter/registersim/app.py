"""The simulator's HTTP face: `create_app(state_dir, faults=…, clock=…)`, thin routes over
`Office` (office.py).

    POST /submissions    an envelope in, a signed receipt (or a refusal) out
    GET  /certificate    the register's certificate (PEM): what a practice pins
    GET  /health         {"status": "ok", "certificate_sha256": …}
    GET  /registrations  a test and demo view: counts, cryptograms, report ids; no code

Nothing runs at import; the app's state (identity, SQLite, clock) is made by the factory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from adapter.registersim.faults import FaultMiddleware, Faults
from adapter.registersim.identity import DATABASE_FILE, load_or_create
from adapter.registersim.office import Office
from adapter.registersim.state import RegisterState

__all__ = ["create_app", "utc_now"]

_JSON = "application/json"
log = logging.getLogger("substreg.registersim")


def utc_now() -> datetime:
    """The machine's clock: the simulator's default."""
    return datetime.now(UTC)


def create_app(
    state_dir: Path,
    *,
    faults: Faults | None = None,
    clock: Callable[[], datetime] = utc_now,
    letters: Path | None = None,
) -> FastAPI:
    """The simulator on the state kept in `state_dir` (made with a new identity when empty);
    duplicate letters with the code go to `letters` when given (D-172)."""
    identity = load_or_create(state_dir, now=clock())
    office = Office(identity, RegisterState(state_dir / DATABASE_FILE), clock, letters)
    app = FastAPI(
        title="Substitutionsregister (simulator)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.office = office

    @app.post("/submissions")
    async def submissions(request: Request) -> Response:
        try:
            envelope = await request.body()
        except ClientDisconnect:  # the sender went away mid-upload (a killed worker):
            log.info("a submission's sender disconnected before its envelope arrived")
            return Response(status_code=499)  # nobody reads it; nothing was taken
        answer = await run_in_threadpool(
            office.submit,
            request.headers.get("idempotency-key"),
            request.headers.get("content-type"),
            envelope,
        )
        return Response(answer.body, answer.status, answer.headers, media_type=_JSON)

    @app.get("/certificate")
    def certificate() -> Response:
        return Response(identity.certificate_pem, media_type="application/x-pem-file")

    @app.get("/health")
    def health() -> Response:
        body = {"status": "ok", "certificate_sha256": identity.fingerprint}
        return Response(orjson.dumps(body), media_type=_JSON)

    @app.get("/registrations")
    def registrations() -> Response:
        return Response(orjson.dumps(office.state.overview()), media_type=_JSON)

    if faults is not None and faults.any():
        app.add_middleware(FaultMiddleware, faults=faults)
    return app
