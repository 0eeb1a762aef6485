"""The authorisation matrix (issue 13 item 7): for every route of the app — enumerated from
the app itself, so a route added later cannot escape — and every role and a second
tenant: nothing but the public operations routes answers without credentials, each role
does what the matrix (README "The service") allows and nothing else, and no tenant reads
or changes another's data."""

from __future__ import annotations

import re

import pytest

from adapter.api.operations import routes_of
from adapter.services import fhir_resources, tenants
from adapter.store.registry import Role
from tests.api.duplicates import notice
from tests.api.handover_data import export_body, import_body, synced
from tests.api.service import Service, TenantData
from tests.pull.notifications import notification
from tests.storage import ACTOR, NOW

STAFF, DOCTOR, ADMIN = Role.STAFF, Role.DOCTOR, Role.ADMIN
# Answer without credentials: they hold no tenant's data (D-124).
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}
# (method, route template) → the roles that may call it. The FHIR endpoint and the
# notifications (mounted at merge) get their rows here; until then the test below that
# demands a row for every route names them.
MATRIX: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/reports"): frozenset({STAFF, DOCTOR}),
    ("GET", "/reports/{ledger_id}"): frozenset({STAFF, DOCTOR}),
    ("POST", "/reports/{ledger_id}/approve"): frozenset({DOCTOR}),
    ("POST", "/reports/{ledger_id}/reject"): frozenset({DOCTOR}),
    ("POST", "/reports/inventory"): frozenset({DOCTOR}),
    ("POST", "/reports/blanket-deregistration/plan"): frozenset({DOCTOR}),
    ("POST", "/reports/blanket-deregistration"): frozenset({DOCTOR}),
    ("GET", "/findings"): frozenset({STAFF, DOCTOR}),
    ("GET", "/outbox"): frozenset({STAFF, DOCTOR}),
    ("GET", "/outbox/{batch_id}"): frozenset({STAFF, DOCTOR}),
    ("GET", "/tenant/keys"): frozenset({ADMIN}),
    ("POST", "/tenant/keys"): frozenset({ADMIN}),
    ("DELETE", "/tenant/keys/{key_id}"): frozenset({ADMIN}),
    ("GET", "/sync/held"): frozenset({STAFF, DOCTOR, ADMIN}),
    ("POST", "/sync/held/accept"): frozenset({DOCTOR, ADMIN}),
    ("POST", "/fhir/notifications"): frozenset({STAFF, DOCTOR}),
    ("GET", "/fhir/metadata"): frozenset({STAFF, DOCTOR}),
    ("POST", "/fhir"): frozenset({STAFF, DOCTOR}),
    ("POST", "/fhir/{kind}"): frozenset({STAFF, DOCTOR}),
    ("GET", "/fhir/{kind}/{logical_id}"): frozenset({STAFF, DOCTOR}),
    ("PUT", "/fhir/{kind}/{logical_id}"): frozenset({STAFF, DOCTOR}),
    ("DELETE", "/fhir/{kind}/{logical_id}"): frozenset({STAFF, DOCTOR}),
    ("GET", "/fhir/{kind}/{logical_id}/_history"): frozenset({STAFF, DOCTOR}),
    ("GET", "/fhir/{kind}/{logical_id}/_history/{vid}"): frozenset({STAFF, DOCTOR}),
    ("GET", "/forecast"): frozenset({STAFF, DOCTOR}),
    ("POST", "/duplicates"): frozenset({STAFF, DOCTOR}),  # D-191
    ("POST", "/duplicates/resolve"): frozenset({DOCTOR}),
    ("GET", "/duplicates"): frozenset({STAFF, DOCTOR}),  # D-233: no admin, as for import
    # The document names the person: a doctor's act (D-163, D-193).
    ("POST", "/handover/export"): frozenset({DOCTOR}),
    ("POST", "/handover/import"): frozenset({DOCTOR, ADMIN}),
    ("GET", "/handover"): frozenset({STAFF, DOCTOR, ADMIN}),
    ("POST", "/handover/{handover_id}/release"): frozenset({DOCTOR, ADMIN}),
    ("POST", "/handover/{handover_id}/return"): frozenset({DOCTOR, ADMIN}),
}
BODIES: dict[tuple[str, str], object] = {
    ("POST", "/reports/{ledger_id}/reject"): {"reason": "not ours"},
    ("POST", "/reports/inventory"): {"key_date": "2026-12-01"},
    ("POST", "/reports/blanket-deregistration/plan"): {"doctor": "1234567", "date": "2026-12-01"},
    ("POST", "/reports/blanket-deregistration"): {
        "doctor": "1234567",
        "date": "2026-12-01",
        "confirm": True,
    },
    ("POST", "/tenant/keys"): {"role": "staff"},
    ("POST", "/sync/held/accept"): {"ending": 0},
    ("POST", "/fhir/notifications"): notification("heartbeat", events=3),
    ("POST", "/fhir"): {"resourceType": "Bundle", "type": "batch", "entry": []},
    ("POST", "/fhir/{kind}"): {"resourceType": "Patient"},
    ("POST", "/handover/export"): lambda data: export_body(synced(data.store)),
    ("POST", "/handover/import"): lambda data: import_body(data.store),
    ("PUT", "/fhir/{kind}/{logical_id}"): lambda data: {
        "resourceType": "Patient",
        "id": data.patient_id,
    },
    ("POST", "/duplicates"): lambda data: notice(data.code),
    ("POST", "/duplicates/resolve"): lambda data: {
        "notice": notice(data.code),
        "continues": "different-people",
    },
}


def _body(route: tuple[str, str], data: TenantData) -> object:
    body = BODIES.get(route)
    return body(data) if callable(body) else body


def _routes(service: Service) -> set[tuple[str, str]]:
    return {(m, r.path) for r in routes_of(service.app) for m in r.methods if m != "HEAD"}


def _fill(template: str, data: TenantData, spare_key: str) -> str:
    """The template with ids of `data`'s tenant: rows that exist there."""
    values = {
        "ledger_id": data.pending[0],
        "batch_id": data.batch_id,
        "key_id": spare_key,
        "kind": "Patient",
        "logical_id": data.patient_id,
        "vid": "1",
        "handover_id": data.handover_id,
    }
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "x"), template)


def test_every_route_has_a_row_in_the_matrix(service: Service) -> None:
    """A new route is public on purpose or has its roles written down here."""
    unlisted = _routes(service) - PUBLIC - set(MATRIX)
    assert not unlisted, f"add these routes to MATRIX (or PUBLIC, documented): {unlisted}"


def test_nothing_but_the_public_routes_answers_without_valid_credentials(
    service: Service,
) -> None:
    """Without credentials, with a malformed, an unknown or a revoked key, and with a key
    whose secret is wrong: 401 and an OperationOutcome, for every non-public route."""
    client = service.client()
    alpha = service.tenants["alpha"]
    staff_key = alpha.keys[STAFF]
    revoked_id = staff_key.split("_")[1]
    service.registry.revoke_key(revoked_id, service.registry.key(revoked_id).created_at)  # type: ignore[union-attr]
    wrong_secret = alpha.keys[DOCTOR][:-4] + "AAAA"
    headers = [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer srk_0000000000000000_" + "A" * 43},
        {"Authorization": f"Bearer {staff_key}"},
        {"Authorization": f"Bearer {wrong_secret}"},
        {"Authorization": "Bearer a.b.c"},
    ]
    for method, template in sorted(_routes(service) - PUBLIC):
        path = _fill(template, alpha, "0" * 16)
        for header in headers:
            answer = client.request(
                method, path, headers=header, json=_body((method, template), alpha)
            )
            assert answer.status_code == 401, (method, template, header, answer.text)
            assert answer.json()["resourceType"] == "OperationOutcome"
            assert answer.headers["content-type"].startswith("application/fhir+json")


def test_the_public_routes_answer_without_credentials(service: Service) -> None:
    client = service.client()
    for method, path in sorted(PUBLIC):
        assert client.request(method, path).status_code == 200, path


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_role_does_what_the_matrix_allows_and_nothing_else(
    service: Service, route: tuple[str, str]
) -> None:
    """Each role of tenant alpha on alpha's own rows: the allowed ones succeed, the others
    are refused with 403 and change nothing (the roles that may not go first)."""
    method, template = route
    client = service.client()
    alpha = service.tenants["alpha"]
    spare = _spare_key(service, "alpha")
    path = _fill(template, alpha, spare)
    allowed = MATRIX[route]
    for role in sorted(Role, key=lambda r: r in allowed):  # refused roles first
        answer = client.request(
            method, path, headers=service.auth("alpha", role), json=_body(route, alpha)
        )
        if role in allowed:
            assert answer.status_code in (200, 201, 204), (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.json()["issue"][0]["code"] == "forbidden"
    assert _state(service, "alpha", alpha.pending[0]) == (
        "approved"
        if template.endswith("approve")
        else "rejected"
        if template.endswith("reject")
        else "pending"
    )


@pytest.mark.parametrize(
    "route",
    [r for r in sorted(MATRIX) if re.search(r"\{(?!kind\})", r[1])],  # a row's id in the URL
    ids=lambda r: f"{r[0]} {r[1]}",
)
def test_no_tenant_reaches_another_tenants_rows(service: Service, route: tuple[str, str]) -> None:
    """Alpha, in every role, asking for beta's rows by their ids: 404 (or 403 for a role
    that may not call the route at all), and beta's rows are as they were."""
    method, template = route
    client = service.client()
    beta = service.tenants["beta"]
    path = _fill(template, beta, _spare_key(service, "beta"))
    keys_before = [k.revoked_at for k in service.registry.keys("beta")]
    for role in Role:
        answer = client.request(
            method, path, headers=service.auth("alpha", role), json=_body(route, beta)
        )
        # A PUT of beta's id makes a resource of that id in alpha's own store (FHIR's
        # update-as-create): beta's stays as it was, checked below.
        found = {200, 201} if method == "PUT" else {404}
        expected = found if role in MATRIX[route] else {403}
        assert answer.status_code in expected, (role, answer.text)
    assert _state(service, "beta", beta.pending[0]) == "pending"
    versions = fhir_resources.history(beta.store, "Patient", beta.patient_id)["total"]
    assert versions == 1  # beta's Patient was neither changed nor deleted
    assert [k.revoked_at for k in service.registry.keys("beta")] == keys_before


def test_listings_show_the_callers_tenant_only(service: Service) -> None:
    client = service.client()
    for tenant, other in (("alpha", "beta"), ("beta", "alpha")):
        mine, theirs = service.tenants[tenant], service.tenants[other]
        # a notice of the other tenant's patient finds nobody here (D-191)
        found = client.post(
            "/duplicates", headers=service.auth(tenant, STAFF), json=notice(theirs.code)
        )
        assert found.status_code == 404 and found.json()["issue"][0]["code"] == "not-found"
        reports = client.get("/reports", headers=service.auth(tenant, STAFF)).json()["reports"]
        listed = {r["ledger_id"] for r in reports}
        assert set(mine.pending) <= listed and not listed & set(theirs.pending)
        batches = client.get("/outbox", headers=service.auth(tenant, DOCTOR)).json()["batches"]
        assert [b["batch_id"] for b in batches] == [mine.batch_id]
        keys = client.get("/tenant/keys", headers=service.auth(tenant, ADMIN)).json()["keys"]
        assert {k["key_id"] for k in keys} == {k.key_id for k in service.registry.keys(tenant)}


def _spare_key(service: Service, tenant: str) -> str:
    """The id of one more staff key of `tenant`, for the revoke route."""
    data = service.tenants[tenant]
    key, _ = tenants.issue_key(service.registry, data.store, ACTOR, tenant, role=STAFF, now=NOW)
    return key.key_id


def _state(service: Service, tenant: str, ledger_id: str) -> str:
    store = service.tenants[tenant].store
    return store.read(lambda space: space.ledger.entry(ledger_id).state)
