"""End to end with real processes (issue 13, "Tests that must exist"): `substreg serve` and
`substreg register-sim` run as processes of their own; every public scenario (and the demo)
is pushed to `/fhir` as transaction Bundles with an API key, each to a tenant of its own;
the debounced ingestion makes the pending reports; a doctor's key approves each over
`POST /reports/{id}/approve`; `substreg submit` seals and sends each tenant's reports to the
simulator; then `GET /reports` and `GET /outbox` show every report acknowledged, and the
simulator holds each exactly once.

Honest about what is arranged: each scenario is correct as of its own day, so each is a
tenant of its own whose clock the service process is started with (tests/e2e/serve_at.py;
the rest of the service is the real command), and `submit` runs in this process by the
CLI's `main` (on the tenant's own installation, as an operator would run it) to keep 28
tenants fast. All tenants sign with one practice key: scenarios reuse invented doctors'
BtM numbers, and the register pins each sender (BtM number) to the first certificate it saw.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from adapter.cli.main import main
from adapter.crypto.envelope import certificate_fingerprint, load_certificate
from adapter.settings.service import tenant_schema
from adapter.store.database import schema_url
from tests.api.helpers import transactions
from tests.api.service import service_environment
from tests.depth import FULL
from tests.test_scenarios import SHARED_CASES

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"
DEMO_AS_OF = "2025-12-31"
DEMO_REPORTS = 16  # `substreg sync demo/ --as-of 2025-12-31` (tests/test_cli_store.py)
BERLIN = ZoneInfo("Europe/Berlin")
FHIR = {"Content-Type": "application/fhir+json"}

pytestmark = pytest.mark.skipif(not SHARED_CASES, reason="no public scenarios in ../shared")


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    source: Path  # a scenario's input.json, or the demo folder
    as_of: str
    expected: list[tuple[str, str, str]]  # (kind, date, doctor) of each report, sorted
    config: Path


@pytest.fixture(params=("sqlite", "postgresql"))
def environment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield from service_environment(request.param, tmp_path / "service", "e2e-operator")


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(encoding="utf-8")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"no answer from {url}: {log.read_text(encoding='utf-8')}")


def _started(
    argv: list[str], env: dict[str, str], log: Path, ready: str
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *argv], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    _wait(ready, process, log)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _cli(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *argv: str) -> None:
    """A `substreg` command in this process, with exactly `env`'s SUBSTREG_* settings."""
    with monkeypatch.context() as patched:
        for name in [n for n in os.environ if n.startswith("SUBSTREG_")]:
            patched.delenv(name)
        for name, value in env.items():
            if name.startswith("SUBSTREG_"):
                patched.setenv(name, value)
        assert main(list(argv)) == 0, argv


def _tenant_env(env: dict[str, str], tenant: str) -> dict[str, str]:
    """The single-installation environment of the tenant's own database and keyring."""
    home = Path(env["SUBSTREG_HOME"]) / "tenants" / tenant
    url = env.get("SUBSTREG_DATABASE_URL")
    database = (
        schema_url(url, tenant_schema(tenant)) if url else f"sqlite:///{home / 'substreg.db'}"
    )
    return env | {"SUBSTREG_HOME": str(home), "SUBSTREG_DATABASE_URL": database}


def _practice_toml(out: Path, base: str, endpoint: str, keys: Path, pin: str) -> Path:
    out.write_text(
        f'{base}\n\n[register]\ncertificate_sha256 = "{pin}"\n\n'
        '[submission]\ntransport = "http"\n'
        f'signer_key = "{keys / "signer.key"}"\n'
        f'signer_certificate = "{keys / "signer.pem"}"\n'
        f'register_certificate = "{keys / "register.pem"}"\n\n'
        f'[submission.http]\nendpoint = "{endpoint}"\n',
        encoding="utf-8",
    )
    return out


def _tenants(tmp: Path, endpoint: str, keys: Path, pin: str, env: dict[str, str]) -> list[Tenant]:
    """The demo and every public scenario, each a tenant; at `make test`'s quick depth
    every other one on each database, so that the two runs together still push every
    scenario through the whole round (tests/depth.py, D-218)."""
    plain = _practice_toml(tmp / "scenario.toml", "", endpoint, keys, pin)
    demo = (DEMO / "practice.toml").read_text(encoding="utf-8")
    found = [Tenant("demo", DEMO, DEMO_AS_OF, [], _practice_toml(
        tmp / "demo.toml", demo, endpoint, keys, pin))]  # fmt: skip
    for case in SHARED_CASES:
        expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
        tenant_id = "s-" + case.name.split("-")[0]
        found.append(
            Tenant(
                tenant_id, case / "input.json", expected["as_of"], _made(expected["reports"]), plain
            )
        )
    if FULL:
        return found
    on_postgresql = env.get("SUBSTREG_DATABASE_URL", "").startswith("postgresql")
    return found[on_postgresql::2]


def _made(reports: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((r["kind"], r["date"], r["doctor_btm"]) for r in reports)


def _noon(day: str) -> str:
    return datetime.combine(date.fromisoformat(day), clock_time(12), BERLIN).isoformat()


def _pushed(client: httpx.Client, tenant: Tenant, key: str) -> None:
    for bundle in transactions([tenant.source], size=200):
        answer = client.post(
            "/fhir",
            content=orjson.dumps(bundle),
            headers={**FHIR, "Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 200, (tenant.tenant_id, answer.text)
        statuses = {e["response"]["status"][:3] for e in answer.json()["entry"]}
        assert statuses <= {"200", "201"}, (tenant.tenant_id, statuses)


def _synced(client: httpx.Client, key: str, timeout: float = 120) -> list[dict[str, Any]]:
    """The tenant's pending reports once its debounced ingestion has run (its findings
    list a push run)."""
    auth = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = client.get("/findings", headers=auth).raise_for_status().json()["runs"]
        if any(run["source"] == "push" for run in runs):
            listing = client.get("/reports", params={"state": "pending"}, headers=auth)
            return list(listing.raise_for_status().json()["reports"])
        time.sleep(0.25)
    pytest.fail("the pushed data was not synced in time")


def test_every_scenario_pushed_approved_submitted_and_acknowledged(
    environment: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = environment
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    register_state = tmp_path / "register"
    register_port = _port()
    endpoint = f"http://127.0.0.1:{register_port}"
    simulator = _started(
        ["-m", "adapter.cli", "register-sim", "--state", str(register_state),
         "--port", str(register_port)],
        env, tmp_path / "register-sim.log", f"{endpoint}/health",
    )  # fmt: skip
    service: subprocess.Popen[bytes] | None = None
    try:
        pem = httpx.get(f"{endpoint}/certificate", timeout=10).raise_for_status().content
        (keys / "register.pem").write_bytes(pem)
        pin = certificate_fingerprint(load_certificate(pem, what="the simulator's certificate"))
        signer = ["--out-key", str(keys / "signer.key"), "--out-cert", str(keys / "signer.pem")]
        _cli(monkeypatch, env, "envelope", "keygen", *signer, "--name", "Praxis (e2e test)")
        tenants = _tenants(tmp_path, endpoint, keys, pin, env)
        staff: dict[str, str] = {}
        doctor: dict[str, str] = {}
        for tenant in tenants:
            _cli(
                monkeypatch, env, "tenant", "add", tenant.tenant_id, "--config", str(tenant.config)
            )
            for role, keyring in (("staff", staff), ("doctor", doctor)):
                capsys.readouterr()
                _cli(monkeypatch, env, "tenant", "key", tenant.tenant_id, "--role", role)
                keyring[tenant.tenant_id] = capsys.readouterr().out.strip()  # the key alone
        clocks = tmp_path / "clocks.json"
        clocks.write_text(json.dumps({t.tenant_id: _noon(t.as_of) for t in tenants}))
        port = _port()
        base = f"http://127.0.0.1:{port}"
        service = _started(
            ["-m", "tests.e2e.serve_at", "--port", str(port)],
            env | {"SUBSTREG_E2E_CLOCKS": str(clocks)}, tmp_path / "service.log",
            f"{base}/readyz",
        )  # fmt: skip
        with httpx.Client(base_url=base, timeout=120) as client:
            for tenant in tenants:
                _pushed(client, tenant, staff[tenant.tenant_id])
            acknowledged: set[str] = set()
            for tenant in tenants:
                pending = _synced(client, staff[tenant.tenant_id])
                if tenant.expected:  # what the scenario expects, made over /fhir
                    assert _made(pending) == tenant.expected, tenant.tenant_id
                else:
                    assert len(pending) == DEMO_REPORTS
                auth = {"Authorization": f"Bearer {doctor[tenant.tenant_id]}"}
                for report in pending:
                    approved = client.post(f"/reports/{report['ledger_id']}/approve", headers=auth)
                    assert approved.status_code == 200, approved.text
                    assert approved.json()["state"] == "approved"
                _cli(monkeypatch, _tenant_env(env, tenant.tenant_id), "submit", "--config",
                     str(tenant.config))  # fmt: skip
                ledger = client.get("/reports", headers=auth).raise_for_status().json()
                assert {r["state"] for r in ledger["reports"]} == {"acknowledged"}, tenant
                assert len(ledger["reports"]) == len(pending)
                batches = client.get("/outbox", headers=auth).raise_for_status().json()["batches"]
                assert batches and {b["state"] for b in batches} == {"acknowledged"}, tenant
                for batch in batches:
                    shown = client.get(f"/outbox/{batch['batch_id']}", headers=auth).json()
                    sent = {r["report_id"] for r in shown["report_items"]}
                    assert len(sent) == batch["reports"]
                    assert {r["result"] for r in shown["report_items"]} == {"accepted"}
                    assert not sent & acknowledged, "a report sent by two tenants"
                    acknowledged |= sent
    finally:
        if service is not None:
            _stop(service)
        _stop(simulator)
    held = _held(register_state)
    assert sorted(held) == sorted(acknowledged)  # each report once, and nothing else
    assert set(held.values()) == {"accepted"}


def _held(state: Path) -> dict[str, str]:
    (database,) = list(state.rglob("*.sqlite"))
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT report_id, status FROM reports").fetchall()
    return dict(rows)
