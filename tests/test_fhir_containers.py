"""Resources that carry resources: Parameters, history Bundles, DELETE and response entries
(INPUT.md 21, 23; adapter/fhir/containers.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from adapter.export.derivation import derivation_json
from adapter.fhir.containers import unpack
from adapter.fhir.source import Entry, Unreadable, read_paths
from adapter.services import derive
from tests.test_fhir_input import (
    CODE,
    administration,
    anmeldung,
    collection,
    keys,
    patient,
    practice,
    rules,
    run,
)

MORE = Path(__file__).resolve().parent / "fixtures" / "real" / "more"

Json = dict[str, Any]


def items(path: Path) -> list[Entry | Unreadable]:
    found = list(read_paths([path]))
    assert all(isinstance(i, Entry | Unreadable) for i in found)
    return found  # type: ignore[return-value]


def kinds(path: Path) -> list[tuple[str, str]]:
    return [(i.resource["resourceType"], i.where) for i in items(path) if isinstance(i, Entry)]


def derive_folder(folder: Path, as_of: str) -> Json:
    document: Json = json.loads(derivation_json(derive([folder], as_of=date.fromisoformat(as_of))))
    return document


def parameter(name: str, resource: Json | None = None, *parts: Json) -> Json:
    value: Json = {"name": name}
    if resource is not None:
        value["resource"] = resource
    if parts:
        value["part"] = list(parts)
    return value


# -- Parameters (INPUT.md 23) ---------------------------------------------------------------


def test_gematik_close_parameters_give_their_dispenses_and_medications() -> None:
    """`$close` input: each rxDispensation's parts are read, in document order."""
    name = "Parameters-ExampleCloseInputParametersMultipleMedicationDispenses.json"
    assert kinds(MORE / "erp-workflow-1.5.2" / name) == [
        ("MedicationDispense", f"{name} parameter 0 part 0"),
        ("Medication", f"{name} parameter 0 part 1"),
        ("MedicationDispense", f"{name} parameter 1 part 0"),
        ("Medication", f"{name} parameter 1 part 1"),
    ]


def test_epa_provide_dispensation_parameters_give_their_resources() -> None:
    """ePA `$provide-dispensation-erp`: value parts (identifier, date) are no resources."""
    name = "Parameters-example-epa-op-provide-dispensation-erp-input-parameters-1.json"
    found = kinds(MORE / "epa-medication" / name)
    assert [kind for kind, _ in found] == ["MedicationDispense", "Medication", "Organization"]


def test_a_treatment_sent_in_parameters_is_reported(tmp_path: Path) -> None:
    """Resources in parameters, nested parts and a Bundle inside a part all count."""
    resources = practice()
    person, doctor, prescription, *intake = resources
    data = {
        "resourceType": "Parameters",
        "parameter": [
            parameter("patient", person),
            parameter(
                "rxPrescription",
                None,
                parameter("practitioner", doctor),
                parameter("deeper", None, parameter("medicationRequest", prescription)),
            ),
            parameter("intake", collection(intake)),
            {"name": "prescriptionId", "valueIdentifier": {"value": "160.000.000.000.000.01"}},
        ],
    }
    document = run(tmp_path, data, "2025-03-10")
    assert keys(document) == [anmeldung("2025-03-03")]
    assert rules(document, "error") == set()


def test_parameters_nested_thousands_deep_do_not_exhaust_the_stack() -> None:
    """The walk keeps its own stack: 5000 nested parts give the resource at the bottom."""
    node = parameter("bottom", patient())
    for depth in range(5000):
        node = parameter(f"level-{depth}", None, node)
    found = list(unpack({"resourceType": "Parameters", "parameter": [node]}, None, "deep"))
    [entry] = found
    assert isinstance(entry, Entry)
    assert entry.resource["id"] == "p1"
    assert entry.where.count(" part ") == 5000


def test_broken_parameters_are_findings_naming_the_place(tmp_path: Path) -> None:
    """A parameter.resource without resourceType, a part that is no list: error findings."""
    data = {
        "resourceType": "Parameters",
        "parameter": [
            parameter("bad", {"id": "x"}),
            {"name": "odd", "part": {"name": "not a list"}},
            "not a parameter",
            parameter("patient", patient()),
        ],
    }
    path = tmp_path / "p.json"
    path.write_bytes(orjson.dumps(data))
    found = items(path)
    assert [(type(i).__name__, i.where) for i in found] == [
        ("Unreadable", "p.json parameter 0"),
        ("Unreadable", "p.json parameter 1"),
        ("Unreadable", "p.json parameter 2"),
        ("Entry", "p.json parameter 3"),
    ]


# -- history Bundles and entries without a resource (INPUT.md 21) ----------------------------


def _history(*versions: Json) -> Json:
    """A history Bundle of the versions as given (newest first, as servers send them)."""
    entries = [
        {
            "fullUrl": f"https://ehr.example/fhir/{v['resourceType']}/{v['id']}",
            "resource": v,
            "request": {"method": "PUT", "url": f"{v['resourceType']}/{v['id']}"},
            "response": {"status": "200"},
        }
        for v in versions
    ]
    return {"resourceType": "Bundle", "type": "history", "entry": entries}


def test_a_history_bundle_yields_its_versions_oldest_first(tmp_path: Path) -> None:
    """Newest first in the Bundle, oldest first for the reader; places keep their index."""
    versions = [patient(meta={"versionId": v}) for v in ("3", "2", "1")]
    path = tmp_path / "history.json"
    path.write_bytes(orjson.dumps(_history(*versions)))
    found = [i for i in items(path) if isinstance(i, Entry)]
    assert [(i.resource["meta"]["versionId"], i.where) for i in found] == [
        ("1", "history.json entry 2"),
        ("2", "history.json entry 1"),
        ("3", "history.json entry 0"),
    ]


def test_the_newest_version_of_a_history_bundle_is_the_one_used(tmp_path: Path) -> None:
    """A corrected birth date (version 2, listed first) gives the code: 16.03 → ANBEF630."""
    old = patient(meta={"versionId": "1", "lastUpdated": "2025-01-10T09:00:00+01:00"})
    new = patient(
        meta={"versionId": "2", "lastUpdated": "2025-02-10T09:00:00+01:00"},
        birthDate="1980-03-16",
    )
    events = [r for r in practice() if r["resourceType"] != "Patient"]
    (tmp_path / "events.json").write_bytes(orjson.dumps(collection(events)))
    (tmp_path / "patient-history.json").write_bytes(orjson.dumps(_history(new, old)))
    document = derive_folder(tmp_path, "2025-03-10")
    assert [r["patient_code"] for r in document["reports"]] == [CODE.replace("530", "630")]


def test_delete_and_response_entries_carry_no_resource_and_are_skipped(tmp_path: Path) -> None:
    """DELETE entries (history, transaction) and bare responses: skipped, no finding."""
    delete = {
        "request": {"method": "DELETE", "url": "MedicationAdministration/ma-gone"},
        "response": {"status": "204"},
    }
    history = _history(administration("ma-2025-03-08", "2025-03-08T08:30:00+01:00"))
    history["entry"].insert(0, delete)
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": "Patient/p9"}}],
    }
    response = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "201 Created", "location": "Patient/p2/_history/1"}}],
    }
    for name, bundle in [("h", history), ("t", transaction), ("r", response)]:
        (tmp_path / f"{name}.json").write_bytes(orjson.dumps(bundle))
    (tmp_path / "practice.json").write_bytes(orjson.dumps(collection(practice())))
    document = derive_folder(tmp_path, "2025-03-10")
    assert keys(document) == [anmeldung("2025-03-03")]
    assert document["findings"] == []
