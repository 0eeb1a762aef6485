"""Contained resources are resources of their own (INPUT.md 'Accepted containers')."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from adapter.fhir.contained import contained_resources
from tests.test_fhir_input import (
    BTM,
    abmeldung,
    administration,
    anmeldung,
    daily,
    doctor,
    keys,
    patient,
    request,
    run,
)

Json = dict[str, Any]
KEY = re.compile(r"^[A-Za-z]+/[A-Za-z0-9\-.]+~[0-9a-f]{12}$")


def _requested_by_contained(rid: str, authored: str, contained_doctor: Json) -> Json:
    resource = request(rid, authored, requester="#arzt")
    resource["contained"] = [{**copy.deepcopy(contained_doctor), "id": "arzt"}]
    return resource


def test_contained_resources_get_keys_of_their_own_and_references_follow() -> None:
    """Local references in the container and among its contained resources name the keys."""
    resource: Json = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "requester": {"reference": "#rolle"},
        "contained": [
            {
                "resourceType": "PractitionerRole",
                "id": "rolle",
                "practitioner": {"reference": "#arzt"},
                "extension": [{"url": "x", "valueReference": {"reference": "#"}}],
            },
            {"resourceType": "Practitioner", "id": "arzt"},
            {"resourceType": "Medication", "id": "med"},
        ],
        "medicationReference": {"reference": "#med"},
    }
    found = dict(contained_resources(resource, "MedicationRequest/mr1"))
    by_type = {r["resourceType"]: local_id for local_id, r in found.items()}
    role_id, doctor_id = by_type["PractitionerRole"], by_type["Practitioner"]
    role_key, doctor_key = f"PractitionerRole/{role_id}", f"Practitioner/{doctor_id}"
    assert KEY.match(role_key)
    assert KEY.match(doctor_key)
    assert resource["requester"]["reference"] == role_key
    assert found[role_id]["practitioner"]["reference"] == doctor_key
    assert found[role_id]["extension"][0]["valueReference"]["reference"] == "MedicationRequest/mr1"
    # A contained Medication stays where the event's reader takes it in.
    assert resource["medicationReference"]["reference"] == "#med"
    assert "med" not in {r["id"] for r in found.values()}


def test_the_same_contained_block_gives_the_same_keys_in_every_container() -> None:
    """One doctor contained in many prescriptions is one doctor (stable across batches)."""
    block = [{"resourceType": "Practitioner", "id": "arzt", "name": [{"family": "Wolff"}]}]
    first = {"contained": copy.deepcopy(block), "requester": {"reference": "#arzt"}}
    second = {
        "contained": [*copy.deepcopy(block), {"resourceType": "Medication", "id": "m"}],
        "requester": {"reference": "#arzt"},
    }
    other = {
        "contained": [{**block[0], "name": [{"family": "Kunz"}]}],
        "requester": {"reference": "#arzt"},
    }
    keys = []
    for container, key in ((first, "A/1"), (second, "A/2"), (other, "A/3")):
        list(contained_resources(container, key))
        keys.append(container["requester"]["reference"])
    assert keys[0] == keys[1]
    assert keys[0] != keys[2]


def test_a_deeply_nested_container_is_rewritten_without_recursion() -> None:
    """A hostile nesting depth cannot exhaust the stack (the rewrite is iterative)."""
    deep: Json = {"reference": "#arzt"}
    for _ in range(50_000):
        deep = {"extension": [deep]}
    resource = {"contained": [{"resourceType": "Practitioner", "id": "arzt"}], "x": deep}
    [(local_id, _)] = list(contained_resources(resource, "Basic/b"))
    node = resource["x"]
    while "extension" in node:
        node = node["extension"][0]
    assert node["reference"] == f"Practitioner/{local_id}"


def test_two_containers_with_different_doctors_under_one_local_id_are_two_doctors(
    tmp_path: Path,
) -> None:
    """R-ABS-2: '#arzt' means another doctor in each prescription; the second substitutes
    for more than 30 days and re-registers."""
    other = doctor("ignored", btm="3800202")
    resources = [
        patient(),
        _requested_by_contained("mr1", "2025-03-03", doctor("ignored")),
        _requested_by_contained("mr2", "2025-03-05", other),
        *daily("2025-03-03", "2025-03-04", performer=None),
        *daily("2025-03-05", "2025-04-10", prefix="mb", request_ref="MedicationRequest/mr2"),
    ]
    document = run(tmp_path, resources, "2025-04-10")
    doctors = [(r["kind"], r["date"], r["doctor"]["btm_number"]) for r in document["reports"]]
    assert doctors == [
        ("anmeldung", "2025-03-03", BTM),
        ("abmeldung", "2025-03-04", BTM),
        ("anmeldung", "2025-03-05", "3800202"),
    ]


def test_a_contained_patient_is_a_finding_not_an_identity(tmp_path: Path) -> None:
    """A Patient has to be a resource of its own: its pseudonym is keyed by its id."""
    admin = administration("ma-x", "2025-03-03T08:30:00+01:00", patient_ref="#pat")
    admin["contained"] = [{**patient("pat"), "id": "pat"}]
    resources = [doctor(), request(), admin]
    document = run(tmp_path, resources, "2025-03-31")
    assert document["reports"] == []
    messages = [
        f["message"]
        for f in document["findings"]
        if f["sources"][:1] == ["MedicationAdministration/ma-x"]
    ]
    assert any("contains a Patient (#pat)" in m for m in messages)


def test_contained_doctor_reports_like_a_doctor_sent_on_its_own(tmp_path: Path) -> None:
    """The contained Practitioner's BtM number, name and address reach the report."""
    resources = [
        patient(),
        _requested_by_contained("mr1", "2025-03-03", doctor("ignored")),
        *daily("2025-03-03", "2025-03-07", performer=None),
    ]
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]
    first = document["reports"][0]["doctor"]
    assert (first["btm_number"], first["family_name"], first["address"]["city"]) == (
        BTM,
        "Wolff",
        "Leipzig",
    )
