"""`substreg serve` as a real process (issue 13): a tenant added with the CLI, its demo
practice synced with the CLI into the tenant's own database, then the service started,
asked, told to approve, and stopped with SIGTERM — on SQLite and on PostgreSQL (a
database of its own, the tenant in its own schema)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapter.cli.main import main
from adapter.settings.service import tenant_schema
from adapter.store.database import schema_url
from tests.api.service import service_environment

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"
SUBSTREG = [sys.executable, "-m", "adapter.cli"]


@pytest.fixture(params=("sqlite", "postgresql"))
def environment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield from service_environment(request.param, tmp_path / "home", "test-operator")


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SUBSTREG, *args], env=env, capture_output=True, text=True, check=False, timeout=120
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tenant_env(env: dict[str, str], tenant: str) -> dict[str, str]:
    """The single-installation environment of the tenant's own database and keyring."""
    home = Path(env["SUBSTREG_HOME"]) / "tenants" / tenant
    url = env.get("SUBSTREG_DATABASE_URL")
    database = (
        schema_url(url, tenant_schema(tenant)) if url else f"sqlite:///{home / 'substreg.db'}"
    )
    return env | {"SUBSTREG_HOME": str(home), "SUBSTREG_DATABASE_URL": database}


def test_serve_answers_for_its_tenant_and_stops_on_sigterm(environment: dict[str, str]) -> None:
    env = environment
    added = _run(env, "tenant", "add", "demo", "--config", str(DEMO / "practice.toml"))
    assert added.returncode == 0, added.stderr
    key = _run(env, "tenant", "key", "demo", "--role", "doctor")
    assert key.returncode == 0 and "shown this once" in key.stderr
    token = key.stdout.strip()
    practice = _tenant_env(env, "demo")
    synced = _run(
        practice,
        "sync",
        str(DEMO),
        "--as-of",
        "2025-12-31",
        "--config",
        str(DEMO / "practice.toml"),
    )
    assert synced.returncode == 0, synced.stderr
    port = _free_port()
    server = subprocess.Popen(
        [*SUBSTREG, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, server)
        assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
        assert httpx.get(f"{base}/reports").status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        listed = httpx.get(f"{base}/reports", params={"state": "pending"}, headers=auth).json()
        pending = [r["ledger_id"] for r in listed["reports"]]
        assert pending, listed
        approved = httpx.post(f"{base}/reports/{pending[0]}/approve", headers=auth)
        assert approved.status_code == 200 and approved.json()["state"] == "approved"
    finally:
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=60)
    # uvicorn finishes the requests under way, then ends by the signal it caught (-15).
    assert server.returncode in (0, -signal.SIGTERM), log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("route") == "/reports/{ledger_id}/approve" for line in lines)
    assert "Finished server process" in log
    assert not any(ledger_id in log for ledger_id in pending)  # templates, never paths
    shown = _run(practice, "reports", "list", "--format", "json")
    states = {r["ledger_id"]: r["state"] for r in json.loads(shown.stdout)["reports"]}
    assert states[pending[0]] == "approved"


def _wait_for(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"serve stopped: {server.communicate()[1]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("serve did not answer within 60 s")


def test_tenant_commands_say_what_is_wrong_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [k for k in os.environ if k.startswith("SUBSTREG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SUBSTREG_HOME", str(tmp_path / "home"))

    def run(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    assert run("tenant", "add", "alpha")[0] == 0
    for args, words in [
        (("tenant", "add", "alpha"), "exists already"),
        (("tenant", "add", "Not_A_Tenant"), "is not a tenant id"),
        (("tenant", "key", "beta", "--role", "staff"), "there is no tenant beta"),
        (("tenant", "revoke-key", "0123456789abcdef"), "there is no API key"),
        (("tenant", "add", "gamma", "--config", str(tmp_path / "missing.toml")), "missing.toml"),
    ]:
        status, _, err = run(*args)
        assert status == 2, (args, err)
        assert err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "home" / "tenants" / "gamma").exists()
    status, key, err = run("tenant", "key", "alpha", "--role", "staff")
    assert status == 0 and "shown this once" in err
    key_id = key.strip().split("_")[1]
    assert run("tenant", "revoke-key", key_id)[0] == 0
    listed = run("tenant", "list", "--keys")[1]
    assert f"key {key_id}\tstaff" in listed and "revoked" in listed and key.strip() not in listed
