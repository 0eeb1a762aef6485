"""A debounced push sync that fails leaves a trace (issue 13 review, item 1): its reason
in `GET /findings` of the tenant, a count by the error's kind in `/metrics`, and one log
line with the reason; the wording an HTTP caller sees names no command-line flag."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from adapter.api.ingestion import Ingestion
from adapter.api.tenancy import Caller
from adapter.errors import SyncError
from adapter.services.sync_guard import check_as_of
from adapter.services.sync_plan import SyncOptions
from adapter.store.registry import Role
from tests.api.service import Service

FUTURE = date(2030, 1, 1)  # after the service's clock: sync refuses it (R-DATE-3)


def _future(caller: Caller) -> SyncOptions:
    return SyncOptions(as_of=FUTURE, config=caller.config, mappings=caller.mappings)


def _fail_alpha(service: Service) -> None:
    """Alpha's pushed Patient synced as of a day to come: the run is refused."""
    ingestion: Ingestion = service.app.state.ingestion
    ingestion.options = _future
    caller = service.app.state.tenancy.caller(service.auth("alpha", Role.STAFF)["Authorization"])
    assert ingestion.run(caller) == []


def test_a_refused_push_sync_shows_in_findings_and_metrics(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    """The refusal and its reason are alpha's newest run in GET /findings (no run id),
    beta sees nothing of it, /metrics counts it by kind without a tenant label, and the
    log line carries the reason as a field."""
    caplog.set_level(logging.INFO)
    _fail_alpha(service)
    client = service.client()
    runs = client.get("/findings", headers=service.auth("alpha", Role.STAFF)).json()["runs"]
    assert runs[0]["run_id"] is None and runs[0]["source"] == "push"
    (finding,) = runs[0]["findings"]
    assert finding["rule"] == "INGESTION" and finding["severity"] == "error"
    assert "lies in the future" in finding["message"] and "SyncError" in finding["message"]
    assert "--" not in finding["message"]
    other = client.get("/findings", headers=service.auth("beta", Role.STAFF)).json()["runs"]
    assert all(f["rule"] != "INGESTION" for run in other for f in run["findings"])
    metrics = client.get("/metrics").text
    assert 'substreg_ingestion_failures_total{kind="SyncError"} 1.0' in metrics
    (line,) = [r for r in caplog.records if "ingestion of tenant" in r.getMessage()]
    assert line.error == "SyncError" and "lies in the future" in line.reason  # type: ignore[attr-defined]


def test_an_as_of_long_after_the_data_is_worded_for_the_service() -> None:
    """The refusal of a day long after the data speaks of tells the command line to
    give --as-of, and the service's callers to check the server's clock or push data."""
    with pytest.raises(SyncError) as refused:
        check_as_of(date(2026, 12, 7), date(2025, 2, 14))
    assert "--as-of 2026-12-07 lies 661 days after" in str(refused.value)
    service = refused.value.service or ""
    assert "661 days after" in service and "server's clock" in service
    assert "--" not in service
