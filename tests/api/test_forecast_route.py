"""`GET /forecast` (issue 14 item 4, D-190): the forecast of what sync keeps of a tenant is
the CLI's forecast of the same files, with each patient named by its pseudonym; audited;
on the twin, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapter.api import outcome
from adapter.api.fhir.router import fhir_router
from adapter.api.forecast import ForecastOut, forecast_router
from adapter.api.ingestion import Ingestion
from adapter.api.tenancy import Caller
from adapter.export.forecast import forecast_json
from adapter.services.forecast import forecast
from adapter.services.sync_plan import SyncOptions
from adapter.settings.practice import load_config
from adapter.store.mappings import canonical_reference
from adapter.store.registry import Role
from adapter.store.workspace import Store, Workspace
from tests.api.helpers import caller_of, post, transactions
from tests.api.service import Service
from tests.cli_helpers import CONFIG, DEMO, REUTER
from tests.forecast.test_cli_forecast import demo_people
from tests.storage import ACTOR, Database, make_store, make_twin
from tests.sync.helpers import run_sync

AS_OF = date(2025, 12, 31)
DEMO_PATIENTS = [f"Patient/{n}" for n in range(1001, 1013)]


def _client(caller: Caller, ingestion: Ingestion | None = None) -> TestClient:
    """The forecast, and with an ingestion the FHIR endpoint it syncs pushes from."""
    app = FastAPI()
    outcome.install(app)
    app.include_router(forecast_router(lambda: caller))
    if ingestion is not None:
        app.include_router(fhir_router(lambda: caller, ingestion=ingestion), prefix="/fhir")
    return TestClient(app, raise_server_exceptions=False)


def _synced(store: Store) -> Caller:
    """The demo practice synced as of 2025-12-31, and a caller of its store."""
    config = load_config(CONFIG)
    run_sync(store, [DEMO], AS_OF, config=config)
    return caller_of(store, config)


def _pseudonyms(caller: Caller) -> dict[str, str]:
    """Each demo patient's resource key → its mapping id, as the mapping rows hold it."""
    base = caller.config.ehr_base_url

    def read(space: Workspace) -> dict[str, str]:
        found = {}
        for key in DEMO_PATIENTS:
            row = space.mappings.find(canonical_reference(base, key.split("/")[1]))
            if row is not None:
                found[key] = row.mapping_id
        return found

    return caller.store.read(read)


def _same_as_the_cli(caller: Caller, client: TestClient | None = None) -> None:
    client = client or _client(caller)
    answer = client.get("/forecast", params={"as_of": "2025-12-31", "days": 30})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    expected = forecast([DEMO], as_of=AS_OF, days=30, config=caller.config)
    renamed = replace(expected.renamed(_pseudonyms(caller)), ledger=True)  # D-226
    assert answer.json() == orjson.loads(forecast_json(renamed))
    assert len(answer.json()["deadlines"]) == 5
    ForecastOut.model_validate(answer.json())  # the shape the OpenAPI schema documents
    assert "Patient/" not in answer.text  # never the EHR's id of a patient
    assert REUTER in answer.text  # the codes as the CLI shows them (D-190)


def test_the_forecast_of_the_synced_data_is_the_cli_forecast_by_pseudonym() -> None:
    """On the twin: the same document as `substreg forecast --format json` of the demo
    files, each patient named by its mapping id instead of its Patient id."""
    _same_as_the_cli(_synced(make_twin()[0]))


@pytest.mark.parametrize("runs", ["once", "after-each-push"])
def test_the_forecast_of_the_pushed_demo_is_the_cli_forecast(runs: str) -> None:
    """The demo pushed to `/fhir` as transaction Bundles and synced once, or after each
    Bundle (each patient's archive then grows by deltas): the same forecast as of its files.
    No name or birth date of the demo's people is in it."""
    caller = caller_of(config=load_config(CONFIG))
    ingestion = Ingestion(lambda c: SyncOptions(AS_OF, c.config, c.mappings), quiet=60.0)
    client = _client(caller, ingestion)
    for bundle in transactions([DEMO], size=200):
        assert post(client, "/fhir", bundle).status_code == 200
        if runs == "after-each-push":
            ingestion.flush()
    ingestion.flush()
    assert ingestion.failures[caller.tenant] == 0
    _same_as_the_cli(caller, client)
    text = client.get("/forecast", params={"as_of": "2025-12-31", "days": 30}).text
    for name, birth_date in demo_people():
        assert name not in text and birth_date not in text


def test_the_forecast_of_the_synced_data_on_sql(database: Database) -> None:
    """The same on SQLite and PostgreSQL: the archives read back through the SQL rows."""
    _same_as_the_cli(_synced(make_store(database.url)[0]))


def test_showing_the_forecast_is_audited_without_a_code() -> None:
    """One `forecast.show` entry with the day, the horizon and the open phases' count."""
    caller = _synced(make_twin()[0])
    assert _client(caller).get("/forecast", params={"as_of": "2025-12-31"}).status_code == 200

    def read(space: Workspace) -> list[dict[str, object]]:
        return list(space.audit.rows.entries(action="forecast.show"))

    [entry] = caller.store.run(ACTOR, read)
    assert '"days":14' in str(entry["details"]) and '"as_of":"2025-12-31"' in str(entry["details"])
    assert REUTER not in repr(entry) and "Patient/" not in repr(entry)


def test_the_day_is_today_in_berlin_by_default_and_the_horizon_is_bounded() -> None:
    """Without `as_of` the store's today (2026-12-01); 0 or 367 days is a 400 that names
    the parameter."""
    client = _client(_synced(make_twin()[0]))
    assert client.get("/forecast").json()["as_of"] == "2026-12-01"
    for days in (0, 367):
        answer = client.get("/forecast", params={"days": days})
        assert answer.status_code == 400
        assert answer.json()["issue"][0]["expression"] == ["query.days"]


def test_nothing_synced_is_an_empty_forecast() -> None:
    """A tenant whose data sync has not read yet: no deadline, no open phase."""
    answer = _client(caller_of()).get("/forecast", params={"as_of": "2025-12-31"}).json()
    assert (answer["deadlines"], answer["open_phases"]) == ([], [])


@pytest.mark.parametrize("role", [Role.STAFF, Role.DOCTOR], ids=str)
def test_a_tenant_sees_only_its_own_forecast(service: Service, role: Role) -> None:
    """Alpha synced the demo, beta did not: beta's forecast is empty, alpha's is not."""
    run_sync(service.tenants["alpha"].store, [DEMO], AS_OF)
    client = service.client()
    params = {"as_of": "2025-12-31"}
    alpha = client.get("/forecast", params=params, headers=service.auth("alpha", role)).json()
    beta = client.get("/forecast", params=params, headers=service.auth("beta", role)).json()
    assert alpha["open_phases"] and not beta["open_phases"] and not beta["deadlines"]


def test_the_forecast_says_which_reports_are_withheld_for_want_of_a_btm_number() -> None:
    """A tenant whose doctors lack their BtM numbers: `findings` carries derive's R-DOC-1
    error and each open phase is `withheld` (D-252), as the OpenAPI model documents."""
    store = make_twin()[0]
    config = replace(load_config(CONFIG), doctors={})
    run_sync(store, [DEMO], AS_OF, config=config)
    answer = _client(caller_of(store, config)).get(
        "/forecast", params={"as_of": "2025-12-20", "days": 30}
    )
    assert answer.status_code == 200, answer.text
    document = ForecastOut.model_validate(answer.json())
    assert {f.rule for f in document.findings} == {"R-DOC-1"}
    assert all(p.withheld for p in document.open_phases)
    assert "Patient/" not in answer.text
