"""How the adapter reads real-world FHIR R4 (INPUT.md, REAL-DATA.md), through `derive`.

Each test builds a small practice export in `tmp_path` with the helpers below and checks
the reports that `adapter.services.derive` makes of it. The default cast: Anna Berger
(female, 15.03.1980 → ANBEF530) treated by Dr. Klara Wolff (BtM 3800101, qualified).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.export.derivation import derivation_json
from adapter.services import derive
from adapter.settings.practice import DoctorConfig, PracticeConfig

SR = "https://fhir.substreg.dev"
ATC = "http://fhir.de/CodeSystem/bfarm/atc"
ICD = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
KBV_NARCOTIC = "https://fhir.kbv.de/StructureDefinition/KBV_EX_ERP_Narcotic"
EPA_NARCOTICS = "https://gematik.de/fhir/epa-medication/StructureDefinition/narcotics-extension"
KBV_QUALIFICATION = "https://fhir.kbv.de/CodeSystem/KBV_CS_FOR_Qualification_Type"
LANR_TYPE = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "LANR"}]
}
CODE = "ANBEF530"  # Anna Berger, F, 15.03.1980
BTM = "3800101"  # Dr. Klara Wolff

Json = dict[str, Any]


# -- builders -------------------------------------------------------------------


def concept(code: str | None, text: str, system: str = ATC, **coding: Any) -> Json:
    value: Json = {"text": text}
    if code is not None:
        value["coding"] = [{"system": system, "code": code, **coding}]
    return value


METHADON = concept("N07BC02", "Methaddict 10 mg Tabletten", version="2025")
LEVOMETHADON = concept("N07BC05", "L-Polaflux 5 mg/ml Lösung zum Einnehmen")


def patient(pid: str = "p1", **extra: Any) -> Json:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"use": "official", "family": "Berger", "given": ["Anna"]}],
        "gender": "female",
        "birthDate": "1980-03-15",
        **extra,
    }


def doctor(did: str = "d1", btm: str | None = BTM, **extra: Any) -> Json:
    identifiers = [{"system": "http://fhir.de/sid/bfarm/btmnr", "value": btm}] if btm else []
    resource: Json = {
        "resourceType": "Practitioner",
        "id": did,
        "identifier": identifiers,
        "name": [{"use": "official", "family": "Wolff", "given": ["Klara"], "prefix": ["Dr."]}],
        "birthDate": "1970-05-11",
        "telecom": [{"system": "phone", "value": "0341 5550101", "use": "work"}],
        "address": [
            {
                "use": "work",
                "line": ["Karl-Liebknecht-Straße 12"],
                "postalCode": "04107",
                "city": "Leipzig",
            }
        ],
        "qualification": [
            {
                "code": {
                    "coding": [{"system": f"{SR}/CodeSystem/qualification", "code": "suchtmedizin"}]
                }
            }
        ],
    }
    resource.update(extra)
    return {k: v for k, v in resource.items() if v is not None}


def category(code: str) -> Json:
    return {"category": [{"coding": [{"system": f"{SR}/CodeSystem/btm-marker", "code": code}]}]}


def kbv_marker(code: str) -> Json:
    sub = {"url": "BtM-Sonderkennzeichen", "valueCoding": {"code": code}}
    return {"extension": [{"url": KBV_NARCOTIC, "extension": [sub]}]}


def epa_marker(code: str) -> Json:
    sub = {"url": "narcotics-markings", "valueCoding": {"code": code}}
    return {"extension": [{"url": EPA_NARCOTICS, "extension": [sub]}]}


def reasons(*codes: str) -> Json:
    return {"reasonCode": [{"coding": [{"system": ICD, "code": c}]} for c in codes]}


def request(
    rid: str = "mr1",
    authored: str = "2025-03-03",
    *,
    marker: Json | None = None,
    med: Json | None = None,
    patient_ref: str = "Patient/p1",
    requester: str = "Practitioner/d1",
    supply: tuple[str, float, str] | None = None,
    **extra: Any,
) -> Json:
    """A MedicationRequest; marked S by our category unless `marker` says otherwise."""
    resource: Json = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": med or METHADON,
        "subject": {"reference": patient_ref},
        "authoredOn": authored,
        "requester": {"reference": requester},
        **(category("S") if marker is None else marker),
    }
    if supply is not None:
        start, value, unit = supply
        resource["dispenseRequest"] = {
            "validityPeriod": {"start": start},
            "expectedSupplyDuration": {"value": value, "unit": unit},
        }
    resource.update(extra)
    return resource


def administration(
    aid: str,
    when: str,
    *,
    med: Json | None = None,
    patient_ref: str = "Patient/p1",
    request_ref: str | None = "MedicationRequest/mr1",
    performer: str | None = "Practitioner/d1",
    **extra: Any,
) -> Json:
    resource: Json = {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": "completed",
        "medicationCodeableConcept": med or METHADON,
        "subject": {"reference": patient_ref},
        "effectiveDateTime": when,
    }
    if performer:
        resource["performer"] = [{"actor": {"reference": performer}}]
    if request_ref:
        resource["request"] = {"reference": request_ref}
    resource.update(extra)
    return resource


def days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(n)).isoformat() for n in range((end - start).days + 1)]


def daily(first: str, last: str, prefix: str = "ma", **kw: Any) -> list[Json]:
    """One administration per day at 08:30 local time (the offset is Berlin's in 2025)."""
    result = []
    for day in days(first, last):
        offset = "+02:00" if "2025-03-30" <= day < "2025-10-26" else "+01:00"
        result.append(administration(f"{prefix}-{day}", f"{day}T08:30:00{offset}", **kw))
    return result


def episode(eid: str = "eoc1", start: str = "2025-03-03", **extra: Any) -> Json:
    return {
        "resourceType": "EpisodeOfCare",
        "id": eid,
        "status": "active",
        "type": [{"coding": [{"system": f"{SR}/CodeSystem/episode-type", "code": "substitution"}]}],
        "patient": {"reference": "Patient/p1"},
        "period": {"start": start},
        "careManager": {"reference": "Practitioner/d1"},
        **extra,
    }


def collection(resources: list[Json], base: str | None = "https://pvs.example/fhir") -> Json:
    """A collection Bundle; fullUrls `base/Type/id` (or none when base is None)."""
    entries = []
    for resource in resources:
        entry: Json = {"resource": resource}
        if base is not None:
            entry["fullUrl"] = f"{base}/{resource['resourceType']}/{resource['id']}"
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def run(
    tmp_path: Path,
    data: Json | list[Json],
    as_of: str,
    config: PracticeConfig | None = None,
) -> Json:
    """Derive from `data` (a Bundle, or resources put into a collection) as JSON."""
    bundle = data if isinstance(data, dict) else collection(data)
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(bundle))
    derivation = derive([path], as_of=date.fromisoformat(as_of), config=config)
    document: Json = json.loads(derivation_json(derivation))
    return document


def keys(document: Json) -> list[tuple[str, str | None, str, str | None, str | None]]:
    """(kind, code, date, substance, doctor BtM) of each report, in output order."""
    return [
        (r["kind"], r["patient_code"], r["date"], r["substance"], r["doctor"]["btm_number"])
        for r in document["reports"]
    ]


def rules(document: Json, severity: str | None = None) -> set[str]:
    return {f["rule"] for f in document["findings"] if severity in (None, f["severity"])}


def anmeldung(day: str, substance: str = "Methadon", btm: str = BTM, code: str = CODE) -> tuple:
    return ("anmeldung", code, day, substance, btm)


def abmeldung(day: str, btm: str = BTM, code: str = CODE) -> tuple:
    return ("abmeldung", code, day, None, btm)


def practice(*extra: Json, first: str = "2025-03-03", last: str = "2025-03-07") -> list[Json]:
    """Patient, doctor, an S prescription and daily intake: the smallest reportable export."""
    return [patient(), doctor(), request(authored=first), *daily(first, last), *extra]


# -- containers and references (INPUT.md 'Accepted containers') ---------------------


def _urn_bundle() -> Json:
    ids = {"p1": "urn:uuid:6b0f7f7e-0000-4000-8000-000000000001"}
    ids["d1"] = "urn:uuid:6b0f7f7e-0000-4000-8000-000000000002"
    ids["mr1"] = "urn:uuid:6b0f7f7e-0000-4000-8000-000000000003"
    resources = [
        patient(),
        doctor(),
        request(patient_ref=ids["p1"], requester=ids["d1"]),
        *daily(
            "2025-03-03",
            "2025-03-07",
            patient_ref=ids["p1"],
            request_ref=ids["mr1"],
            performer=ids["d1"],
        ),
    ]
    entries = []
    for index, resource in enumerate(resources):
        url = ids.get(resource["id"], f"urn:uuid:6b0f7f7e-0000-4000-8000-1000000000{index:02d}")
        entries.append({"fullUrl": url, "resource": resource})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _absolute_bundle() -> Json:
    base = "https://pvs.example/fhir"
    resources = [
        patient(),
        doctor(),
        request(patient_ref=f"{base}/Patient/p1", requester=f"{base}/Practitioner/d1"),
        *daily(
            "2025-03-03",
            "2025-03-07",
            patient_ref=f"{base}/Patient/p1",
            request_ref=f"{base}/MedicationRequest/mr1",
            performer=f"{base}/Practitioner/d1",
        ),
    ]
    return collection(resources, base)


def _versioned_bundle() -> Json:
    resources = practice()
    for resource in resources:
        if resource["resourceType"] == "MedicationAdministration":
            resource["subject"] = {"reference": "Patient/p1/_history/3"}
    return collection(resources, base=None)


def _searchset_bundle() -> Json:
    bundle = collection(practice())
    bundle["type"] = "searchset"
    for entry in bundle["entry"]:
        entry["search"] = {"mode": "match"}
    return bundle


def _nested_bundle() -> Json:
    inner = collection(practice())
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {**inner, "id": "inner"}}],
    }


@pytest.mark.parametrize(
    "build",
    [
        lambda: collection(practice()),
        _urn_bundle,
        _absolute_bundle,
        _versioned_bundle,
        _searchset_bundle,
        _nested_bundle,
    ],
    ids=[
        "relative",
        "urn-uuid",
        "absolute-url",
        "versioned-relative",
        "searchset",
        "nested-bundle",
    ],
)
def test_reference_forms_and_bundle_types_resolve(tmp_path: Path, build: Any) -> None:
    """References by Type/id, absolute URL, urn:uuid and _history all resolve (INPUT.md)."""
    document = run(tmp_path, build(), "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]
    assert rules(document, "error") == set()


def test_ndjson_with_absolute_references_and_no_full_urls(tmp_path: Path) -> None:
    """Bulk export NDJSON: no fullUrl, references as absolute URLs resolve by Type/id."""
    base = "https://fhir.klinik.example/R4"
    resources = [
        *daily(
            "2025-03-03",
            "2025-03-07",
            patient_ref=f"{base}/Patient/p1",
            request_ref=f"{base}/MedicationRequest/mr1",
            performer=None,
        ),
        request(patient_ref=f"{base}/Patient/p1", requester=f"{base}/Practitioner/d1"),
        patient(),
        doctor(),
    ]
    path = tmp_path / "export.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in resources) + b"\n")
    document = json.loads(derivation_json(derive([path], as_of=date(2025, 3, 31))))
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]


def test_a_directory_of_files_is_one_export(tmp_path: Path) -> None:
    """A directory means every *.json and *.ndjson file in it (INPUT.md); others are ignored."""
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    (folder / "people.json").write_bytes(orjson.dumps(collection([patient(), doctor()])))
    (folder / "sub" / "events.ndjson").write_bytes(
        b"\n".join(orjson.dumps(r) for r in [request(), *daily("2025-03-03", "2025-03-07")])
    )
    (folder / "notes.txt").write_text("not FHIR at all", encoding="utf-8")
    document = json.loads(derivation_json(derive([folder], as_of=date(2025, 3, 31))))
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]


def test_contained_medication_is_resolved_by_hash_id(tmp_path: Path) -> None:
    """A `#id` medicationReference names a contained Medication (INPUT.md)."""
    med = {"resourceType": "Medication", "id": "m", "code": LEVOMETHADON}
    contained = {"contained": [med], "medicationReference": {"reference": "#m"}}
    resources = [
        patient(),
        doctor(),
        {**{k: v for k, v in request().items() if k != "medicationCodeableConcept"}, **contained},
    ]
    for admin in daily("2025-03-03", "2025-03-07"):
        del admin["medicationCodeableConcept"]
        resources.append({**admin, **contained})
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03", "Levomethadon"), abmeldung("2025-03-07")]


def test_medication_resource_is_resolved_by_reference(tmp_path: Path) -> None:
    """A Medication elsewhere in the export is found by its reference (INPUT.md 'Substance')."""
    med = {"resourceType": "Medication", "id": "levo", "code": LEVOMETHADON}
    resources = [med, patient(), doctor(), request(med=None)]
    del resources[-1]["medicationCodeableConcept"]
    resources[-1]["medicationReference"] = {"reference": "Medication/levo"}
    resources += daily("2025-03-03", "2025-03-07", med=LEVOMETHADON)
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03", "Levomethadon"), abmeldung("2025-03-07")]


def test_dangling_contained_reference_is_a_finding_naming_the_resource(tmp_path: Path) -> None:
    """A resource it uses but cannot read is a finding naming it, never a silent drop."""
    broken = administration("ma-broken", "2025-03-08T08:30:00+01:00")
    del broken["medicationCodeableConcept"]
    broken["medicationReference"] = {"reference": "#nowhere"}
    document = run(tmp_path, practice(broken), "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]
    sources = [f["sources"] for f in document["findings"] if f["severity"] == "error"]
    assert ["MedicationAdministration/ma-broken"] in sources


@pytest.mark.parametrize(
    ("resource", "name"),
    [
        (administration("ma-bad", "2025-13-45T08:30:00+01:00"), "MedicationAdministration/ma-bad"),
        (administration("ma-partial", "2025-03"), "MedicationAdministration/ma-partial"),
        (
            {**administration("ma-noday", "x"), "effectiveDateTime": None},
            "MedicationAdministration/ma-noday",
        ),
        (
            {
                "resourceType": "MedicationDispense",
                "id": "md-unit",
                "status": "completed",
                "medicationCodeableConcept": METHADON,
                "subject": {"reference": "Patient/p1"},
                "whenHandedOver": "2025-03-08",
                "daysSupply": {"value": 3, "unit": "mg"},
            },
            "MedicationDispense/md-unit",
        ),
        (
            {
                "resourceType": "MedicationDispense",
                "id": "md-nohand",
                "status": "completed",
                "medicationCodeableConcept": METHADON,
                "subject": {"reference": "Patient/p1"},
            },
            "MedicationDispense/md-nohand",
        ),
        (request("mr-mo", supply=("2025-03-08", 1, "mo")), "MedicationRequest/mr-mo"),
        ({**patient("p2"), "name": {"family": "Berger"}}, "Patient/p2"),
        (
            episode(
                "eoc-bad", statusHistory=[{"status": "onhold", "period": {"end": "2025-03-09"}}]
            ),
            "EpisodeOfCare/eoc-bad",
        ),
    ],
    ids=[
        "impossible-datetime",
        "partial-datetime",
        "no-effective",
        "days-supply-in-mg",
        "dispense-without-handover",
        "supply-in-months",
        "name-not-a-list",
        "onhold-without-start",
    ],
)
def test_unreadable_resource_is_an_error_finding_and_the_rest_is_reported(
    tmp_path: Path, resource: Json, name: str
) -> None:
    """An unreadable resource is an error finding naming Type/id; others still count (INPUT.md)."""
    document = run(tmp_path, practice(resource), "2025-03-31")
    assert anmeldung("2025-03-03") in keys(document)
    errors = [f for f in document["findings"] if f["severity"] == "error"]
    assert any(name in f["sources"] and name in f["message"] for f in errors), errors


def test_resources_the_adapter_does_not_use_are_skipped_silently(tmp_path: Path) -> None:
    """Coverage, Observation, Condition … are skipped without a finding (INPUT.md)."""
    unused = [
        {"resourceType": "Coverage", "id": "c1", "status": "active", "payor": "not a list"},
        {"resourceType": "Observation", "id": "o1", "status": 7},
        {
            "resourceType": "Condition",
            "id": "k1",
            "code": {"coding": [{"system": ICD, "code": "F11.2"}]},
        },
        {"resourceType": "MedicationStatement", "id": "s1", "status": "active"},
    ]
    document = run(tmp_path, practice(*unused), "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]
    assert document["findings"] == []


# -- substance (R-SUB) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "system",
    [
        "http://fhir.de/CodeSystem/bfarm/atc",
        "http://fhir.de/CodeSystem/dimdi/atc",
        "http://www.whocc.no/atc",
    ],
    ids=["bfarm", "dimdi-legacy", "who"],
)
@pytest.mark.parametrize("version", [None, "2024"], ids=["no-version", "version"])
def test_three_atc_systems_with_or_without_version(
    tmp_path: Path, system: str, version: str | None
) -> None:
    """ATC is read under bfarm, legacy dimdi and WHO systems; `version` is ignored (R-SUB)."""
    coding = {"version": version} if version else {}
    med = concept("N07BC05", "Lösung zum Einnehmen", system, **coding)
    resources = [patient(), doctor(), request(med=med), *daily("2025-03-03", "2025-03-07", med=med)]
    assert keys(run(tmp_path, resources, "2025-03-31")) == [
        anmeldung("2025-03-03", "Levomethadon"),
        abmeldung("2025-03-07"),
    ]


def test_atc_under_an_unknown_system_is_not_atc(tmp_path: Path) -> None:
    """Only the three ATC systems are read: the same code elsewhere identifies nothing (R-SUB)."""
    med = concept("N07BC05", "Lösung", "http://example.org/atc")
    resources = [patient(), doctor(), request(med=med), *daily("2025-03-03", "2025-03-07", med=med)]
    assert keys(run(tmp_path, resources, "2025-03-31")) == []


# -- ties to substitution (R-SUB-5) ----------------------------------------------------


@pytest.mark.parametrize(
    "marker",
    [
        kbv_marker("S"),
        kbv_marker("ST"),
        {
            "extension": [
                {
                    "url": KBV_NARCOTIC,
                    "extension": [
                        {
                            "url": "ErgaenzendeAngabenSubstitutionsmittel",
                            "valueString": "Sichtbezug",
                        },
                        {
                            "url": "BtM-Sonderkennzeichen",
                            "valueCoding": {
                                "system": "https://fhir.kbv.de/CodeSystem/KBV_CS_ERP_BtM_Kennzeichen",
                                "code": "S",
                            },
                        },
                    ],
                }
            ]
        },
        epa_marker("S"),
        epa_marker("ST"),
        category("S"),
        category("ST"),
        category("SZ"),
        category("S Z"),
        category("S T"),
        category("T"),
        kbv_marker("SZ"),
        category("s"),
    ],
    ids=[
        "kbv-S",
        "kbv-ST",
        "kbv-S-with-system",
        "epa-S",
        "epa-ST",
        "category-S",
        "category-ST",
        "legacy-SZ",
        "legacy-S-Z",
        "legacy-S-T",
        "legacy-T",
        "kbv-legacy-SZ",
        "lower-case-s",
    ],
)
def test_btm_markers_tie_events_to_substitution(tmp_path: Path, marker: Json) -> None:
    """S and ST in KBV, ePA and category form, and the legacy spellings, tie (R-SUB-5)."""
    resources = [patient(), doctor(), request(marker=marker), *daily("2025-03-03", "2025-03-07")]
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]
    assert "R-SUB-5" not in rules(document)


@pytest.mark.parametrize(
    "marker",
    [category("N"), kbv_marker("N"), epa_marker("K"), {}, category("A")],
    ids=["category-N", "kbv-N", "epa-K", "no-marker", "legacy-A"],
)
def test_other_markers_alone_are_no_tie(tmp_path: Path, marker: Json) -> None:
    """N (Notfall), K, A or no marker alone: not reported, methadone warns (R-SUB-5, R-NOT-3)."""
    resources = [patient(), doctor(), request(marker=marker), *daily("2025-03-03", "2025-03-07")]
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == []
    assert "R-SUB-5" in rules(document, "warning")


@pytest.mark.parametrize("code", ["ST", "S T", "T"], ids=["ST", "S-T", "T"])
def test_take_home_markers_cover_the_supply_duration(tmp_path: Path, code: str) -> None:
    """An ST (also 'S T', 'T') prescription without dispense covers its reach (R-DATE-2)."""
    take_home = request(marker=category(code), supply=("2025-03-03", 5, "Tag(e)"))
    document = run(tmp_path, [patient(), doctor(), take_home], "2025-03-31")
    # 03-03 + 5 - 1 = 03-07; 10 full days 03-08..03-17; made 03-18.
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]


@pytest.mark.parametrize(
    ("value", "unit", "last"),
    [
        (7, "d", "2025-03-09"),
        (1, "wk", "2025-03-09"),
        (2, "Woche(n)", "2025-03-16"),
        (3, "Tage", "2025-03-05"),
    ],
    ids=["7-d", "1-wk", "2-weeks-german", "3-Tage"],
)
def test_supply_duration_units(tmp_path: Path, value: float, unit: str, last: str) -> None:
    """expectedSupplyDuration in d / Tag(e); a week unit counts 7 days (INPUT.md 'Days covered')."""
    take_home = request(marker=category("ST"), supply=("2025-03-03", value, unit))
    document = run(tmp_path, [patient(), doctor(), take_home], "2025-04-30")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung(last)]


def test_supply_starts_at_authored_on_without_validity_period(tmp_path: Path) -> None:
    """Without validityPeriod.start the reach starts at authoredOn (INPUT.md 'Days covered')."""
    take_home = request(authored="2025-03-04", marker=category("ST"))
    take_home["dispenseRequest"] = {"expectedSupplyDuration": {"value": 4, "unit": "Tag(e)"}}
    document = run(tmp_path, [patient(), doctor(), take_home], "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-04"), abmeldung("2025-03-07")]


def test_s_prescription_without_dispense_or_duration_covers_its_first_day(tmp_path: Path) -> None:
    """An S prescription alone covers only its first day (INPUT.md edge case 2)."""
    document = run(tmp_path, [patient(), doctor(), request(authored="2025-03-05")], "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-05"), abmeldung("2025-03-05")]


@pytest.mark.parametrize("code", ["F11.2", "F11.20", "F11.22", "f11.25"], ids=str)
def test_f11_2_reason_on_the_request_ties(tmp_path: Path, code: str) -> None:
    """An ICD-10-GM reason F11.2 or below ties an unmarked event (R-SUB-5, tie 3)."""
    resources = [
        patient(),
        doctor(),
        request(marker={}, **reasons(code)),
        *daily("2025-03-03", "2025-03-07"),
    ]
    assert keys(run(tmp_path, resources, "2025-03-31")) == [
        anmeldung("2025-03-03"),
        abmeldung("2025-03-07"),
    ]


@pytest.mark.parametrize("code", ["F11.1", "F11.0", "F11.3", "F10.2"], ids=str)
def test_other_diagnoses_do_not_tie(tmp_path: Path, code: str) -> None:
    """Harmful use, intoxication, withdrawal or alcohol are no opioid dependence tie (R-SUB-5)."""
    resources = [
        patient(),
        doctor(),
        request(marker={}, **reasons(code)),
        *daily("2025-03-03", "2025-03-07"),
    ]
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == []
    assert "R-SUB-5" in rules(document, "warning")


def test_f11_2_under_another_code_system_does_not_tie(tmp_path: Path) -> None:
    """The reason must be ICD-10-GM (http://fhir.de/CodeSystem/bfarm/icd-10-gm) (INPUT.md)."""
    reason = {"reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "F11.2"}]}]}
    resources = [
        patient(),
        doctor(),
        request(marker={}, **reason),
        *daily("2025-03-03", "2025-03-07"),
    ]
    assert keys(run(tmp_path, resources, "2025-03-31")) == []


def test_f11_2_reason_on_the_administration_ties_without_request(tmp_path: Path) -> None:
    """A reason on the event itself ties it; its doctor is the performer (edge case 1)."""
    events = daily("2025-03-03", "2025-03-07", request_ref=None, **reasons("F11.2"))
    document = run(tmp_path, [patient(), doctor(), *events], "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]


def test_episode_of_care_via_context_ties_and_names_the_doctor(tmp_path: Path) -> None:
    """Administration.context → substitution EpisodeOfCare ties; careManager is the doctor."""
    other = doctor("d2", btm="3800202")
    events = daily(
        "2025-03-03",
        "2025-03-07",
        request_ref="MedicationRequest/mr2",
        performer="Practitioner/d2",
        context={"reference": "EpisodeOfCare/eoc1"},
    )
    unmarked = request("mr2", marker={}, requester="Practitioner/d2")
    document = run(
        tmp_path, [patient(), doctor(), other, episode(), unmarked, *events], "2025-03-31"
    )
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]


def test_episode_of_care_via_supporting_information_ties(tmp_path: Path) -> None:
    """Request.supportingInformation → substitution EpisodeOfCare ties (INPUT.md tie 2)."""
    unmarked = request(marker={}, supportingInformation=[{"reference": "EpisodeOfCare/eoc1"}])
    events = daily("2025-03-03", "2025-03-07")
    document = run(tmp_path, [patient(), doctor(), episode(), unmarked, *events], "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]


def test_episode_of_care_via_the_requests_encounter_ties(tmp_path: Path) -> None:
    """A request whose Encounter belongs to a substitution EpisodeOfCare is tied (R-SUB-5)."""
    encounter = {
        "resourceType": "Encounter",
        "id": "enc1",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "episodeOfCare": [{"reference": "EpisodeOfCare/eoc1"}],
        "period": {"start": "2025-03-03"},
    }
    unmarked = request(marker={}, encounter={"reference": "Encounter/enc1"})
    events = daily("2025-03-03", "2025-03-07")
    resources = [patient(), doctor(), episode(), encounter, unmarked, *events]
    assert keys(run(tmp_path, resources, "2025-03-31")) == [
        anmeldung("2025-03-03"),
        abmeldung("2025-03-07"),
    ]


def test_detox_episode_is_no_substitution_tie(tmp_path: Path) -> None:
    """An EpisodeOfCare of type detox does not tie events by itself (R-SUB-5, R-NOT-1)."""
    detox = episode(
        type=[{"coding": [{"system": f"{SR}/CodeSystem/episode-type", "code": "detox"}]}]
    )
    events = daily(
        "2025-03-03", "2025-03-07", request_ref=None, context={"reference": "EpisodeOfCare/eoc1"}
    )
    assert keys(run(tmp_path, [patient(), doctor(), detox, *events], "2025-03-31")) == []


def test_diamorphin_is_tied_by_its_substance(tmp_path: Path) -> None:
    """Diamorphin has no other legal use: tied without marker, episode or reason (tie 4)."""
    diaphin = concept("N07BC06", "Diaphin IV 10 g")
    events = daily("2025-03-03", "2025-03-07", med=diaphin, request_ref=None)
    document = run(tmp_path, [patient(), doctor(), *events], "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03", "Diamorphin"), abmeldung("2025-03-07")]


def test_superseded_diamorphin_code_n02aa09(tmp_path: Path) -> None:
    """N02AA09 (superseded by N07BC06) is Diamorphin too (INPUT.md 'Substance')."""
    old = concept("N02AA09", "Diamorphin")
    events = daily("2025-03-03", "2025-03-07", med=old, request_ref=None)
    document = run(tmp_path, [patient(), doctor(), *events], "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03", "Diamorphin"), abmeldung("2025-03-07")]


def test_buprenorphine_patch_with_f11_2_is_still_not_substitution(tmp_path: Path) -> None:
    """N02AE01 (patch for pain) needs an S/ST marker; F11.2 alone is not enough (D-7)."""
    patch = concept("N02AE01", "Buprenorphin 35 µg/h transdermales Pflaster")
    resources = [
        patient(),
        doctor(),
        request(marker={}, med=patch, **reasons("F11.2")),
        *daily("2025-03-03", "2025-03-07", med=patch),
    ]
    assert keys(run(tmp_path, resources, "2025-03-31")) == []


def test_buprenorphine_patch_code_with_s_marker_counts(tmp_path: Path) -> None:
    """Even an analgesic ATC counts when the prescription is marked S (R-SUB-5)."""
    patch = concept("N02AE01", "Buprenorphin Sublingualtabletten")
    resources = [
        patient(),
        doctor(),
        request(med=patch),
        *daily("2025-03-03", "2025-03-07", med=patch),
    ]
    assert keys(run(tmp_path, resources, "2025-03-31")) == [
        anmeldung("2025-03-03", "Buprenorphin"),
        abmeldung("2025-03-07"),
    ]


# -- days covered (R-DATE) and Europe/Berlin days ----------------------------------------


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        ("2025-01-31T23:30:00Z", "2025-02-01"),
        ("2025-01-31T22:59:59Z", "2025-01-31"),
        ("2025-06-30T22:30:00Z", "2025-07-01"),
        ("2025-06-30T21:59:00Z", "2025-06-30"),
        ("2025-07-01T00:30:00+05:00", "2025-06-30"),
        ("2025-07-01T00:30:00+01:00", "2025-07-01"),
        ("2025-03-30T00:30:00Z", "2025-03-30"),
        ("2025-10-25T22:30:00Z", "2025-10-26"),
        ("2025-10-26T23:30:00Z", "2025-10-27"),
        ("2025-03-05", "2025-03-05"),
        ("2025-03-05T23:59:59.999+01:00", "2025-03-05"),
    ],
    ids=[
        "winter-utc-late",
        "winter-utc-before-midnight",
        "summer-utc-late",
        "summer-utc-before-midnight",
        "foreign-offset",
        "winter-offset-in-summer",
        "dst-start-day",
        "dst-end-day-midnight",
        "after-dst-end",
        "date-only",
        "fraction",
    ],
)
def test_calendar_day_is_the_day_in_europe_berlin(tmp_path: Path, moment: str, day: str) -> None:
    """A dateTime counts on its Europe/Berlin calendar day; a date is that day (INPUT.md)."""
    event = administration(
        "ma1", moment, request_ref=None, context={"reference": "EpisodeOfCare/eoc1"}
    )
    document = run(
        tmp_path, [patient(), doctor(), episode(start="2025-01-01"), event], "2025-12-31"
    )
    assert keys(document)[0] == anmeldung(day)
    assert keys(document)[1] == abmeldung(day)


def test_effective_period_covers_each_day(tmp_path: Path) -> None:
    """An administration with effectivePeriod covers every day of it (INPUT.md 'Days covered')."""
    stay = administration("ma-stay", "x", request_ref=None, **reasons("F11.2"))
    del stay["effectiveDateTime"]
    stay["effectivePeriod"] = {
        "start": "2025-05-05T10:00:00+02:00",
        "end": "2025-05-09T12:00:00+02:00",
    }
    document = run(tmp_path, [patient(), doctor(), stay], "2025-05-20")
    # L = 05-09; 10 full days 05-10..05-19; Abmeldung made 05-20, dated 05-09.
    assert keys(document) == [anmeldung("2025-05-05"), abmeldung("2025-05-09")]
    assert document["reports"][1]["made_on"] == "2025-05-20"


@pytest.mark.parametrize("status", ["not-done", "entered-in-error", "stopped", "on-hold"], ids=str)
def test_administrations_that_did_not_happen_cover_nothing(tmp_path: Path, status: str) -> None:
    """Only completed or in-progress administrations cover a day (INPUT.md 'Days covered')."""
    events = daily("2025-03-03", "2025-03-07", request_ref=None, **reasons("F11.2"), status=status)
    assert keys(run(tmp_path, [patient(), doctor(), *events], "2025-03-31")) == []


def test_in_progress_administration_covers(tmp_path: Path) -> None:
    """An in-progress administration covers its day (INPUT.md 'Days covered')."""
    events = daily(
        "2025-03-03", "2025-03-03", request_ref=None, **reasons("F11.2"), status="in-progress"
    )
    document = run(tmp_path, [patient(), doctor(), *events], "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-03")]


def _dispense(did: str, handed: str, supply: int, status: str = "completed", **extra: Any) -> Json:
    return {
        "resourceType": "MedicationDispense",
        "id": did,
        "status": status,
        "medicationCodeableConcept": METHADON,
        "subject": {"reference": "Patient/p1"},
        "authorizingPrescription": [{"reference": "MedicationRequest/mr-st"}],
        "daysSupply": {
            "value": supply,
            "unit": "Tag",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        },
        "whenHandedOver": handed,
        **extra,
    }


def test_dispense_covers_from_handover_for_days_supply(tmp_path: Path) -> None:
    """A completed dispense covers [whenHandedOver, + daysSupply − 1] (R-DATE-2)."""
    st = request("mr-st", marker=category("ST"))
    # handed over 03-03 23:15 UTC = 03-04 00:15 in Berlin; 4 days: 03-04..03-07.
    resources = [patient(), doctor(), st, _dispense("md1", "2025-03-03T23:15:00Z", 4)]
    document = run(tmp_path, resources, "2025-03-31")
    assert ("abmeldung", CODE, "2025-03-07", None, BTM) in keys(document)


def test_prescription_with_dispenses_covers_what_they_cover(tmp_path: Path) -> None:
    """An ST prescription with dispenses covers what its dispenses cover (edge case 2),
    from the first dispense's day, never less than its own reach (edge case 15)."""
    st = request("mr-st", "2025-03-03", marker=category("ST"), supply=("2025-03-03", 14, "d"))
    resources = [patient(), doctor(), st, _dispense("md1", "2025-03-05", 3)]
    document = run(tmp_path, resources, "2025-03-31")
    # Dispensed 03-05 for 3 days; the prescription reaches 03-03 + 14 - 1 = 03-16.
    assert keys(document) == [anmeldung("2025-03-05"), abmeldung("2025-03-16")]


def test_a_dispense_beyond_the_prescriptions_reach_covers_its_own_days(tmp_path: Path) -> None:
    """Edge case 15: the dispense's daysSupply counts when it reaches further."""
    st = request("mr-st", "2025-03-03", marker=category("ST"), supply=("2025-03-03", 7, "d"))
    resources = [patient(), doctor(), st, _dispense("md1", "2025-03-05", 10)]
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-05"), abmeldung("2025-03-14")]


@pytest.mark.parametrize(
    "status", ["in-progress", "cancelled", "entered-in-error", "declined"], ids=str
)
def test_dispense_not_completed_covers_nothing(tmp_path: Path, status: str) -> None:
    """Only a completed dispense covers days (INPUT.md 'Days covered')."""
    eoc_dispense = _dispense(
        "md1", "2025-03-03", 5, status, context={"reference": "EpisodeOfCare/eoc1"}
    )
    del eoc_dispense["authorizingPrescription"]
    document = run(tmp_path, [patient(), doctor(), episode(), eoc_dispense], "2025-03-31")
    assert keys(document) == []


def test_duration_of_effect_extension_wins_over_the_product_table(tmp_path: Path) -> None:
    """The duration-of-effect extension on the administration sets the depot's reach (R-DATE-2)."""
    buvidal = concept("N07BC01", "Buvidal 8 mg Depot-Injektionslösung")
    shot = administration("ma-depot", "2025-03-03T09:00:00+01:00", med=buvidal)
    shot["extension"] = [
        {
            "url": f"{SR}/StructureDefinition/duration-of-effect",
            "valueDuration": {
                "value": 28,
                "unit": "d",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            },
        }
    ]
    document = run(tmp_path, [patient(), doctor(), request(med=buvidal), shot], "2025-04-30")
    # 03-03 + 27 = 03-30.
    assert keys(document) == [anmeldung("2025-03-03", "Buprenorphin"), abmeldung("2025-03-30")]
    assert "R-DATE-2" not in rules(document)


@pytest.mark.parametrize(
    ("text", "last"),
    [
        ("Buvidal 16 mg Depot-Injektionslösung", "2025-03-09"),
        ("Buvidal 128 mg Depot-Injektionslösung", "2025-03-30"),
        ("Sixmo 74,2 mg Implantat", "2025-09-02"),
    ],
    ids=["buvidal-weekly-16", "buvidal-monthly-128", "sixmo"],
)
def test_depot_products_cover_their_duration(tmp_path: Path, text: str, last: str) -> None:
    """Buvidal weekly 7 days, monthly 28 days, Sixmo six months (edge case 3)."""
    med = concept("N07BC01", text)
    shot = administration("ma-depot", "2025-03-03T09:00:00+01:00", med=med)
    document = run(tmp_path, [patient(), doctor(), request(med=med), shot], "2025-12-31")
    assert keys(document) == [anmeldung("2025-03-03", "Buprenorphin"), abmeldung(last)]
    assert "R-DATE-2" not in rules(document)


def test_nothing_after_as_of_counts(tmp_path: Path) -> None:
    """Data after as_of is ignored and no report is dated after it (R-DATE-3)."""
    take_home = request("mr-st", marker=category("ST"), supply=("2025-03-08", 7, "d"))
    resources = practice(take_home, *daily("2025-03-20", "2025-03-25", prefix="late"))
    document = run(tmp_path, resources, "2025-03-12")
    assert keys(document) == [anmeldung("2025-03-03")]
    assert all(
        r["made_on"] <= "2025-03-12" and r["date"] <= "2025-03-12" for r in document["reports"]
    )


# -- finished EpisodeOfCare (R-EP-2) ------------------------------------------------------


def test_finished_episode_with_take_home_beyond_its_end(tmp_path: Path) -> None:
    """Abmeldung made the day after the later of last covered day and period.end (edge case 10)."""
    finished = episode(status="finished", period={"start": "2025-03-03", "end": "2025-03-07"})
    take_home = request(
        "mr-st",
        "2025-03-07",
        marker=category("ST"),
        supply=("2025-03-08", 4, "d"),
        supportingInformation=[{"reference": "EpisodeOfCare/eoc1"}],
    )
    events = daily("2025-03-03", "2025-03-07", context={"reference": "EpisodeOfCare/eoc1"})
    resources = [patient(), doctor(), finished, request(), take_home, *events]
    document = run(tmp_path, resources, "2025-03-12")
    # last covered 03-11 (03-08 + 3) > period.end 03-07: made 03-12, dated 03-11.
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-11")]
    assert document["reports"][1]["made_on"] == "2025-03-12"


# -- doctors (R-DOC, INPUT.md 'Doctors') ----------------------------------------------


def test_doctor_via_practitioner_role_with_contact_from_organization(tmp_path: Path) -> None:
    """Requester PractitionerRole → Practitioner; address and phone from its Organization."""
    bare = doctor(telecom=None, address=None)
    org = {
        "resourceType": "Organization",
        "id": "o1",
        "identifier": [
            {"system": "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_BSNR", "value": "721234567"}
        ],
        "name": "Praxis am Ring",
        "telecom": [{"system": "phone", "value": "0341 999000", "use": "work"}],
        "address": [{"use": "work", "line": ["Ring 1"], "postalCode": "04109", "city": "Leipzig"}],
    }
    role = {
        "resourceType": "PractitionerRole",
        "id": "r1",
        "practitioner": {"reference": "Practitioner/d1"},
        "organization": {"reference": "Organization/o1"},
    }
    events = daily("2025-03-03", "2025-03-07", performer="PractitionerRole/r1")
    resources = [patient(), bare, org, role, request(requester="PractitionerRole/r1"), *events]
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]
    registered = document["reports"][0]["doctor"]
    assert registered["address"] == {"line": ["Ring 1"], "postal_code": "04109", "city": "Leipzig"}
    assert registered["phone"] == "0341 999000"
    assert (registered["family_name"], registered["given_name"]) == ("Wolff", "Klara")


def test_practitioners_own_work_contact_wins_and_home_address_is_ignored(tmp_path: Path) -> None:
    """The Practitioner's work address/phone come first; a home address is no business address."""
    home_and_work = doctor(
        address=[
            {"use": "home", "line": ["Gartenweg 3"], "postalCode": "04299", "city": "Leipzig"},
            {"use": "work", "line": ["Markt 2"], "postalCode": "04109", "city": "Leipzig"},
        ]
    )
    resources = [patient(), home_and_work, request(), *daily("2025-03-03", "2025-03-07")]
    registered = run(tmp_path, resources, "2025-03-31")["reports"][0]["doctor"]
    assert registered["address"]["line"] == ["Markt 2"]
    assert registered["phone"] == "0341 5550101"
    assert registered["birth_date"] == "1970-05-11"


@pytest.mark.parametrize(
    "identifier",
    [
        {"system": "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR", "value": "123456701"},
        {"system": "https://fhir.kbv.de/sid/KBV_NS_Base_ANR", "value": "123456701"},
        {"system": "http://fhir.de/NamingSystem/kbv/lanr", "value": "123456701"},
        {"type": LANR_TYPE, "system": "https://example.org/lanr", "value": "123456701"},
    ],
    ids=["kbv-namingsystem", "kbv-sid", "retired-fhir-de", "type-LANR"],
)
def test_btm_number_from_config_by_lanr(tmp_path: Path, identifier: Json) -> None:
    """Without a btmnr identifier, the BtM number comes from config keyed by LANR (R-DOC-1)."""
    config = PracticeConfig(doctors={"123456701": DoctorConfig(btm_number="3899001")})
    resources = [
        patient(),
        doctor(btm=None, identifier=[identifier]),
        request(),
        *daily("2025-03-03", "2025-03-07"),
    ]
    document = run(tmp_path, resources, "2025-03-31", config)
    assert keys(document) == [
        anmeldung("2025-03-03", btm="3899001"),
        abmeldung("2025-03-07", btm="3899001"),
    ]


def test_config_by_practitioner_id_gives_btm_birth_date_and_qualification(tmp_path: Path) -> None:
    """Config keyed by Practitioner id supplies BtM number, birth date, qualification (R-DOC)."""
    config = PracticeConfig(
        doctors={"d1": DoctorConfig(btm_number="3899002", birth_date="1969-01-02", qualified=True)}
    )
    bare = doctor(btm=None, birthDate=None, qualification=None)
    resources = [patient(), bare, request(), *daily("2025-03-03", "2025-03-07")]
    document = run(tmp_path, resources, "2025-03-31", config)
    assert keys(document) == [
        anmeldung("2025-03-03", btm="3899002"),
        abmeldung("2025-03-07", btm="3899002"),
    ]
    assert document["reports"][0]["doctor"]["birth_date"] == "1969-01-02"
    assert "R-DOC-2" not in rules(document)


def test_config_lanr_entry_wins_over_id_entry(tmp_path: Path) -> None:
    """An entry by LANR is taken before one by Practitioner id (config.py contract)."""
    config = PracticeConfig(
        doctors={
            "d1": DoctorConfig(btm_number="3899002"),
            "123456701": DoctorConfig(btm_number="3899001"),
        }
    )
    lanr = {"system": "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR", "value": "123456701"}
    resources = [
        patient(),
        doctor(btm=None, identifier=[lanr]),
        request(),
        *daily("2025-03-03", "2025-03-07"),
    ]
    assert keys(run(tmp_path, resources, "2025-03-31", config)) == [
        anmeldung("2025-03-03", btm="3899001"),
        abmeldung("2025-03-07", btm="3899001"),
    ]


def test_btm_identifier_in_fhir_wins_over_config(tmp_path: Path) -> None:
    """Practitioner.identifier btmnr first, else the configuration (INPUT.md 'Doctors')."""
    config = PracticeConfig(doctors={"d1": DoctorConfig(btm_number="3899002")})
    assert keys(run(tmp_path, practice(), "2025-03-31", config)) == [
        anmeldung("2025-03-03"),
        abmeldung("2025-03-07"),
    ]


def test_doctor_without_btm_number_withholds_the_report(tmp_path: Path) -> None:
    """No BtM number anywhere: no report, an error finding R-DOC-1 naming the doctor (D-1)."""
    resources = [patient(), doctor(btm=None), request(), *daily("2025-03-03", "2025-03-07")]
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == []
    errors = [f for f in document["findings"] if f["rule"] == "R-DOC-1"]
    assert errors
    assert errors[0]["severity"] == "error"
    assert "Practitioner/d1" in errors[0]["sources"]


# -- KBV e-prescription document Bundles (REAL-DATA.md 6, 7) --------------------------


def _kbv_bundle(author_type: str) -> Json:
    """A KBV document Bundle: author of qualification type `author_type`, attester responsible."""

    def uid(n: int) -> str:
        return f"urn:uuid:0c1e7f00-0000-4000-8000-{n:012d}"

    author = {
        "resourceType": "Practitioner",
        "id": "aiw",
        "identifier": [
            {
                "type": LANR_TYPE,
                "system": "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR",
                "value": "555555501",
            }
        ],
        "name": [{"use": "official", "family": "Fischer", "given": ["Alexander"]}],
        "qualification": [
            {"code": {"coding": [{"system": KBV_QUALIFICATION, "code": author_type}]}},
            {"code": {"text": "Weiterbildungsassistent"}},
        ],
    }
    responsible = {
        "resourceType": "Practitioner",
        "id": "resp",
        "identifier": [
            {
                "type": LANR_TYPE,
                "system": "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR",
                "value": "987654423",
            }
        ],
        "name": [
            {
                "use": "official",
                "family": "Schneider",
                "_family": {
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/humanname-own-name",
                            "valueString": "Schneider",
                        }
                    ]
                },
                "given": ["Emma"],
                "prefix": ["Dr. med."],
            }
        ],
        "qualification": [
            {"code": {"coding": [{"system": KBV_QUALIFICATION, "code": "00"}]}},
            {
                "code": {
                    "coding": [{"system": f"{SR}/CodeSystem/qualification", "code": "suchtmedizin"}]
                }
            },
        ],
    }
    custodian = {
        "resourceType": "Organization",
        "id": "praxis",
        "identifier": [
            {"system": "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_BSNR", "value": "031234567"}
        ],
        "name": "Hausarztpraxis Dr. Schneider",
        "telecom": [{"system": "phone", "value": "0301234567"}],
        "address": [
            {"type": "both", "line": ["Musterstr. 2"], "postalCode": "10623", "city": "Berlin"}
        ],
    }
    medication = {
        "resourceType": "Medication",
        "id": "med",
        "code": {
            "coding": [
                {
                    "system": "https://fhir.kbv.de/CodeSystem/KBV_CS_ERP_Medication_Type",
                    "code": "freitext",
                }
            ],
            "text": "L-Polamidon Lösung zur Substitution 5,0 mg/ml",
        },
    }
    prescription = {
        "resourceType": "MedicationRequest",
        "id": "rx",
        **kbv_marker("S"),
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": uid(5)},
        "subject": {"reference": uid(2)},
        "authoredOn": "2025-03-03",
        "requester": {"reference": uid(3)},
    }
    composition = {
        "resourceType": "Composition",
        "id": "comp",
        "status": "final",
        "type": {
            "coding": [
                {
                    "system": "https://fhir.kbv.de/CodeSystem/KBV_CS_SFHIR_KBV_FORMULAR_ART",
                    "code": "e16A",
                }
            ]
        },
        "subject": {"reference": uid(2)},
        "date": "2025-03-03T08:00:00+01:00",
        "author": [
            {"reference": uid(3), "type": "Practitioner"},
            {"type": "Device", "identifier": {"value": "Y/400/2107/36/999"}},
        ],
        "title": "elektronische Arzneimittelverordnung",
        "attester": [{"mode": "legal", "party": {"reference": uid(4)}}],
        "custodian": {"reference": uid(6)},
        "section": [{"entry": [{"reference": uid(1)}]}],
    }
    resources = [composition, prescription, patient(), author, responsible, medication, custodian]
    return {
        "resourceType": "Bundle",
        "id": "kbv",
        "type": "document",
        "entry": [{"fullUrl": uid(n), "resource": r} for n, r in enumerate(resources)],
    }


@pytest.mark.parametrize(
    "author_type", ["03", "04"], ids=["arzt-in-weiterbildung", "arzt-als-vertreter"]
)
def test_kbv_document_bundle_reports_the_attesting_doctor(tmp_path: Path, author_type: str) -> None:
    """KBV author 03/04: the attester is the substituting doctor; BtM by config (INPUT.md)."""
    config = PracticeConfig(
        doctors={
            "987654423": DoctorConfig(btm_number="3811111", birth_date="1975-02-03"),
            "555555501": DoctorConfig(btm_number="3822222"),
        }
    )
    document = run(tmp_path, _kbv_bundle(author_type), "2025-03-31", config)
    # An S prescription without dispense covers its first day: 03-03 .. 03-03; made 03-14.
    assert keys(document) == [
        anmeldung("2025-03-03", "Levomethadon", btm="3811111"),
        abmeldung("2025-03-03", btm="3811111"),
    ]
    registered = document["reports"][0]["doctor"]
    assert (registered["family_name"], registered["given_name"]) == ("Schneider", "Emma")
    assert registered["birth_date"] == "1975-02-03"
    assert registered["address"] == {
        "line": ["Musterstr. 2"],
        "postal_code": "10623",
        "city": "Berlin",
    }
    assert registered["phone"] == "0301234567"


def test_kbv_document_bundle_without_config_asks_for_the_btm_number(tmp_path: Path) -> None:
    """KBV data carries no doctor's BtM number: without config, error R-DOC-1 (REAL-DATA 3)."""
    document = run(tmp_path, _kbv_bundle("03"), "2025-03-31")
    assert keys(document) == []
    assert "R-DOC-1" in rules(document, "error")


# -- contacts, absences, names, caseload ------------------------------------------------


def test_finished_encounter_is_a_contact_that_resets_the_ten_days(tmp_path: Path) -> None:
    """A finished Encounter with a practitioner is a contact (INPUT.md 'Days covered', R-EP-3)."""
    visit = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "participant": [{"individual": {"reference": "Practitioner/d1"}}],
        "period": {"start": "2025-03-15T10:00:00+01:00", "end": "2025-03-15T10:20:00+01:00"},
    }
    planned = {**visit, "id": "e2", "status": "planned", "period": {"start": "2025-03-26"}}
    # Without the visit: 03-08..03-17 → made 03-18. With it: 03-16..03-25 → made 03-26.
    document = run(tmp_path, practice(visit, planned), "2025-03-31")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]
    assert document["reports"][1]["made_on"] == "2025-03-26"


def test_absence_without_end_is_ongoing(tmp_path: Path) -> None:
    """An onhold absence without period.end is ongoing: Abmeldung on its 31st day (edge case 5)."""
    away = {
        "status": "onhold",
        "period": {"start": "2025-03-08"},
        "extension": [{"url": f"{SR}/StructureDefinition/absence-reason", "valueCode": "prison"}],
    }
    events = daily("2025-03-03", "2025-03-07", context={"reference": "EpisodeOfCare/eoc1"})
    resources = [patient(), doctor(), episode(statusHistory=[away]), request(), *events]
    document = run(tmp_path, resources, "2025-04-30")
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]
    assert document["reports"][1]["made_on"] == "2025-04-07"  # 03-08 + 30
    assert document["reports"][1]["rule"] == "R-ABS-3"


def test_new_name_on_the_first_day_is_no_name_change(tmp_path: Path) -> None:
    """A name whose period starts on the phase's first day is no name change (edge case 9)."""
    renamed = patient(
        name=[
            {
                "use": "official",
                "family": "Alt",
                "given": ["Anna"],
                "period": {"end": "2025-03-02"},
            },
            {
                "use": "official",
                "family": "Berger",
                "given": ["Anna"],
                "period": {"start": "2025-03-03"},
            },
            {"use": "nickname", "family": "Zett", "given": ["Ann"]},
        ]
    )
    resources = [renamed, doctor(), request(), *daily("2025-03-03", "2025-03-07")]
    assert keys(run(tmp_path, resources, "2025-03-31")) == [
        anmeldung("2025-03-03"),
        abmeldung("2025-03-07"),
    ]


@pytest.mark.parametrize(
    ("gender", "override", "code"),
    [
        ("other", None, None),
        ("unknown", None, None),
        (None, None, None),
        ("other", "X", None),
        ("other", "F", "ANBEF530"),
        ("unknown", "M", "ANBEM530"),
    ],
    ids=["other", "unknown", "no-gender", "override-X", "other-override-F", "unknown-override-M"],
)
def test_sex_other_than_female_or_male_needs_the_override(
    tmp_path: Path, gender: str | None, override: str | None, code: str | None
) -> None:
    """gender other/unknown needs the register-sex extension F or M, else R-CODE-3 (INPUT.md)."""
    person = patient(gender=gender)
    if gender is None:
        del person["gender"]
    if override is not None:
        url = f"{SR}/StructureDefinition/register-sex"
        person["extension"] = [{"url": url, "valueCode": override}]
    resources = [person, doctor(), request(), *daily("2025-03-03", "2025-03-07")]
    document = run(tmp_path, resources, "2025-03-31")
    if code is None:
        assert keys(document) == []
        assert "R-CODE-3" in rules(document, "error")
    else:
        assert keys(document) == [
            anmeldung("2025-03-03", code=code),
            abmeldung("2025-03-07", code=code),
        ]


@pytest.mark.parametrize("birth", ["1980", "1980-03", "1980-02-30"], ids=str)
def test_birth_date_must_be_a_full_date(tmp_path: Path, birth: str) -> None:
    """A partial or impossible birth date cannot be coded: R-CODE-4, no report."""
    resources = [patient(birthDate=birth), doctor(), request(), *daily("2025-03-03", "2025-03-07")]
    document = run(tmp_path, resources, "2025-03-31")
    assert keys(document) == []
    assert "R-CODE-4" in rules(document, "error")


@pytest.mark.parametrize(
    "btm", ["38001", "ABCDEFG", "3800101 "], ids=["5-digits", "letters", "space"]
)
def test_btm_identifier_that_is_not_seven_digits_is_not_reported(tmp_path: Path, btm: str) -> None:
    """A BtM number has 7 digits (R-DOC-1): a malformed one is no BtM number, error R-DOC-1."""
    resources = [patient(), doctor(btm=btm), request(), *daily("2025-03-03", "2025-03-07")]
    document = run(tmp_path, resources, "2025-03-31")
    assert all(r["doctor"]["btm_number"] != btm for r in document["reports"])
    assert "R-DOC-1" in rules(document, "error")


def _caseload(patients: int) -> list[Json]:
    """An unqualified doctor with `patients` patients, each with a consulting doctor."""
    consultant = doctor("k1", btm="3800404")
    resources = [doctor(qualification=None), consultant]
    givens = [
        "Anna",
        "Berta",
        "Clara",
        "Doris",
        "Emma",
        "Frida",
        "Greta",
        "Hanna",
        "Ida",
        "Jule",
        "Karla",
    ]
    role = {"coding": [{"system": f"{SR}/CodeSystem/care-team-role", "code": "konsiliararzt"}]}
    for given in givens[:patients]:
        pid = given.lower()
        person = patient(pid, name=[{"use": "official", "family": "Berger", "given": [given]}])
        team = {
            "resourceType": "CareTeam",
            "id": f"ct-{pid}",
            "subject": {"reference": f"Patient/{pid}"},
            "participant": [
                {
                    "role": [role],
                    "member": {"reference": "Practitioner/k1"},
                    "period": {"start": "2025-01-01"},
                }
            ],
        }
        marked = request(f"mr-{pid}", patient_ref=f"Patient/{pid}")
        events = daily(
            "2025-03-03",
            "2025-03-07",
            prefix=pid,
            patient_ref=f"Patient/{pid}",
            request_ref=f"MedicationRequest/mr-{pid}",
        )
        resources += [person, team, marked, *events]
    return resources


@pytest.mark.parametrize(("patients", "warned"), [(10, False), (11, True)], ids=["ten", "eleven"])
def test_unqualified_doctor_with_more_than_ten_patients_is_warned(
    tmp_path: Path, patients: int, warned: bool
) -> None:
    """R-DOC-2: more than 10 patients at once under an unqualified doctor is a warning."""
    document = run(tmp_path, _caseload(patients), "2025-03-10")
    assert len(document["reports"]) == patients
    assert all(r["consultant"]["btm_number"] == "3800404" for r in document["reports"])
    assert ("R-DOC-2" in rules(document, "warning")) is warned
    assert "R-DOC-2" not in rules(document, "error")
