"""The service's own routes do what the CLI's commands do, on the caller's tenant: the
ledger's reports, their approval, the findings of the last syncs, the outbox, the
tenant's keys; and the operations routes (request ids, metrics without ids, readiness)."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from fastapi import Request

from adapter.api.findings import remember
from adapter.domain.model import Finding
from adapter.errors import DatabaseError, KeyringError
from adapter.services.sync import SyncResult
from adapter.store.registry import Role
from adapter.store.workspace import Workspace
from tests.api.service import Service


def _audit(service: Service, tenant: str) -> list[tuple[str, str, str]]:
    def read(space: Workspace) -> list[tuple[str, str, str]]:
        return [
            (str(e["action"]), str(e["actor"]), str(e["role"])) for e in space.audit.rows.entries()
        ]

    return service.tenants[tenant].store.read(read)


def test_a_doctor_approves_and_rejects_pending_reports_audited_under_the_key(
    service: Service,
) -> None:
    client, alpha = service.client(), service.tenants["alpha"]
    doctor = service.auth("alpha", Role.DOCTOR)
    first, second = alpha.pending[:2]
    approved = client.post(f"/reports/{first}/approve", headers=doctor)
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    again = client.post(f"/reports/{first}/approve", headers=doctor)
    assert again.status_code == 409 and again.json()["issue"][0]["code"] == "conflict"
    no_reason = client.post(f"/reports/{second}/reject", headers=doctor)
    assert no_reason.status_code == 422  # JSON, but not what the route takes
    assert no_reason.json()["issue"][0]["expression"] == ["body"]
    rejected = client.post(f"/reports/{second}/reject", headers=doctor, json={"reason": "dup"})
    assert rejected.json()["state"] == "rejected"
    key_id = alpha.keys[Role.DOCTOR].split("_")[1]
    decisions = [a for a in _audit(service, "alpha") if a[0].startswith("report.")]
    assert decisions == [
        ("report.approve", f"key-{key_id}", "api-doctor"),
        ("report.reject", f"key-{key_id}", "api-doctor"),
    ]
    pending = client.get("/reports", params={"state": "pending"}, headers=doctor).json()
    assert [r["ledger_id"] for r in pending["reports"]] == alpha.pending[2:]


def test_showing_a_report_gives_its_payload_and_is_audited(service: Service) -> None:
    client, alpha = service.client(), service.tenants["alpha"]
    shown = client.get(f"/reports/{alpha.pending[0]}", headers=service.auth("alpha", Role.STAFF))
    assert shown.status_code == 200
    body = shown.json()
    assert body["payload"]["kind"] == body["kind"] and body["shredded"] is False
    assert ("report.show", f"key-{alpha.keys[Role.STAFF].split('_')[1]}", "api-staff") in (
        _audit(service, "alpha")
    )
    missing = client.get("/reports/nothing-here", headers=service.auth("alpha", Role.STAFF))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/fhir+json")


def test_the_outbox_shows_the_tenants_batch_and_its_reports(service: Service) -> None:
    client, alpha = service.client(), service.tenants["alpha"]
    shown = client.get(f"/outbox/{alpha.batch_id}", headers=service.auth("alpha", Role.STAFF))
    assert shown.status_code == 200
    body = shown.json()
    assert body["state"] == "sealed" and body["reports"] == len(body["report_items"]) == 2
    assert client.get(
        "/outbox?state=acknowledged", headers=service.auth("alpha", Role.STAFF)
    ).json() == {"batches": []}


def test_findings_of_the_last_syncs_are_the_callers_tenants_newest_first(
    service: Service,
) -> None:
    def result(rule: str) -> SyncResult:
        finding = Finding("warning", rule, "something to look at", ("Patient/p1",))
        return SyncResult(date(2026, 11, 30), 1, 1, 1, 0, [], 0, [finding], run_id=f"run-{rule}")

    request = Request({"type": "http", "app": service.app})
    remember(request, "alpha", "push", result("R-A-1"))
    remember(request, "alpha", "pull", result("R-A-2"))
    remember(request, "beta", "push", result("R-B-1"))
    client = service.client()
    runs = client.get("/findings", headers=service.auth("alpha", Role.STAFF)).json()["runs"]
    assert [(r["run_id"], r["source"]) for r in runs] == [
        ("run-R-A-2", "pull"),
        ("run-R-A-1", "push"),
    ]
    assert runs[0]["findings"][0]["sources"] == ["Patient/p1"]
    beta = client.get("/findings", headers=service.auth("beta", Role.DOCTOR)).json()["runs"]
    assert [r["run_id"] for r in beta] == ["run-R-B-1"]


def test_an_admin_issues_a_key_that_works_and_revokes_it(service: Service) -> None:
    client = service.client()
    admin = service.auth("alpha", Role.ADMIN)
    made = client.post("/tenant/keys", headers=admin, json={"role": "staff"})
    assert made.status_code == 201
    key, key_id = made.json()["key"], made.json()["key_id"]
    assert key_id in key and service.registry.key(key_id).digest not in key  # type: ignore[union-attr]
    header = {"Authorization": f"Bearer {key}"}
    assert client.get("/reports", headers=header).status_code == 200
    assert client.delete(f"/tenant/keys/{key_id}", headers=admin).json()["revoked_at"]
    assert client.get("/reports", headers=header).status_code == 401
    actions = [a[0] for a in _audit(service, "alpha")]
    assert actions.count("service.key_issued") == 4 and actions.count("service.key_revoked") == 1


def test_each_answer_carries_a_request_id_and_metrics_name_route_templates_only(
    service: Service,
) -> None:
    client, alpha = service.client(), service.tenants["alpha"]
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "no spaces\nor newlines"})
    assert len(made.headers["x-request-id"]) == 32  # not taken: a new one
    client.get(f"/reports/{alpha.pending[0]}", headers=service.auth("alpha", Role.STAFF))
    client.get("/reports/unknown-id?state=x", headers=service.auth("alpha", Role.STAFF))
    metrics = client.get("/metrics").text
    assert 'route="/reports/{ledger_id}"' in metrics
    assert alpha.pending[0] not in metrics and "unknown-id" not in metrics
    assert "alpha" not in metrics  # no tenant label either


def test_ready_only_when_every_tenants_keyring_can_be_opened(service: Service) -> None:
    client = service.client()
    assert client.get("/readyz").json() == {"status": "ready"}

    def missing() -> None:
        msg = "the keyring file is missing"
        raise KeyringError(msg)

    service.tenants["beta"].store._keyring = missing  # type: ignore[assignment,method-assign]
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["issue"][0]["diagnostics"].startswith("not ready: 1 tenant(s) ")
    assert "beta" not in answer.text and "keyring" not in answer.text  # D-207
    assert client.get("/healthz").status_code == 200


def test_readyz_names_no_tenant_nor_path_and_logs_which_without_the_path(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    """Without credentials /readyz counts what cannot be used; the log names the tenant
    and the error's kind, neither names the keyring's path (D-207)."""

    def missing() -> None:
        msg = "the keyring file /srv/substreg/tenants/alpha/keyring.json is missing"
        raise KeyringError(msg)

    for tenant in ("alpha", "beta"):
        service.tenants[tenant].store._keyring = missing  # type: ignore[assignment,method-assign]
    caplog.set_level(logging.INFO)
    answer = service.client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["issue"][0]["diagnostics"].startswith("not ready: 2 tenant(s) ")
    assert "alpha" not in answer.text and "/srv" not in answer.text
    logged = "\n".join(r.getMessage() for r in caplog.records if "not ready" in r.getMessage())
    assert "tenant alpha (KeyringError)" in logged and "tenant beta" in logged
    assert "/srv" not in logged


def test_not_ready_when_the_registry_cannot_be_read(service: Service) -> None:
    def down() -> None:
        msg = "the service's registry cannot be read (connection refused)"
        raise DatabaseError(msg)

    service.registry.ping = down  # type: ignore[method-assign]
    answer = service.client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["issue"][0]["diagnostics"].startswith("not ready: the registry ")
    assert "connection refused" not in answer.text


def test_an_unexpected_error_is_a_500_that_says_nothing_of_its_cause(service: Service) -> None:
    def broken(_tenant: str) -> None:
        msg = "Patient/secret-id could not be read"
        raise RuntimeError(msg)

    service.registry.tenant = broken  # type: ignore[method-assign,assignment]
    answer = service.client().get("/reports", headers=service.auth("alpha", Role.STAFF))
    assert answer.status_code == 500
    assert answer.json()["issue"] == [
        {"severity": "fatal", "code": "exception", "diagnostics": "internal error"}
    ]
    assert "secret-id" not in answer.text
