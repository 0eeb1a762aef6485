"""A service for the tests: `create_app` on a registry and stores held in memory, two
tenants (alpha, beta) with data of their own and a key of every role each."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapter.api.app import create_app
from adapter.domain.reconcile import Planned
from adapter.services import fhir_resources, tenants
from adapter.services.submit import Sealing, submit
from adapter.settings.service import JwtSettings, ServiceSettings
from adapter.store.memory.registry import MemoryRegistry
from adapter.store.registry import Role, Tenant
from adapter.store.workspace import Store, Workspace
from tests.api.handover_data import open_handover
from tests.storage import ACTOR, NOW, empty_postgresql, make_twin
from tests.store.helpers import reference
from tests.submission.seeding import approved, report

TENANTS = ("alpha", "beta")


@dataclass
class TenantData:
    store: Store
    keys: dict[Role, str]  # role → the whole key
    pending: list[str]  # ledger ids of pending reports
    batch_id: str  # a sealed batch in the outbox
    patient_id: str = ""  # a Patient pushed to its /fhir (logical id, version 1)
    code: str = ""  # the code of the first pending report's patient (a duplicate notice's)
    handover_id: str = ""  # an open handover received (tests/api/handover_data.py)


@dataclass
class Service:
    app: FastAPI
    registry: MemoryRegistry
    tenants: dict[str, TenantData] = field(default_factory=dict)

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)

    def auth(self, tenant: str, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tenants[tenant].keys[role]}"}


def pending(store: Store, count: int, *, first: int = 500) -> list[str]:
    """`count` pending reports, each of its own patient, as sync records them (the code
    kept with the patient's mapping row, as sync keeps it: a lookup finds it)."""

    def work(space: Workspace) -> list[str]:
        ids = []
        for number in range(first, first + count):
            row, _ = space.mappings.find_or_create(reference(f"q{number}"))
            made = report(number, "1234567")
            ledger_id = space.ledger.record(Planned(row.mapping_id, made), row.dek_id)
            space.mappings.record_use(row, codes=(made.patient_code or "",))
            assert ledger_id is not None
            ids.append(ledger_id)
        return ids

    return store.run(ACTOR, work)


def make_service(sealing: Sealing, *, jwt: JwtSettings | None = None) -> Service:
    registry = MemoryRegistry()
    stores: dict[str, Store] = {}
    settings = ServiceSettings(home=Path("/nonexistent"), postgresql_url=None, jwt=jwt)
    app = create_app(settings, registry=registry, open_store=stores.__getitem__, clock=lambda: NOW)
    service = Service(app, registry)
    for number, tenant_id in enumerate(TENANTS):
        store, _ = make_twin()
        stores[tenant_id] = store
        registry.add_tenant(Tenant(tenant_id, None, NOW))
        keys = {
            role: tenants.issue_key(registry, store, ACTOR, tenant_id, role=role, now=NOW)[1]
            for role in Role
        }
        approved(store, 2, doctors=("1234567",))
        (batch,) = submit(store, ACTOR, sealing).batches
        patient_id = f"p-{tenant_id}"
        fhir_resources.update(
            store,
            ACTOR,
            "Patient",
            patient_id,
            {"resourceType": "Patient", "id": patient_id},
            if_match=None,
        )
        first = 500 + 100 * number  # codes of their own: a notice of one is not the other's
        service.tenants[tenant_id] = TenantData(
            store,
            keys,
            pending(store, 3, first=first),
            batch.batch_id,
            patient_id,
            report(first, "1234567").patient_code or "",
            open_handover(store),
        )
    return service


def service_environment(kind: str, home: Path, actor: str) -> Iterator[dict[str, str]]:
    """The environment of a real `substreg` process: none of this machine's SUBSTREG_*
    settings, its own home and actor, and on PostgreSQL an empty database of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBSTREG_")}
    env |= {"SUBSTREG_HOME": str(home), "SUBSTREG_ACTOR": actor}
    if kind == "sqlite":
        yield env
    else:
        for url in empty_postgresql():
            yield env | {"SUBSTREG_DATABASE_URL": url}
