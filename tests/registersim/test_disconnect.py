"""A sender that goes away mid-upload (a worker SIGKILLed while posting): the simulator
answers nobody, takes nothing and logs one line, no traceback (review of issue 12)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from adapter.registersim.app import create_app


def test_a_disconnect_mid_upload_takes_nothing_and_logs_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(tmp_path / "register")
    sent: list[dict[str, Any]] = []
    messages = [
        {"type": "http.request", "body": b"0\x82", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/submissions",
        "raw_path": b"/submissions",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/cms"), (b"idempotency-key", b"b-1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8765),
    }
    with caplog.at_level(logging.INFO, logger="substreg.registersim"):
        asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 499
    assert [r.getMessage() for r in caplog.records if r.name == "substreg.registersim"] == [
        "a submission's sender disconnected before its envelope arrived"
    ]
    assert not [r for r in caplog.records if r.exc_info]
    assert app.state.office.state.overview()["counts"]["submissions"] == 0
