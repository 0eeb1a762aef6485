"""The service's log is JSON lines (issue 13 review, item 4): the ingestion's logger
(`adapter.api.ingestion`) is under it as the request log is, at INFO, with the request
id and the fields a line carries (a failed sync's kind and reason)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest

from adapter.api.operations import JSON_LOGGERS, json_logging


@pytest.fixture
def restored() -> Iterator[None]:
    """The loggers json_logging sets up, as they were before the test."""
    kept = {
        name: (list(log.handlers), log.level, log.propagate)
        for name in JSON_LOGGERS
        for log in [logging.getLogger(name)]
    }
    yield
    for name, (handlers, level, propagate) in kept.items():
        log = logging.getLogger(name)
        log.handlers[:], log.level, log.propagate = handlers, level, propagate


@pytest.mark.usefixtures("restored")
def test_the_ingestion_logs_json_lines_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    """An INFO line and a failure's warning of the ingestion are JSON with their fields."""
    json_logging("info")
    ingestion = logging.getLogger("adapter.api.ingestion")
    ingestion.info("ingestion of tenant %s: %d report(s) recorded", "praxis-1", 2)
    ingestion.warning("failed", extra={"error": "SyncError", "reason": "lies in the future"})
    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["level"] for line in lines] == ["INFO", "WARNING"]
    assert lines[0]["logger"] == "adapter.api.ingestion" and lines[0]["request_id"] == "-"
    assert "praxis-1" in lines[0]["message"]
    assert lines[1]["error"] == "SyncError" and lines[1]["reason"] == "lies in the future"
