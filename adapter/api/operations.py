"""Running the service (D-124): `/healthz` (the process answers), `/readyz` (the registry
and every tenant's database and keyring can be used), Prometheus `/metrics`, and one JSON
log line per request with its correlation id.

No personal data reaches a label or a log line: routes are named by their template
(`/reports/{ledger_id}`), never by the path asked for, query strings are never logged,
and a tenant is named by its own id (a practice, never a patient).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel
from pythonjsonlogger.json import JsonFormatter
from starlette.routing import compile_path

from adapter.api.outcome import operation_outcome
from adapter.api.tenancy import Tenancy
from adapter.errors import SubstregError

REQUEST_ID = ContextVar("request_id", default="-")
_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # a caller's id is taken only when plain
log = logging.getLogger("substreg.api")


class Health(BaseModel):
    status: str


def operations_router(tenancy: Callable[[], Tenancy], registry: CollectorRegistry) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """The process is up (no database is asked)."""
        return Health(status="ok")

    @router.get("/readyz", response_model=Health, responses={503: {"description": "not ready"}})
    def readyz() -> Response:
        """The registry and each tenant's database and keyring can be used; 503 with the
        number of those that cannot, and nothing else: this route needs no credentials,
        so which tenant and why (never a path) is in the service's log only (D-207)."""
        failing = not_ready(tenancy())
        if failing:
            where = "the registry" if failing < 0 else f"{failing} tenant(s)"
            text = f"not ready: {where} cannot be used (the service's log says which and why)"
            return operation_outcome(503, [("error/transient", text, None)])
        return Response(Health(status="ready").model_dump_json(), media_type="application/json")

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def not_ready(service: Tenancy) -> int:
    """How many tenants' databases or keyrings cannot be used (-1: the registry cannot);
    each logged by tenant id and the error's kind, never its message (it may name a file)."""
    try:
        service.registry.ping()
        tenants = service.registry.tenants()
    except SubstregError as exc:
        log.warning("not ready: the registry (%s)", type(exc).__name__)
        return -1
    failing = 0
    for tenant in tenants:
        try:
            service.store(tenant.tenant_id).read(lambda _space: None)  # schema and keyring
        except SubstregError as exc:
            failing += 1
            log.warning(
                "not ready: tenant %s (%s)",
                tenant.tenant_id,
                type(exc).__name__,
                extra={"tenant": tenant.tenant_id, "error": type(exc).__name__},
            )
    return failing


def instrument(app: FastAPI, registry: CollectorRegistry) -> None:
    """Count and time each request by route template, and log it as one JSON line."""
    requests = Counter(
        "substreg_http_requests",
        "HTTP requests answered, by method, route template and status",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "substreg_http_request_duration_seconds",
        "Time to answer, by method and route template",
        ["method", "route"],
        registry=registry,
    )

    templates: list[RouteInfo] = []

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("x-request-id", "")
        request_id = given if _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            try:
                response = await call_next(request)
            except Exception as exc:  # what no handler answered: one line, no traceback
                response = unanswered(exc)
            status = response.status_code
            response.headers["X-Request-ID"] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            if not templates:
                templates.extend(routes_of(app))  # once all routes are mounted
            route = route_template(templates, request)
            requests.labels(request.method, route, str(status)).inc()
            latency.labels(request.method, route).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "tenant": getattr(request.state, "tenant", None),
                },
            )
            REQUEST_ID.reset(token)


# A database driver's errors, known by name: the HTTP edge imports no SQL library.
_UNREACHABLE = frozenset({"OperationalError", "InterfaceError", "DBAPIError"})


def unanswered(exc: Exception) -> Response:
    """An error no handler answered, logged as one line under the request's id by its kind
    only (a driver's message may quote data): a database that cannot be reached is 503
    transient, as DatabaseError is; anything else 500."""
    names = {kind.__name__ for kind in type(exc).__mro__}
    kind = type(exc).__name__
    if names & _UNREACHABLE and type(exc).__module__.startswith(("sqlalchemy", "psycopg")):
        log.warning("database unreachable: %s", kind, extra={"error": kind})
        issue = ("error/transient", "the database cannot be reached; try again later", None)
        return operation_outcome(503, [issue])
    log.error("unexpected error: %s", kind, extra={"error": kind})
    return operation_outcome(500, [("fatal/exception", "internal error", None)])


@dataclass(frozen=True, slots=True)
class RouteInfo:
    path: str  # the template: /reports/{ledger_id}
    methods: frozenset[str]
    pattern: re.Pattern[str]


def routes_of(app: FastAPI) -> list[RouteInfo]:
    """Every route of `app` with its full template, routers included (FastAPI ≥ 0.16x
    keeps included routers as one entry each; `iter_route_contexts` opens them)."""
    try:
        from fastapi.routing import iter_route_contexts  # noqa: PLC0415
    except ImportError:  # an older FastAPI lists every route flat
        found: list[Any] = list(app.routes)
    else:
        found = list(iter_route_contexts(app.routes))
    return [
        RouteInfo(str(r.path), frozenset(r.methods or ()), compile_path(str(r.path))[0])
        for r in found
        if getattr(r, "path", None)
    ]


def route_template(routes: list[RouteInfo], request: Request) -> str:
    """The template of the route a request asked for (`/reports/{ledger_id}`), never its
    path, which may name a row."""
    path = request.scope.get("path", "")
    for route in routes:
        if route.pattern.match(path) and request.method in route.methods:
            return route.path
    return "<unmatched>"


class _WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


# The loggers the service's JSON log takes: its own (substreg.*), every module's of the
# package (adapter.*: the ingestion's, the stores'), and uvicorn's errors.
JSON_LOGGERS = ("substreg", "adapter", "uvicorn.error")


def json_logging(level: str) -> None:
    """The service's log: JSON lines on standard error (JSON_LOGGERS; uvicorn's access
    log is off, it would print paths and query strings)."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_WithRequestId())
    for name in JSON_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
