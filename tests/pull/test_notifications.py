"""Topic-based subscription notifications (issue 13.3): handshake and heartbeat noted,
full-resource ingested, id-only read from the EHR's server by the pull connector; the
use case on the twin, and `POST /fhir/notifications` on a tiny app with a Caller."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapter.api.notifications import PATH, notifications_router
from adapter.api.tenancy import Caller, Role
from adapter.errors import InputError, SourceError
from adapter.services.notifications import receive
from adapter.settings.pull import PullConfig
from adapter.store.audit import Actor
from adapter.store.workspace import Store
from tests.pull.conftest import Served
from tests.pull.fhir_server import demo_resources
from tests.pull.helpers import client, ledger, options
from tests.pull.notifications import SUBSCRIPTION, TOPIC, notification, of_patient
from tests.storage import ACTOR, NOW, make_twin

REUTER = "1001"  # Thomas Reuter, open on 2025-12-31 (demo/README.md)


def _opts() -> Any:
    return options()


def test_handshake_and_heartbeat_are_noted_without_personal_data() -> None:
    store, _ = make_twin()
    first = receive(store, ACTOR, notification("handshake"), _opts())
    assert (first.content, first.synced) == ("none", None)
    second = receive(store, ACTOR, notification("heartbeat", events=2, r5=True), _opts())
    seen = second.seen
    assert (seen.subscription, seen.topic, seen.last_type) == (SUBSCRIPTION, TOPIC, "heartbeat")
    assert (seen.events_since_start, seen.notifications) == (2, 2)
    assert ledger(store) == []


def test_a_full_resource_notification_is_ingested_and_its_focus_never_kept() -> None:
    store, _ = make_twin()
    resources = of_patient(demo_resources(), REUTER)
    focus = [f"Patient/{REUTER}"]
    received = receive(
        store,
        ACTOR,
        notification("event-notification", events=5, focus=focus, resources=resources),
        _opts(),
    )
    assert received.content == "full-resource"
    assert received.synced is not None and received.synced.recorded
    assert ledger(store)
    rows = store.read(lambda space: space.pull.rows.subscriptions())
    assert f"Patient/{REUTER}" not in repr(rows)
    entries = store.read(lambda space: space.audit.rows.entries())
    assert f"Patient/{REUTER}" not in repr(entries)


def test_an_id_only_notification_makes_the_connector_read_the_named_resources(
    fhir_server: Served,
) -> None:
    """The focus references are read from the EHR's server and synced: the ledger is the
    one the same resources sent in full make."""
    resources = of_patient(demo_resources(), REUTER)
    refs = [f"{r['resourceType']}/{r['id']}" for r in resources]
    by_id, ring = make_twin()
    fhir_server.state.requests.clear()
    received = receive(
        by_id,
        ACTOR,
        notification("event-notification", events=len(refs), focus=refs),
        _opts(),
        source=lambda: client(fhir_server.base),
    )
    assert received.content == "id-only"
    assert len(fhir_server.state.requests) == len(refs)
    in_full, _ = make_twin(ring)
    receive(in_full, ACTOR, notification("event-notification", resources=resources), _opts())
    assert ledger(by_id) == ledger(in_full) != []


def test_an_id_only_notification_without_a_server_is_refused_and_nothing_kept() -> None:
    store, _ = make_twin()
    with pytest.raises(SourceError, match=r"configure \[pull\] server"):
        receive(store, ACTOR, notification("event-notification", focus=["Patient/1001"]), _opts())
    assert store.read(lambda space: space.pull.subscriptions()) == []


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        ({"resourceType": "Patient"}, "the notification is no FHIR Bundle"),
        ({"resourceType": "Bundle", "type": "batch", "entry": []}, "Bundle.type: a notification"),
        (
            {"resourceType": "Bundle", "type": "history", "entry": []},
            "Bundle.entry[0]: a notification",
        ),
        (
            {
                "resourceType": "Bundle",
                "type": "history",
                "entry": [{"resource": {"resourceType": "Patient"}}],
            },
            "Bundle.entry[0].resource: the first entry must be a SubscriptionStatus",
        ),
    ],
)
def test_what_is_no_notification_is_named(bundle: dict[str, Any], message: str) -> None:
    store, _ = make_twin()
    with pytest.raises(InputError) as refused:
        receive(store, ACTOR, bundle, _opts())
    assert str(refused.value).startswith(message)


# -- over HTTP ----------------------------------------------------------------------------


def _app(store: Store, *, server: str | None = None) -> TestClient:
    opts = options()
    config = replace(opts.config, pull=PullConfig(server=server) if server else None)
    caller = Caller(
        tenant="praxis-demo",
        role=Role.STAFF,
        actor=Actor("ehr", "staff"),
        store=store,
        config=config,
        mappings=opts.mappings,
    )
    app = FastAPI()
    app.include_router(notifications_router(lambda: caller))
    return TestClient(app)


def _store_on_the_demo_day() -> Store:
    """A twin whose clock reads 2025-12-31, the demo's day (the route syncs as of today)."""
    store, _ = make_twin(clock=lambda: NOW.replace(year=2025, month=12, day=31))
    return store


def test_the_route_acknowledges_a_handshake_with_an_operation_outcome() -> None:
    http = _app(_store_on_the_demo_day())
    answer = http.post(PATH, json=notification("handshake"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/fhir+json"
    issue = answer.json()["issue"][0]
    assert (issue["severity"], issue["code"]) == ("information", "informational")
    assert issue["diagnostics"] == f"handshake of {SUBSCRIPTION} acknowledged"


def test_the_route_ingests_a_full_resource_notification() -> None:
    store = _store_on_the_demo_day()
    bundle = notification("event-notification", resources=of_patient(demo_resources(), REUTER))
    answer = _app(store).post(PATH, json=bundle)
    assert answer.status_code == 200, answer.text
    assert "full-resource:" in answer.json()["issue"][0]["diagnostics"]
    assert ledger(store)


def test_the_route_reads_id_only_notifications_from_the_configured_server(
    fhir_server: Served,
) -> None:
    store = _store_on_the_demo_day()
    refs = [f"{r['resourceType']}/{r['id']}" for r in of_patient(demo_resources(), REUTER)]
    answer = _app(store, server=fhir_server.base).post(
        PATH, json=notification("event-notification", events=len(refs), focus=refs, r5=True)
    )
    assert answer.status_code == 200, answer.text
    assert "id-only:" in answer.json()["issue"][0]["diagnostics"]
    assert ledger(store)


@pytest.mark.parametrize(
    ("body", "status", "code", "expression"),
    [
        (b"{not json", 400, "structure", None),
        (b'{"resourceType": "Bundle", "type": "batch"}', 422, "invalid", ["Bundle.type"]),
        (
            b'{"resourceType":"Bundle","type":"history","entry":[{"resource":'
            b'{"resourceType":"SubscriptionStatus","type":"event-notification","subscription":'
            b'{"reference":"Subscription/x"},"notificationEvent":[{"focus":{"reference":"Patient/1"}}]}}]}',
            501,
            "not-supported",
            None,
        ),
    ],
    ids=["not-json", "not-a-notification", "id-only-without-server"],
)
def test_the_route_answers_what_it_cannot_use_with_an_operation_outcome(
    body: bytes, status: int, code: str, expression: list[str] | None
) -> None:
    answer = _app(_store_on_the_demo_day()).post(
        PATH, content=body, headers={"Content-Type": "application/fhir+json"}
    )
    assert answer.status_code == status
    issue = answer.json()["issue"][0]
    assert (issue["severity"], issue["code"], issue.get("expression")) == (
        "error",
        code,
        expression,
    )
