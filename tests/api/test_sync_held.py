"""A held sync of pushed data and a person's yes to it (D-181, D-48): `GET /sync/held`
shows what the refused run would end, `POST /sync/held/accept` by a doctor or an admin
syncs it accepting at most that many ends, audited; more ends are refused again."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import orjson
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapter.api import outcome
from adapter.api.fhir.router import fhir_router
from adapter.api.held import held_router
from adapter.api.ingestion import Ingestion
from adapter.api.tenancy import Caller
from adapter.services.ingest import ingest_pushed
from adapter.services.sync import Recorded, SyncResult
from adapter.services.sync_plan import SyncOptions
from adapter.settings.practice import load_config
from adapter.store.audit import Actor
from adapter.store.registry import Role
from tests.api.helpers import caller_of, post, put, transactions
from tests.store.helpers import make_report

DEMO = Path(__file__).resolve().parents[2] / "demo"
LATER = date(2026, 1, 25)  # weeks after the demo's last day: its data is stale then


def _options(caller: Caller) -> SyncOptions:
    return SyncOptions(as_of=LATER, config=caller.config, mappings=caller.mappings)


class _Who:
    """The caller of the next request: one tenant, a role to choose."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    def be(self, role: Role) -> None:
        self.caller = replace(self.caller, role=role, actor=Actor(f"{role.value}-1", role.value))

    def __call__(self) -> Caller:
        return self.caller


def _held_demo() -> tuple[TestClient, _Who, Ingestion]:
    """The demo pushed and synced as of its last day; weeks later one resource pushed:
    the ingestion refuses to end every treatment on stale data and holds it."""
    who = _Who(caller_of(config=load_config(DEMO / "practice.toml")))
    ingestion = Ingestion(_options, quiet=60.0)
    app = FastAPI()
    outcome.install(app)
    app.include_router(held_router(who, ingestion))
    app.include_router(fhir_router(who, ingestion=None), prefix="/fhir")
    client = TestClient(app)
    for bundle in transactions([DEMO], size=2_000):
        assert post(client, "/fhir", bundle).status_code == 200
    demo = SyncOptions(as_of=date(2025, 12, 31), config=who().config, mappings=who().mappings)
    assert ingest_pushed(who().store, who().actor, demo)
    organization = client.get("/fhir/Organization/praxis-lindenplatz").json()
    assert put(client, "/fhir/Organization/praxis-lindenplatz", organization).status_code == 200
    (refused,) = ingestion.run(who())
    assert refused.run_id is None
    return client, who, ingestion


def test_a_held_sync_is_shown_and_accepted_by_a_doctor_as_shown() -> None:
    """Staff see what is held and may not accept; a doctor accepting fewer ends than
    held is refused (409) and nothing moves; accepting the number shown syncs, records
    the Abmeldungen, audits the acceptance under the doctor, and nothing is held then."""
    client, who, _ = _held_demo()
    shown = client.get("/sync/held").json()
    assert shown["held"] is True and shown["pending"] == 1
    assert shown["ending"] > 2 and shown["open"] >= shown["ending"]
    assert shown["as_of"] == LATER.isoformat() and shown["newest_event"] is None  # no events
    ending = shown["ending"]
    assert client.post("/sync/held/accept", json={"ending": ending}).status_code == 403
    who.be(Role.DOCTOR)
    fewer = client.post("/sync/held/accept", json={"ending": ending - 1})
    assert fewer.status_code == 409 and "look again" in fewer.text
    assert client.get("/sync/held").json() == shown
    accepted = client.post("/sync/held/accept", json={"ending": ending})
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["runs"] == 1 and len(body["run_ids"]) == 1 and body["recorded"] >= ending
    after = client.get("/sync/held").json()
    assert (after["held"], after["pending"], after["ending"]) == (False, 0, 0)
    entries = who().store.read(lambda space: space.audit.entries(action="sync.held.accept"))
    assert [(e["actor"], orjson.loads(e["details"])["ending"]) for e in entries] == [
        ("doctor-1", ending - 1),
        ("doctor-1", ending),
    ]


def test_nothing_held_is_shown_so_and_an_accept_syncs_nothing() -> None:
    """Without a refused run nothing is held; an admin's accept then runs no sync."""
    who = _Who(caller_of())
    app = FastAPI()
    outcome.install(app)
    app.include_router(held_router(who, Ingestion(_options, quiet=60.0)))
    client = TestClient(app)
    assert client.get("/sync/held").json()["held"] is False
    who.be(Role.ADMIN)
    answer = client.post("/sync/held/accept", json={"ending": 0})
    assert answer.json() == {"runs": 0, "recorded": 0, "waived": 0, "run_ids": []}
    assert client.post("/sync/held/accept", json={"ending": -1}).status_code == 422


class _Accepting(Ingestion):
    """An ingestion whose accepted run recorded one pending and one waived report."""

    def accept(self, caller: Caller, ending: int) -> list[SyncResult]:
        report = make_report("BROLF377", btm="3800101", day=date(2025, 6, 10))
        recorded = [
            Recorded("11111111-1111-4111-8111-111111111111", report, "derived", "m-1"),
            Recorded("22222222-2222-4222-8222-222222222222", report, "waived", "m-2"),
        ]
        return [SyncResult(LATER, 1, 1, 2, 2, recorded, 0, [], "run-1")]


def test_an_accept_counts_the_waived_reports_apart_as_the_command_line_does() -> None:
    """D-242: `recorded` counts the reports to approve and send; a waived one (rejected as
    it is recorded, never sent) is counted under `waived`, as `tenant accept-held` says
    "Recorded 1 report(s) as pending and 1 as waived"."""
    who = _Who(caller_of())
    who.be(Role.DOCTOR)
    app = FastAPI()
    outcome.install(app)
    app.include_router(held_router(who, _Accepting(_options, quiet=60.0)))
    answer = TestClient(app).post("/sync/held/accept", json={"ending": 3})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"runs": 1, "recorded": 1, "waived": 1, "run_ids": ["run-1"]}
    schema = app.openapi()["components"]["schemas"]["AcceptedOut"]
    assert {"recorded", "waived"} <= set(schema["required"])
