"""The service's own syncs (issue 13, D-208, D-209): at start, every tenant's pushes left
unread by a crash are synced in the background; on the timer, a quiet tenant is walked on
to today, so that the Abmeldung of the 10-day rule (R-EP-3) is recorded on day L+11
without a push, while a mass end stays refused (D-48)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapter.api import outcome
from adapter.api.app import create_app
from adapter.api.held import held_router
from adapter.api.schedule import Schedule
from adapter.settings.practice import load_config
from adapter.settings.service import ServiceSettings
from adapter.store.audit import Actor
from adapter.store.memory.registry import MemoryRegistry
from adapter.store.registry import Role, Tenant
from adapter.store.workspace import Store
from tests.api.helpers import caller_of, client_of, post, transactions
from tests.storage import NOW, make_twin
from tests.sync.helpers import ledger

SCENARIOS = Path(__file__).resolve().parents[3] / "shared" / "scenarios"
# Take-home reach ends on L = 2025-05-21: the Abmeldung is made on L+11 = 2025-06-01.
CASE = SCENARIOS / "06-ep-dispense-days-supply" / "input.json"
DEMO = Path(__file__).resolve().parents[2] / "demo"
TENANT = "praxis-1"


class Clock:
    """The tenant store's clock, set by the test."""

    def __init__(self, day: date) -> None:
        self.at = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)

    def set(self, day: date) -> None:
        self.at = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


def _pushed(clock: Clock, paths: list[Path], config_path: Path | None = None) -> Store:
    """A tenant store holding `paths` pushed to /fhir and never synced (the process was
    killed within the quiet time)."""
    store, _ = make_twin(clock=clock)
    config = load_config(config_path) if config_path else None
    client = client_of(caller_of(store, config))  # no ingestion: nothing is synced
    for bundle in transactions(paths, size=2_000):
        assert post(client, "/fhir", bundle).status_code == 200
    return store


def _app(store: Store, config_path: Path | None = None, interval: float = 0.0) -> FastAPI:
    registry = MemoryRegistry()
    registry.add_tenant(Tenant(TENANT, str(config_path) if config_path else None, NOW))
    settings = ServiceSettings(
        home=Path("/nonexistent"), postgresql_url=None, sync_interval=interval
    )
    return create_app(settings, registry=registry, open_store=lambda _: store, clock=lambda: NOW)


def _rounds(schedule: Schedule, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while schedule.rounds < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert schedule.rounds >= count


def _unread(store: Store) -> int:
    return store.read(lambda space: space.resources.count_pending())


def _kinds(store: Store) -> list[tuple[str, str, date]]:
    held = ledger(store)
    return sorted((h.report.kind, h.state, h.report.date) for h in held)


def test_pushes_left_unread_by_a_crash_are_synced_at_start() -> None:
    """A scenario pushed and never synced (kill -9 within the quiet time): the service's
    start syncs it in the background, as of today by the tenant's clock (D-208)."""
    clock = Clock(date(2025, 6, 5))
    store = _pushed(clock, [CASE])
    assert _unread(store) > 0 and ledger(store) == []
    app = _app(store)
    with TestClient(app):
        _rounds(app.state.schedule, 1)
    assert _unread(store) == 0
    assert _kinds(store) == [
        ("abmeldung", "pending", date(2025, 5, 21)),
        ("anmeldung", "pending", date(2025, 5, 5)),
    ]


def test_readiness_does_not_wait_for_the_syncs_at_start() -> None:
    """While the start's sync of a tenant waits (a run of it under way), /readyz answers."""
    clock = Clock(date(2025, 6, 5))
    store = _pushed(clock, [CASE])
    app = _app(store)
    busy = app.state.ingestion._running[TENANT]
    busy.acquire()  # a run of the tenant under way: the start's sync waits for it
    held = True
    try:
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            assert app.state.schedule.rounds == 0 and _unread(store) > 0
            busy.release()  # that run ends before the shutdown, which would wait for it
            held = False
    finally:
        if held:
            busy.release()
    _rounds(app.state.schedule, 1)
    assert _unread(store) == 0


def test_the_timer_records_the_abmeldung_on_day_l_plus_11_without_a_push() -> None:
    """Synced on L+10 the phase is open (only the Anmeldung); the tenant pushes nothing
    more; on L+11 the timer's round walks it on and the R-EP-3 Abmeldung, dated L, is
    pending. A second round that day syncs nothing (the day was synced); nor does a
    second round of the next day, when nobody is open any more."""
    clock = Clock(date(2025, 5, 31))
    store = _pushed(clock, [CASE])
    app = _app(store)
    schedule: Schedule = app.state.schedule
    schedule.round()
    assert _kinds(store) == [("anmeldung", "pending", date(2025, 5, 5))]
    clock.set(date(2025, 6, 1))
    schedule.round()
    assert _kinds(store) == [
        ("abmeldung", "pending", date(2025, 5, 21)),
        ("anmeldung", "pending", date(2025, 5, 5)),
    ]
    (abmeldung,) = [h.report for h in ledger(store) if h.report.kind == "abmeldung"]
    assert abmeldung.rule == "R-EP-3"
    ingestion = app.state.ingestion
    schedule.round()
    assert ingestion.synced[TENANT] == 2
    clock.set(date(2025, 6, 2))  # nobody open: one run walks nobody, once that day
    schedule.round()
    schedule.round()
    assert ingestion.synced[TENANT] == 3 and ingestion.failures[TENANT] == 0
    assert len(_kinds(store)) == 2


def _timer_refused() -> tuple[Store, FastAPI, list[tuple[str, str, date]]]:
    """The demo practice synced as of its last day by the start's round, then a round 25
    days on, with nothing pushed meanwhile; the store, the app, and the ledger before."""
    config = DEMO / "practice.toml"
    clock = Clock(date(2025, 12, 31))
    store = _pushed(clock, [DEMO], config)
    app = _app(store, config)
    schedule: Schedule = app.state.schedule
    schedule.round()
    before = _kinds(store)
    assert before and _unread(store) == 0
    clock.set(date(2026, 1, 25))
    schedule.round()
    return store, app, before


def test_the_timer_keeps_a_mass_end_refused() -> None:
    """The demo practice synced as of its last day, then silent for 25 days: the timer's
    walk would end most treatments at once on no new data, so it is refused and audited
    (D-48), not forced, and the ledger stays as it was."""
    store, app, before = _timer_refused()
    assert _kinds(store) == before
    assert app.state.ingestion.failures[TENANT] == 1
    refused = store.read(lambda space: space.audit.entries(action="sync.refused"))
    assert len(refused) == 1


def test_a_mass_end_the_timer_refused_is_held_and_accepted_as_shown() -> None:
    """D-237: the timer's refused walk on leaves nothing unread, yet `GET /sync/held` shows
    it held with the ends it would make, its finding names the service's way on (D-236),
    and a doctor's `POST /sync/held/accept` of that number records the Abmeldungen."""
    store, app, before = _timer_refused()
    [refused] = app.state.ingestion.last[TENANT]
    [error] = [f for f in refused.findings if f.severity == "error" and f.rule == "R-EP-3"]
    assert "GET /sync/held" in error.message and "POST /sync/held/accept" in error.message
    assert "--accept-mass-end" not in error.message
    config = load_config(DEMO / "practice.toml")
    doctor = replace(caller_of(store, config), role=Role.DOCTOR, actor=Actor("dr-1", "doctor"))
    routes = FastAPI()
    outcome.install(routes)
    routes.include_router(held_router(lambda: doctor, app.state.ingestion))
    client = TestClient(routes)
    shown = client.get("/sync/held").json()
    assert shown["held"] is True and shown["pending"] == 0
    assert shown["as_of"] == "2026-01-25" and shown["ending"] > 2
    accepted = client.post("/sync/held/accept", json={"ending": shown["ending"]})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["runs"] == 1
    ended = [k for k in _kinds(store) if k not in before]
    assert [kind for kind, _, _ in ended] == ["abmeldung"] * shown["ending"]
    assert client.get("/sync/held").json()["held"] is False
