"""Pushed resources belong to their patient: ingestion notes whose each is as sync filed
it, and retention forgets them with the patient (D-131, PRIVACY.md "Keys")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from adapter.services.ingest import ingest_pushed
from adapter.services.retention import apply_retention
from adapter.services.sync_plan import SyncOptions
from adapter.settings.practice import load_config
from adapter.store.mappings import canonical_reference
from adapter.store.workspace import Store, Workspace
from tests.api.helpers import MAPPINGS, caller_of, client_of, post, transactions
from tests.storage import ACTOR, NOW
from tests.sync.helpers import mapping_of, run_sync
from tests.usecases.conftest import Clock, twin_store

DEMO = Path(__file__).resolve().parents[2] / "demo"
CONFIG = load_config(DEMO / "practice.toml")


def _owners(space: Workspace, names: list[tuple[str, str]]) -> list[str | None]:
    found = []
    for kind, logical_id in names:
        located = space.resources.locate(kind, logical_id)
        assert located is not None
        row = space.resources.rows.get(located.resource_id)
        assert row is not None
        found.append(row["owner"])
    return found


def test_ingestion_notes_the_patient_each_resource_belongs_to() -> None:
    """Patient 1001 and its administrations are its mapping's; the practice's own
    Organization is nobody's."""
    caller = caller_of(config=CONFIG)
    client = client_of(caller)
    for bundle in transactions([DEMO], size=2_000):
        assert post(client, "/fhir", bundle).status_code == 200
    options = SyncOptions(as_of=date(2025, 12, 31), config=CONFIG, mappings=MAPPINGS)
    assert ingest_pushed(caller.store, ACTOR, options)
    mapping = mapping_of(caller.store, "1001", CONFIG.ehr_base_url)
    names = [
        ("Patient", "1001"),
        ("MedicationAdministration", "ma-1001-20250107"),
        ("Organization", "praxis-lindenplatz"),
    ]
    assert caller.store.read(lambda space: _owners(space, names)) == [mapping, mapping, None]


def test_retention_forgets_the_pushed_resources_of_the_patients_it_shreds() -> None:
    """Ten years on, the treatments retention shreds take their pushed resources along
    (404 each, none owned any more); the practice's own resources stay."""
    clock = Clock(NOW)
    store = twin_store(clock)
    caller = caller_of(store, CONFIG)
    client = client_of(caller)
    for bundle in transactions([DEMO], size=2_000):
        assert post(client, "/fhir", bundle).status_code == 200
    options = SyncOptions(as_of=date(2025, 12, 31), config=CONFIG, mappings=MAPPINGS)
    assert ingest_pushed(store, ACTOR, options)
    patients = sorted(
        r["resource"]["id"]
        for b in transactions([DEMO], size=2_000)
        for r in b["entry"]
        if r["resource"]["resourceType"] == "Patient"
    )
    owner = {p: mapping_of(store, p, CONFIG.ehr_base_url) for p in patients if _mapped(store, p)}
    run_sync(store, [DEMO], date(2026, 1, 31), config=CONFIG, accept_mass_end=True)
    clock.now = clock.now.replace(year=2036, month=6)
    run_sync(store, [DEMO], date(2036, 6, 1), config=CONFIG)
    done = apply_retention(store, ACTOR, clock_checked=True)
    shredded = {p for p, m in owner.items() if m in done.shredded}
    assert shredded == set(owner)  # ten years on, every treatment of 2025 is past
    assert client.get("/fhir/MedicationAdministration/ma-1001-20250107").status_code == 404
    for patient in patients:
        status = client.get(f"/fhir/Patient/{patient}").status_code
        assert status == (404 if patient in shredded else 200), patient
    assert client.get("/fhir/Organization/praxis-lindenplatz").status_code == 200

    def owned(space: Workspace) -> int:
        return sum(len(space.resources.rows.owned_by(m)) for m in done.shredded)

    assert store.read(owned) == 0


def _mapped(store: Store, patient: str) -> bool:
    def find(space: Workspace) -> bool:
        reference = canonical_reference(CONFIG.ehr_base_url, patient)
        return space.mappings.find(reference) is not None

    return store.run(ACTOR, find)
