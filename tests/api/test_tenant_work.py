"""`substreg tenant work`: one outbox worker for every tenant of the service (D-183).
A tenant whose approved reports were sealed has them delivered by the folder transport
of its own practice.toml; a tenant without a configuration is named once and left out."""

from __future__ import annotations

import json
import os
import threading
from datetime import date
from pathlib import Path

import pytest

from adapter import composition
from adapter.cli import context as cli_context
from adapter.cli.main import main
from adapter.fhir.source import read_paths
from adapter.mappings import load_mappings
from adapter.services.bulk_reports import inventory
from adapter.services.ingest import ingest
from adapter.services.reports import decide
from adapter.services.submit import submit
from adapter.services.sync_plan import SyncOptions
from adapter.services.worker_tenants import TenantWork, run_tenants
from adapter.settings.practice import PracticeConfig, load_config
from adapter.store.workspace import Store
from tests.storage import ACTOR, NOW
from tests.submission.pki import SubmissionPki

DEMO = Path(__file__).resolve().parents[2] / "demo"


def _practice(folder: Path, pki: SubmissionPki) -> Path:
    """The demo's practice.toml with [submission] by folder (tests/test_cli_submit.py)."""
    pki.write(folder / "keys")
    config = folder / "practice.toml"
    config.write_text(
        (DEMO / "practice.toml").read_text()
        + f"""
[register]
certificate_sha256 = "{pki.pin}"

[submission]
transport = "folder"
signer_key = "keys/signer.key"
signer_certificate = "keys/signer.pem"
register_certificate = "keys/register.pem"
poll_seconds = 0.5

[submission.folder]
path = "to-upload"
""",
        encoding="utf-8",
    )
    return config


def test_one_worker_delivers_for_every_tenant_with_a_submission(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    submission_pki: SubmissionPki,
) -> None:
    """Tenant alpha's demo reports approved and sealed; `tenant work --once` writes them to
    alpha's folder (every batch sent) and names beta, which has no practice.toml, once."""
    store, config = _alpha_synced(tmp_path, monkeypatch, submission_pki)
    assert main(["tenant", "add", "beta"]) == 0
    capsys.readouterr()
    _approve_pending(store)
    sealed = submit(store, ACTOR, composition.sealing(config))
    assert sealed.batches

    assert main(["tenant", "work", "--once"]) == 0
    out, err = capsys.readouterr()
    assert out.count("alpha: ") == len(sealed.batches) and "sent" in out
    left_out = "no practice.toml (`tenant add --config`): no [submission]"
    assert err == f"substreg: tenant beta left out: {left_out}\n"
    manifest = json.loads((tmp_path / "alpha" / "to-upload" / "manifest.json").read_text())
    assert len(manifest["batches"]) == len(sealed.batches)
    states = store.read(lambda space: {b.state for b in space.outbox.listed()})
    assert states == {"sent"}


def test_tenant_work_seals_the_inventory_reports_its_pass_freed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    submission_pki: SubmissionPki,
) -> None:
    """D-232: submit held alpha's inventory reports back for their Anmeldungen; the first
    `tenant work --once` sends those and seals the inventory reports, the second sends them."""
    store, config = _alpha_synced(tmp_path, monkeypatch, submission_pki)
    inventory(store, ACTOR, key_date=date(2025, 12, 31), today=date(2026, 1, 2))
    _approve_pending(store)
    held = submit(store, ACTOR, composition.sealing(config)).held
    assert held
    assert main(["tenant", "work", "--once"]) == 0
    states = store.read(lambda space: {e.ledger_id: e.state for e in space.ledger.entries()})
    assert {states[i] for i in held} == {"queued"}
    assert main(["tenant", "work", "--once"]) == 0
    states = store.read(lambda space: {e.ledger_id: e.state for e in space.ledger.entries()})
    assert set(states.values()) == {"sent"}
    capsys.readouterr()


def _alpha_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pki: SubmissionPki
) -> tuple[Store, PracticeConfig]:
    """Tenant alpha with the demo synced as of 2025-12-31 and a folder submission."""
    for name in [k for k in os.environ if k.startswith("SUBSTREG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SUBSTREG_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(cli_context, "clock", lambda: NOW)  # the certificates hold
    config_path = _practice(tmp_path / "alpha", pki)
    assert main(["tenant", "add", "alpha", "--config", str(config_path)]) == 0
    store = composition.tenant_store(composition.service_settings(), "alpha", lambda: NOW)
    config = load_config(config_path)
    options = SyncOptions(as_of=date(2025, 12, 31), config=config, mappings=load_mappings())
    ingest(store, ACTOR, read_paths([DEMO]), options)
    return store, config


def _approve_pending(store: Store) -> None:
    pending = store.read(
        lambda space: space.ledger.entries(state="pending", since=None, until=None)
    )
    decide(store, ACTOR, [e.ledger_id for e in pending], "approve")


def test_a_failing_tenant_is_reported_and_the_others_go_on() -> None:
    """A tenant whose store fails is named with the error's kind; the round goes on to the
    next tenant, and a stopped worker returns at once."""

    class Broken:
        """A tenant store whose disk fails."""

        def clock(self) -> object:
            raise OSError("disk")

    calls: list[str] = []
    failures: list[tuple[str, str]] = []

    def tenants() -> list[TenantWork]:
        calls.append("round")
        return [TenantWork("one", Broken(), None, 0.1), TenantWork("two", Broken(), None, 0.1)]  # type: ignore[arg-type]

    stop = threading.Event()
    count = run_tenants(
        tenants,
        ACTOR,
        stop=stop,
        once=True,
        failed=lambda tenant, exc: failures.append((tenant, type(exc).__name__)),
    )
    assert count == 0 and calls == ["round"]
    assert failures == [("one", "OSError"), ("two", "OSError")]
    stop.set()
    assert run_tenants(tenants, ACTOR, stop=stop) == 0 and calls == ["round"]
