"""Benchmark `POST /fhir` of a one-administration transaction against a trivial endpoint.

    python benchmarks/fhir_push.py [--rate 50] [--seconds 20] [--database-url URL]

One uvicorn server on 127.0.0.1 (in this process, its own thread) serves a FastAPI app
with the `/fhir` router on a tenant's store (a new SQLite file by default; PostgreSQL with
`--database-url postgresql+psycopg://…`, an empty database) and `GET /trivial`, which
answers a small JSON object and touches nothing. For `--seconds`, requests are sent at
`--rate` per second (open loop: each at its own time, by a pool of client threads, so a
slow answer does not slow the sending) first to `/trivial`, then as `POST /fhir`: a
transaction Bundle with one MedicationAdministration (a PUT of a new id each time, the
demo's first administration otherwise). The table gives p50, p99 and the largest
latency of each, the units of work the pushes were committed in (group commit, D-175),
and the ratio of the p99s (issue 13's target: ≤ 3). Every answer must be 200: exit 2
otherwise. Ingestion is not started: this measures the push alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run_with_adapter() -> None:
    """Run again with the project's venv when this interpreter cannot import the adapter."""
    if importlib.util.find_spec("adapter") is not None:
        return
    venv = ROOT / ".venv" / "bin" / "python"
    if not venv.exists() or Path(sys.prefix).resolve() == (ROOT / ".venv").resolve():
        sys.exit("benchmarks/fhir_push.py: run it with the project's venv")
    os.execv(str(venv), [str(venv), str(Path(__file__).resolve()), *sys.argv[1:]])


def make_app(url: str) -> Any:
    from fastapi import FastAPI

    from adapter.api.fhir.router import fhir_router
    from adapter.api.tenancy import Caller, Role
    from adapter.crypto import generate_keyring
    from adapter.mappings import load_mappings
    from adapter.settings.practice import load_config
    from adapter.store.audit import Actor
    from adapter.store.database import open_engine, upgrade
    from adapter.store.sql.backend import SqlDatabase
    from adapter.store.workspace import Store

    engine = open_engine(url)
    upgrade(engine)
    ring = generate_keyring(datetime.now(UTC).isoformat())
    store = Store(SqlDatabase(engine), lambda: ring)
    actor = Actor("benchmark", "operator")
    store.run(actor, lambda space: space.audit.append(actor, "init", details={}))
    caller = Caller(
        "bench", Role.STAFF, actor, store, load_config(ROOT / "demo" / "practice.toml"),
        load_mappings(),
    )  # fmt: skip
    app = FastAPI()
    app.state.store = store  # its group commit counts the units of work (D-175)
    app.include_router(fhir_router(lambda: caller), prefix="/fhir")

    @app.get("/trivial")
    def trivial() -> dict[str, bool]:
        return {"ok": True}

    return app


def serve(app: Any) -> tuple[Any, int]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, port


def bundle(n: int, administration: dict[str, Any]) -> bytes:
    resource = {**administration, "id": f"bench-{n}"}
    entry = {
        "resource": resource,
        "request": {"method": "PUT", "url": f"MedicationAdministration/bench-{n}"},
    }
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [entry]}).encode()


def load(port: int, rate: float, seconds: float, request: Any) -> list[float]:
    """Latencies (s) of `rate × seconds` requests, each sent at its own time."""
    import httpx

    local = threading.local()
    count = int(rate * seconds)
    start = time.perf_counter() + 0.2

    def one(n: int) -> float:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        began = time.perf_counter()
        response = request(client, n)
        took = time.perf_counter() - began
        if response.status_code != 200:
            print(f"request {n}: {response.status_code} {response.text[:200]}", file=sys.stderr)
            sys.exit(2)
        return took

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, range(count)))


def summary(name: str, latencies: list[float]) -> tuple[str, float]:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
    row = f"{name:<12} {len(ordered):>6} {p50:>9.1f} {p99:>9.1f} {ordered[-1] * 1000:>9.1f}"
    return row, p99


def main() -> None:
    run_with_adapter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="fhir-push-")
    url = args.database_url or f"sqlite:///{folder}/substreg.db"
    app = make_app(url)
    server, port = serve(app)
    demo = ROOT / "demo" / "MedicationAdministration.ndjson"
    administration = json.loads(demo.read_text(encoding="utf-8").splitlines()[0])
    headers = {"Content-Type": "application/fhir+json"}
    trivial = load(port, args.rate, args.seconds, lambda c, n: c.get("/trivial"))
    groups = app.state.store.group.groups
    pushed = load(
        port,
        args.rate,
        args.seconds,
        lambda c, n: c.post("/fhir", content=bundle(n, administration), headers=headers),
    )
    server.should_exit = True
    kind = url.split(":", 1)[0]
    print(f"{args.rate:g} requests/s for {args.seconds:g} s over loopback, store: {kind}")
    print(f"{'endpoint':<12} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    row, base = summary("trivial", trivial)
    print(row)
    row, p99 = summary("POST /fhir", pushed)
    print(row)
    groups = app.state.store.group.groups - groups
    print(f"{len(pushed)} pushes committed in {groups} units of work (group commit, D-175)")
    print(f"p99 ratio: {p99 / base:.1f}× the trivial endpoint's (target ≤ 3×)")


if __name__ == "__main__":
    main()
