"""The service (issue 13): `create_app(settings)` builds it; `substreg serve` runs it
under uvicorn in factory mode (`app_from_env`).

Every route but `/healthz`, `/readyz` and `/metrics` needs a caller (an API key or a
bearer JWT, adapter/api/tenancy.py), and reaches that caller's tenant only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from adapter import composition
from adapter.api import outcome
from adapter.api.bearer import JwtVerifier
from adapter.api.bulk import bulk_router
from adapter.api.duplicates import duplicates_router
from adapter.api.fhir.router import fhir_router
from adapter.api.findings import RecentFindings, SyncFindings, failure_recorder, remember
from adapter.api.forecast import forecast_router
from adapter.api.handover import handover_router
from adapter.api.held import held_router
from adapter.api.ingestion import Ingestion
from adapter.api.keys import keys_router
from adapter.api.notifications import notifications_router
from adapter.api.operations import instrument, json_logging, operations_router
from adapter.api.outbox import outbox_router
from adapter.api.reports import reports_router
from adapter.api.schedule import Schedule
from adapter.api.tenancy import Caller, Tenancy, current_caller, requires
from adapter.services.sync import SyncResult
from adapter.settings.service import ServiceSettings
from adapter.store.registry import Registry, Role
from adapter.store.workspace import Store

TITLE = "substreg-adapter service"


def create_app(
    settings: ServiceSettings,
    *,
    registry: Registry | None = None,
    open_store: Callable[[str], Store] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    """The service on `settings`; tests give the registry and the tenants' stores (the
    in-memory twin) instead of the databases the settings name."""
    tenancy = Tenancy(
        registry=registry if registry is not None else composition.registry(settings),
        open_store=open_store or (lambda tenant: composition.tenant_store(settings, tenant, clock)),
        clock=clock,
        findings=RecentFindings(),
        jwt=JwtVerifier(settings.jwt) if settings.jwt is not None else None,
    )
    metrics = CollectorRegistry()
    ingestion = Ingestion(
        synced=lambda who, result: _remember_push(tenancy, who, result),
        failed=failure_recorder(tenancy.findings, tenancy.clock, metrics),
    )
    schedule = Schedule(tenancy, ingestion, settings.sync_interval)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        schedule.start()  # every tenant synced now, in the background, and then timed (D-208)
        yield
        schedule.stop()
        ingestion.flush()  # on shutdown nothing pushed waits for its sync (D-130)

    app = FastAPI(
        lifespan=lifespan,
        title=TITLE,
        version="1",
        description="Reports for the Substitutionsregister: the FHIR endpoint, the ledger's "
        "reports, findings and submission status, the deadline forecast and the register's "
        "duplicate notices, per tenant (README: The service).",
    )
    app.state.tenancy = tenancy
    app.state.ingestion = ingestion
    app.state.schedule = schedule
    outcome.install(app)
    instrument(app, metrics)
    app.include_router(operations_router(lambda: tenancy, metrics))
    app.include_router(bulk_router(current_caller))  # before /reports/{ledger_id}
    app.include_router(reports_router(current_caller, lambda: tenancy.findings))
    app.include_router(outbox_router(current_caller))
    app.include_router(forecast_router(current_caller))
    app.include_router(duplicates_router(current_caller))
    app.include_router(keys_router(current_caller))
    app.include_router(held_router(current_caller, ingestion))
    app.include_router(handover_router(current_caller))
    # The notifications before the FHIR endpoint: its path lies under /fhir (D-137).
    app.include_router(
        notifications_router(
            requires(Role.STAFF, Role.DOCTOR, caller=current_caller),
            lambda request, who, result: remember(request, who.tenant, "notification", result),
        )
    )
    app.include_router(
        fhir_router(requires(Role.STAFF, Role.DOCTOR, caller=current_caller), ingestion=ingestion),
        prefix="/fhir",
    )
    return app


def _remember_push(tenancy: Tenancy, who: Caller, result: SyncResult) -> None:
    """A push's sync keeps its findings for `GET /findings`, as every ingestion does."""
    found = SyncFindings(
        result.run_id, result.as_of, tenancy.clock(), "push", tuple(result.findings)
    )
    tenancy.findings.record(who.tenant, found)


def app_from_env() -> FastAPI:
    """uvicorn's factory (`substreg serve`): the settings from the environment."""
    settings = composition.service_settings()
    json_logging(settings.log_level)
    return create_app(settings)
