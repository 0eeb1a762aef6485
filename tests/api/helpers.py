"""A tiny app around `fhir_router` for one tenant, and FHIR JSON to push to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapter.api import outcome
from adapter.api.fhir.router import fhir_router
from adapter.api.ingestion import Ingestion
from adapter.api.tenancy import Caller, Role
from adapter.fhir.items import Entry
from adapter.fhir.source import read_paths
from adapter.mappings import load_mappings
from adapter.settings.practice import PracticeConfig
from adapter.store.workspace import Store
from tests.storage import ACTOR, make_twin

FHIR_JSON = "application/fhir+json"
HEADERS = {"Content-Type": FHIR_JSON}
MAPPINGS = load_mappings()
Json = dict[str, Any]


def caller_of(store: Store | None = None, config: PracticeConfig | None = None) -> Caller:
    """The one tenant of the tiny app, on the twin unless a store is given."""
    return Caller(
        tenant="praxis-1",
        role=Role.STAFF,
        actor=ACTOR,
        store=store if store is not None else make_twin()[0],
        config=config or PracticeConfig(),
        mappings=MAPPINGS,
    )


def client_of(caller: Caller, ingestion: Ingestion | None = None) -> TestClient:
    """`/fhir` for `caller` with the service's error answers (OperationOutcome)."""
    app = FastAPI()
    outcome.install(app)
    app.include_router(fhir_router(lambda: caller, ingestion=ingestion), prefix="/fhir")
    return TestClient(app)


def patient(identifier: str | None = None, family: str = "Reuter", **more: Any) -> Json:
    resource: Json = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": ["Thomas"]}],
        "gender": "male",
        "birthDate": "1979-04-12",
        **more,
    }
    if identifier is not None:
        resource["identifier"] = [{"system": "https://pvs.example/sid/pid", "value": identifier}]
    return resource


def post(client: TestClient, url: str, body: Json, **headers: str) -> Any:
    return client.post(url, content=orjson.dumps(body), headers={**HEADERS, **headers})


def put(client: TestClient, url: str, body: Json, **headers: str) -> Any:
    return client.put(url, content=orjson.dumps(body), headers={**HEADERS, **headers})


def transactions(paths: list[Path], size: int = 250) -> Iterator[Json]:
    """The resources of files and folders as transaction Bundles of PUTs (the EHR's own
    ids; a `urn:uuid:` fullUrl kept, so that the transaction resolves what refers to it),
    `size` entries each, in the order read."""
    entries = [
        {
            **({"fullUrl": i.full_url} if i.full_url else {}),
            "resource": i.resource,
            "request": {"method": "PUT", "url": f"{i.resource['resourceType']}/{i.resource['id']}"},
        }
        for i in read_paths(paths)
        if isinstance(i, Entry)
    ]
    for start in range(0, len(entries), size):
        yield {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": entries[start : start + size],
        }


def as_of_of(case: Path) -> str:
    return str(json.loads((case / "expected.json").read_text())["as_of"])
