"""Topic-based subscription notifications (issue 13.3): handshake and heartbeat noted,
full-resource ingested, id-only read from the EHR's server by the pull connector; the
use case on the twin, and `POST /fhir/notifications` on a tiny app with a Caller."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapter.api.notifications import PATH, notifications_router
from adapter.api.tenancy import Caller, Role
from adapter.connect.client import FhirClient
from adapter.errors import InputError, SourceError
from adapter.services.notifications import Received, receive
from adapter.services.pull import IDS_PER_SEARCH
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


def _named(administrations: int | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Thomas Reuter's resources (and the practice's) and their `Type/id` references;
    with `administrations`, only the last so many of his 359 MedicationAdministrations (where
    reading each one by one is what a test proves, not the size)."""
    resources = of_patient(demo_resources(), REUTER)
    if administrations is not None:
        given = [r for r in resources if r["resourceType"] == "MedicationAdministration"]
        cut = {id(r) for r in given[: len(given) - administrations]}  # keep the latest
        resources = [r for r in resources if id(r) not in cut]
    return resources, [f"{r['resourceType']}/{r['id']}" for r in resources]


def _searches(refs: list[str]) -> int:
    """The requests of reading `refs` by `_id` searches: per type, one per 50 ids."""
    per_type = Counter(ref.split("/")[0] for ref in set(refs))
    return sum(math.ceil(n / IDS_PER_SEARCH) for n in per_type.values())


def _in_full(ring: Any, resources: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """What the same resources sent in full make: the resources synced, the ledger."""
    store, _ = make_twin(ring)
    bundle = notification("event-notification", resources=resources)
    synced = receive(store, ACTOR, bundle, _opts()).synced
    assert synced is not None
    return synced.resources, ledger(store)


def _same(store: Store, ring: Any, received: Received, resources: list[dict[str, Any]]) -> None:
    """`received` synced every one of `resources`, into the ledger they make in full."""
    assert received.synced is not None
    assert (received.synced.resources, ledger(store)) == _in_full(ring, resources)
    assert ledger(store) != []


def _by_id(
    served: Served, refs: list[str], source: FhirClient | None = None
) -> tuple[Any, Any, Received]:
    store, ring = make_twin()
    served.state.requests.clear()
    received = receive(
        store,
        ACTOR,
        notification("event-notification", events=len(refs), focus=refs),
        _opts(),
        source=lambda: source or client(served.base),
    )
    return store, ring, received


def test_an_id_only_notification_makes_the_connector_read_the_named_resources(
    fhir_server: Served,
) -> None:
    """The focus references are read from the EHR's server by `_id` searches, per type at
    most 50 ids a request: one patient's ~380 resources in 15 requests, not 380. The ledger
    is the one the same resources sent in full make."""
    resources, refs = _named()
    assert len(refs) > 300
    store, ring, received = _by_id(fhir_server, refs)
    assert received.content == "id-only"
    requests = fhir_server.state.requests
    assert len(requests) == _searches(refs) == 15
    assert all("_id=" in r.query for r in requests)
    assert received.synced is not None
    assert not any("gone" in f.message or "_id" in f.message for f in received.synced.findings)
    _same(store, ring, received, resources)


def test_a_server_that_refuses_the_id_search_has_every_resource_read_one_by_one(
    fhir_server: Served,
) -> None:
    """A 400 to the `_id` search: each type is searched once (60 administrations: two
    batches, one search), then its resources are read one at a time; every one comes,
    the ledger is the same, and a finding says so without an id."""
    resources, refs = _named(administrations=60)
    fhir_server.state.refuse_id_search = True
    store, ring, received = _by_id(fhir_server, refs)
    types = {ref.split("/")[0] for ref in refs}
    requests = fhir_server.state.requests
    assert len(requests) == len(types) + len(refs)
    assert sum("_id=" in r.query for r in requests) == len(types)
    assert received.synced is not None
    note = next(f for f in received.synced.findings if "_id" in f.message)
    assert (note.severity, note.rule) == ("info", "INPUT")
    assert all(kind in note.message for kind in types)
    assert REUTER not in note.message and "/" not in note.message.split("(")[0]
    _same(store, ring, received, resources)


@pytest.mark.parametrize("searchable", [True, False], ids=["by-id", "one-by-one"])
def test_a_named_resource_the_server_no_longer_has_is_gone_as_a_404_was(
    fhir_server: Served, searchable: bool
) -> None:
    """Not found by its `_id` (or 404 read one at a time): counted in the one warning,
    and the rest synced as if it had not been named."""
    resources, refs = _named(administrations=60)
    fhir_server.state.refuse_id_search = not searchable
    missing = ["MedicationAdministration/no-such-one", "Patient/no-such-one"]
    store, ring, received = _by_id(fhir_server, [*refs, *missing])
    assert received.synced is not None
    gone = [f for f in received.synced.findings if "gone" in f.message]
    assert [(f.severity, f.message.split(" ")[0]) for f in gone] == [("warning", "2")]
    _same(store, ring, received, resources)


def test_absolute_urls_on_the_server_are_searched_and_one_named_twice_is_read_once(
    fhir_server: Served,
) -> None:
    resources, refs = _named()
    absolute = [f"{fhir_server.base}/{ref}" for ref in refs[::2]]
    mixed = absolute + refs[1::2] + refs[:7]
    store, ring, received = _by_id(fhir_server, mixed)
    assert len(fhir_server.state.requests) == _searches(refs)
    _same(store, ring, received, resources)


def test_a_reference_to_another_server_is_refused_before_anything_is_read(
    fhir_server: Served,
) -> None:
    _, refs = _named()
    elsewhere = "https://other.example/fhir/Patient/1001"
    with pytest.raises(SourceError, match=r"a link to another server \(other.example\)"):
        _by_id(fhir_server, [*refs, elsewhere])
    assert fhir_server.state.requests == []


def test_the_id_searches_follow_next_links_are_paced_and_wait_out_retry_after(
    fhir_server: Served,
) -> None:
    """A server that pages 20 matches at a time: the searches follow `Bundle.link` next;
    a 429 and a 503 with Retry-After are waited out; at 50 requests a second, N requests
    take at least (N - 1) / 50 s (a lower bound, which a slow machine cannot make fail)."""
    resources, refs = _named()
    state = fhir_server.state
    state.max_count = 20
    state.busy = [(429, "0"), (503, "0")]
    source = client(fhir_server.base, rate=50)
    started = time.monotonic()
    store, ring, received = _by_id(fhir_server, refs, source)
    elapsed = time.monotonic() - started
    per_type = Counter(ref.split("/")[0] for ref in refs)
    pages = sum(
        math.ceil(min(IDS_PER_SEARCH, n - start) / 20)
        for n in per_type.values()
        for start in range(0, n, IDS_PER_SEARCH)
    )
    assert len(state.requests) == pages + 2
    assert sum("_getpages=" in r.query for r in state.requests) == pages - _searches(refs)
    assert source.requests == len(state.requests)
    assert elapsed >= (source.requests - 1) / 50
    _same(store, ring, received, resources)


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
    # The EHR's protection (5 requests a second by default, D-134) is tested in
    # test_connect.py; here it would only make the test wait.
    unpaced = PullConfig(server=server, requests_per_second=500) if server else None
    config = replace(opts.config, pull=unpaced)
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
    fhir_server.state.requests.clear()
    answer = _app(store, server=fhir_server.base).post(
        PATH, json=notification("event-notification", events=len(refs), focus=refs, r5=True)
    )
    assert answer.status_code == 200, answer.text
    assert "id-only:" in answer.json()["issue"][0]["diagnostics"]
    assert ledger(store)
    assert len(fhir_server.state.requests) == _searches(refs)


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
