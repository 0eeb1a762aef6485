"""A real `substreg serve` killed within the quiet time (issue 13, D-208): what was
pushed and not synced is synced when the service starts again, without a push."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.api.helpers import HEADERS, transactions
from tests.api.service import service_environment
from tests.api.test_serve import _free_port, _run, _tenant_env, _wait_for

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT.parent / "shared" / "scenarios" / "06-ep-dispense-days-supply" / "input.json"
TENANT = "praxis"


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield from service_environment("sqlite", tmp_path / "home", "test-operator")


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    """The real command, with the tenant's clock on the scenario's day (serve_at)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.serve_at", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _pending(base: str, auth: dict[str, str]) -> list[str]:
    listed = httpx.get(f"{base}/reports", params={"state": "pending"}, headers=auth).json()
    return sorted(r["kind"] for r in listed["reports"])


def test_pushes_a_kill_left_unread_are_synced_when_the_service_starts_again(
    environment: dict[str, str], tmp_path: Path
) -> None:
    """Pushed, then SIGKILL before the 2-second quiet time ends: nothing is synced; the
    next start syncs it in the background and the reports are pending."""
    assert _run(environment, "tenant", "add", TENANT).returncode == 0
    key = _run(environment, "tenant", "key", TENANT, "--role", "staff")
    auth = {"Authorization": f"Bearer {key.stdout.strip()}"}
    clocks = tmp_path / "clocks.json"
    clocks.write_text(json.dumps({TENANT: "2025-06-05T10:00:00+00:00"}))
    env = environment | {"SUBSTREG_E2E_CLOCKS": str(clocks)}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(env, port)
    try:
        _wait_for(base, server)
        (bundle,) = transactions([CASE], size=10_000)
        body = orjson.dumps(bundle)
        pushed = httpx.post(f"{base}/fhir", content=body, headers={**HEADERS, **auth})
        assert pushed.status_code == 200, pushed.text
    finally:
        server.send_signal(signal.SIGKILL)
        server.communicate(timeout=60)
    listed = _run(_tenant_env(environment, TENANT), "reports", "list", "--format", "json")
    assert json.loads(listed.stdout)["reports"] == []  # killed before its sync
    server = _serve(env, port)
    try:
        _wait_for(base, server)
        deadline = time.monotonic() + 60
        while _pending(base, auth) != ["abmeldung", "anmeldung"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _pending(base, auth) == ["abmeldung", "anmeldung"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)
