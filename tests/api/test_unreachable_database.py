"""A database that cannot be reached (PostgreSQL stopped) is 503 `transient`, never a
500 with a driver's traceback (issue 13 review, item 2): the registry's lookup of a key,
a tenant's own database, and any driver error no handler answered; one log line each,
under the request's id."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import OperationalError

from adapter.api import outcome
from adapter.api.app import create_app
from adapter.api.operations import _WithRequestId, instrument
from adapter.settings.service import ServiceSettings
from adapter.store.database import open_engine
from adapter.store.opening import open_store
from adapter.store.registry import Role
from adapter.store.sql.registry import SqlRegistry
from tests.api.service import Service
from tests.storage import NOW


@pytest.fixture(autouse=True)
def _request_ids(caplog: pytest.LogCaptureFixture) -> None:
    """Captured records carry the request id as the service's JSON log lines do."""
    caplog.handler.addFilter(_WithRequestId())


def _closed_url() -> str:
    """A PostgreSQL URL on a local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/test"


def _one_transient(response: object, caplog: pytest.LogCaptureFixture, request_id: str) -> None:
    assert getattr(response, "status_code", None) == 503
    body = response.json()  # type: ignore[attr-defined]
    assert body["issue"][0]["code"] == "transient"
    assert "internal error" not in body["issue"][0]["diagnostics"]
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and errors[0].exc_info is None
    assert getattr(errors[0], "request_id", None) == request_id


def test_a_registry_that_cannot_be_reached_is_503(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    """A valid key, the registry's database gone: 503 transient, one warning, no trace."""
    registry = SqlRegistry(open_engine(_closed_url()))
    settings = ServiceSettings(home=Path("/nonexistent"), postgresql_url=None)
    app = create_app(settings, registry=registry, open_store=lambda _: None, clock=lambda: NOW)  # type: ignore[arg-type,return-value]
    caplog.set_level(logging.INFO)
    headers = {**service.auth("alpha", Role.STAFF), "X-Request-ID": "req-registry"}
    answer = TestClient(app, raise_server_exceptions=False).get("/reports", headers=headers)
    _one_transient(answer, caplog, "req-registry")


def test_a_tenant_database_that_cannot_be_reached_is_503(
    service: Service, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The registry answers, the tenant's own database is gone: 503 transient."""
    tenancy = service.app.state.tenancy
    tenancy.open_store = lambda _: open_store(_closed_url(), tmp_path / "keyring.json")
    tenancy._stores.clear()
    caplog.set_level(logging.INFO)
    headers = {**service.auth("alpha", Role.STAFF), "X-Request-ID": "req-tenant"}
    _one_transient(service.client().get("/reports", headers=headers), caplog, "req-tenant")


def test_a_driver_error_no_handler_answers_is_503_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A raw OperationalError reaching the edge is answered 503 transient, logged once
    by its kind under the request's id; any other surprise stays a plain 500."""
    app = FastAPI()
    outcome.install(app)
    instrument(app, CollectorRegistry())

    @app.get("/down")
    def down() -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("a value 4711")

    client = TestClient(app, raise_server_exceptions=False)
    caplog.set_level(logging.INFO)
    _one_transient(client.get("/down", headers={"X-Request-ID": "req-1"}), caplog, "req-1")
    caplog.clear()
    answer = client.get("/bug", headers={"X-Request-ID": "req-2"})
    assert answer.status_code == 500 and "4711" not in answer.text
    (line,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "4711" not in line.getMessage() and line.exc_info is None
