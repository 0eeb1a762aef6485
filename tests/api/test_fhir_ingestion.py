"""From push to pending reports without a manual step (issue 13 item 6, D-130): what is
pushed to `/fhir` is synced by the debounced runner into the same ledger that
`substreg sync` of the same files records, the demo practice and a public scenario."""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path

import pytest

from adapter.api.ingestion import Ingestion
from adapter.api.tenancy import Caller
from adapter.services.ingest import ingest_pushed
from adapter.services.sync_plan import SyncOptions
from adapter.settings.practice import load_config
from adapter.store.workspace import Store
from tests.api.helpers import as_of_of, caller_of, client_of, patient, post, put, transactions
from tests.storage import ACTOR, make_twin
from tests.sync.helpers import ledger, run_sync
from tests.test_scenarios import OWN_CASES, SHARED_CASES

DEMO = Path(__file__).resolve().parents[2] / "demo"
DEMO_AS_OF = date(2025, 12, 31)
QUIET = 0.2


def _options(as_of: date) -> object:
    def options(caller: Caller) -> SyncOptions:
        return SyncOptions(as_of=as_of, config=caller.config, mappings=caller.mappings)

    return options


def _settled(ingestion: Ingestion, timeout: float = 60.0) -> None:
    """Wait until no timer runs and no run is under way."""
    deadline = time.monotonic() + timeout
    while ingestion.waiting() and time.monotonic() < deadline:
        time.sleep(0.02)
    for lock in list(ingestion._running.values()):  # a run under way ends first
        with lock:
            pass
    assert not ingestion.waiting()


def _comparable(store: Store) -> list[tuple[object, ...]]:
    """The ledger's reports with their states, by report id (reports of one day and kind
    are in no given order)."""
    held = [(h.report.id, h.state, h.origin, h.superseded, h.report) for h in ledger(store)]
    return sorted(held, key=lambda row: str(row[0]))


@pytest.mark.parametrize("runs", ["once", "after-each-push"])
def test_the_demo_pushed_gives_the_pending_reports_sync_of_its_files_gives(runs: str) -> None:
    """The demo practice pushed as transaction Bundles of 200 entries and synced once at
    the end (`once`: the quiet interval outlasts the pushes, flushed), or after each
    Bundle (incrementally, as a busy EHR's pushes are): the same pending reports as
    `substreg sync demo/ --as-of 2025-12-31 --config demo/practice.toml`, and once, the
    same findings."""
    config = load_config(DEMO / "practice.toml")
    caller = caller_of(config=config)
    ingestion = Ingestion(_options(DEMO_AS_OF), quiet=60.0)  # type: ignore[arg-type]
    client = client_of(caller, ingestion)
    bundles = list(transactions([DEMO], size=200))
    for bundle in bundles:
        response = post(client, "/fhir", bundle)
        assert response.status_code == 200, response.text
        if runs == "after-each-push":
            ingestion.flush()
    ingestion.flush()
    assert ingestion.synced[caller.tenant] == (1 if runs == "once" else len(bundles))
    assert ingestion.failures[caller.tenant] == 0 and len(bundles) > 1

    reference, _ = make_twin()
    expected = run_sync(reference, [DEMO], DEMO_AS_OF, config=config)
    assert expected.recorded
    assert _comparable(caller.store) == _comparable(reference)
    assert {h.state for h in ledger(caller.store)} == {"pending"}
    if runs == "once":
        (result,) = ingestion.last[caller.tenant]
        assert sorted(map(_finding, result.findings)) == sorted(map(_finding, expected.findings))
    assert caller.store.read(lambda space: space.resources.count_pending()) == 0


def _finding(finding: object) -> tuple[object, ...]:
    """A finding without where it was read (a file's name, or `pushed to /fhir`)."""
    severity, rule, message = finding.severity, finding.rule, finding.message  # type: ignore[attr-defined]
    return severity, rule, message


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in SHARED_CASES or OWN_CASES])
def test_each_public_scenario_pushed_is_synced_as_its_file(case: Path) -> None:
    """Each public scenario (the project's own cases without ../shared), pushed as one
    transaction (its urn:uuid references resolved) and synced: the ledger `sync` of its
    input.json records, report for report."""
    as_of = date.fromisoformat(as_of_of(case))
    caller = caller_of()
    client = client_of(caller)
    (bundle,) = transactions([case / "input.json"], size=10_000)
    assert post(client, "/fhir", bundle).status_code == 200
    (result,) = ingest_pushed(caller.store, ACTOR, _options(as_of)(caller))  # type: ignore[operator]
    reference, _ = make_twin()
    expected = run_sync(reference, [case / "input.json"], as_of)
    assert len(result.recorded) == len(expected.recorded)
    assert _comparable(caller.store) == _comparable(reference)
    assert sorted(map(_finding, result.findings)) == sorted(map(_finding, expected.findings))


def test_pushes_while_a_tenant_is_busy_make_one_sync(caplog: pytest.LogCaptureFixture) -> None:
    """Ten pushes within the quiet interval: one run (its result handed on, for the
    service's GET /findings); a later push, another."""
    caplog.set_level(logging.INFO)
    caller = caller_of()
    told: list[tuple[str, str | None]] = []
    ingestion = Ingestion(
        _options(date(2026, 11, 30)),  # type: ignore[arg-type]
        quiet=QUIET,
        synced=lambda who, result: told.append((who.tenant, result.run_id)),
    )
    client = client_of(caller, ingestion)
    for n in range(10):
        assert post(client, "/fhir/Patient", patient(str(n))).status_code == 201
    _settled(ingestion)
    assert ingestion.synced[caller.tenant] == 1
    assert len(told) == 1 and told[0][0] == caller.tenant and told[0][1] is not None
    post(client, "/fhir/Patient", patient("11"))
    _settled(ingestion)
    assert ingestion.synced[caller.tenant] == 2
    assert caller.store.read(lambda space: space.resources.count_pending()) == 0


def test_a_failed_sync_leaves_the_resources_unread_and_logs_no_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sync that fails (a day in the future) leaves every pushed version unread and says
    so by tenant and kind; the next run that works reads them."""
    caplog.set_level(logging.DEBUG)
    caller = caller_of()
    failing = Ingestion(_options(date(2030, 1, 1)), quiet=QUIET)  # type: ignore[arg-type]
    client = client_of(caller, failing)
    post(client, "/fhir/Patient", patient("4711", family="Reuter"))
    _settled(failing)
    assert failing.failures[caller.tenant] == 1 and failing.synced[caller.tenant] == 0
    assert caller.store.read(lambda space: space.resources.count_pending()) == 1
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "praxis-1" in text and "SyncError" in text
    assert "Reuter" not in text and "4711" not in text and "1979" not in text
    working = Ingestion(_options(date(2026, 11, 30)), quiet=QUIET)  # type: ignore[arg-type]
    assert len(working.run(caller)) == 1
    assert caller.store.read(lambda space: space.resources.count_pending()) == 0


def test_flush_runs_the_waiting_tenants_at_once() -> None:
    """On shutdown nothing pushed waits for its timer: flush syncs it now."""
    caller = caller_of()
    ingestion = Ingestion(_options(date(2026, 11, 30)), quiet=60.0)  # type: ignore[arg-type]
    client = client_of(caller, ingestion)
    post(client, "/fhir/Patient", patient("1"))
    assert ingestion.waiting() == [caller.tenant]
    ingestion.flush()
    assert ingestion.waiting() == [] and ingestion.synced[caller.tenant] == 1
    assert caller.store.read(lambda space: space.resources.count_pending()) == 0


def test_a_deleted_resource_is_ingested_as_deleted() -> None:
    """A DELETE pushed reaches sync as `Deleted` (INPUT.md 21): pending shows it so."""
    from adapter.fhir.items import Deleted
    from adapter.services.ingest import pending_pushed

    caller = caller_of()
    client = client_of(caller)
    created = post(client, "/fhir/Patient", patient("1")).json()
    assert client.delete(f"/fhir/Patient/{created['id']}").status_code == 204
    items, marks = caller.store.read(pending_pushed)
    assert items == [Deleted(f"Patient/{created['id']}", "pushed to /fhir")]
    assert [version for _, version in marks] == [2]


def test_a_refused_mass_end_keeps_the_pushed_resources_unread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The demo synced as of its last day; weeks later one resource is pushed and
    nothing else: sync refuses to end every treatment on stale data (D-48), keeps
    nothing, and the pushed resource stays unread for a person to decide."""
    caplog.set_level(logging.INFO)
    config = load_config(DEMO / "practice.toml")
    caller = caller_of(config=config)
    client = client_of(caller)
    for bundle in transactions([DEMO], size=2_000):
        assert post(client, "/fhir", bundle).status_code == 200
    assert ingest_pushed(caller.store, ACTOR, _options(DEMO_AS_OF)(caller))  # type: ignore[operator]
    before = _comparable(caller.store)
    organization = client.get("/fhir/Organization/praxis-lindenplatz").json()
    assert put(client, "/fhir/Organization/praxis-lindenplatz", organization).status_code == 200
    later = Ingestion(_options(date(2026, 1, 25)), quiet=60.0)  # type: ignore[arg-type]
    (refused,) = later.run(caller)
    assert refused.run_id is None and later.failures[caller.tenant] == 1
    assert _comparable(caller.store) == before
    assert caller.store.read(lambda space: space.resources.count_pending()) == 1
    assert "D-48" in caplog.text
