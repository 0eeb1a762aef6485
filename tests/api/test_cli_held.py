"""`substreg tenant held` and `tenant accept-held` (D-181): the CLI's way to the held sync
of a tenant's pushed data, the same use case as `/sync/held` (adapter/services/held.py)."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from adapter import composition
from adapter.cli.main import main
from adapter.mappings import load_mappings
from adapter.services.fhir_bundle import process
from adapter.services.ingest import ingest_pushed
from adapter.services.sync_plan import SyncOptions
from adapter.settings.practice import load_config
from tests.api.helpers import transactions
from tests.storage import ACTOR

DEMO = Path(__file__).resolve().parents[2] / "demo"


def _put(resource: dict[str, object]) -> dict[str, object]:
    url = f"{resource['resourceType']}/{resource['id']}"
    entry = {"resource": resource, "request": {"method": "PUT", "url": url}}
    return {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}


def test_a_tenants_held_sync_is_shown_and_accepted_at_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo pushed to a tenant and synced; weeks later one resource pushed and the
    run refused: `tenant held` shows the ends and the command to accept them; without a
    terminal or --yes nothing is synced; `accept-held --ending N --yes` syncs it."""
    for name in [k for k in os.environ if k.startswith("SUBSTREG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SUBSTREG_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    def run(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    assert run("tenant", "add", "demo", "--config", str(DEMO / "practice.toml"))[0] == 0
    store = composition.tenant_store(
        composition.service_settings(), "demo", lambda: datetime.now(UTC)
    )
    for bundle in transactions([DEMO], size=2_000):
        process(store, ACTOR, bundle)
    config, mappings = load_config(DEMO / "practice.toml"), load_mappings()
    ingest_pushed(store, ACTOR, SyncOptions(date(2025, 12, 31), config, mappings))
    practice = json.loads((DEMO / "practice.json").read_text())
    (organization,) = [
        e["resource"] for e in practice["entry"] if e["resource"]["id"] == "praxis-lindenplatz"
    ]
    process(store, ACTOR, _put(organization))
    (refused,) = ingest_pushed(store, ACTOR, SyncOptions(date(2026, 1, 25), config, mappings))
    assert refused.run_id is None
    status, shown, _ = run("tenant", "held", "demo")
    assert status == 0 and "1 pushed resource(s) unread; the sync as of 2026-01-25 is held" in shown
    found = re.search(r"accept-held demo --ending (\d+)", shown)
    assert found is not None and int(found[1]) > 2
    ending = found[1]
    accept = ("tenant", "accept-held", "demo", "--ending", ending, "--as-of", "2026-01-25")
    status, _, err = run(*accept)
    assert status == 2 and "give --yes" in err
    assert "is held" in run("tenant", "held", "demo")[1]
    status, out, _ = run(*accept, "--yes")
    assert status == 0 and out.startswith("Synced in 1 run(s). Recorded ")
    assert "nothing held (0 pushed resource(s) unread)" in run("tenant", "held", "demo")[1]
