"""The implementation guide in fhir_profiles/ is valid FHIR, consistent, and fits the scenarios.

Every JSON file parses with the R4-family models of fhir.resources (R4B: the R4
resources we profile are unchanged there), every conformance resource sits under
its canonical URL, every https://fhir.substreg.dev canonical resolves to a file,
and every code the scenario inputs use from our code systems is defined.
"""

from __future__ import annotations

import functools
import json
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

REPO = Path(__file__).resolve().parents[1]
PROFILES = REPO / "fhir_profiles"
EXAMPLES = PROFILES / "examples"
SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "scenarios"

BASE = "https://fhir.substreg.dev"
CONFORMANCE_TYPES = frozenset({"CodeSystem", "ValueSet", "StructureDefinition"})
CORE_SD = "http://hl7.org/fhir/StructureDefinition/"
# Extensions of ours whose valueCode comes from a code system of ours.
CODED_EXTENSIONS = {
    f"{BASE}/StructureDefinition/absence-reason": f"{BASE}/CodeSystem/absence-reason",
    f"{BASE}/StructureDefinition/register-sex": f"{BASE}/CodeSystem/register-sex",
}
REFERENCE = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})$")


def _rel(path: Path) -> str:
    return path.relative_to(PROFILES).as_posix()


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


ALL_FILES = sorted(PROFILES.rglob("*.json"))
CONFORMANCE_FILES = sorted(
    p for p in PROFILES.glob("*.json") if _load(p).get("resourceType") in CONFORMANCE_TYPES
)
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
SCENARIO_INPUTS = sorted(SCENARIOS.glob("*/input.json")) if SCENARIOS.is_dir() else []


@functools.cache
def _by_url() -> dict[str, dict[str, Any]]:
    return {(data := _load(p))["url"]: data for p in CONFORMANCE_FILES}


def _of_type(resource_type: str) -> list[dict[str, Any]]:
    return [r for r in _by_url().values() if r["resourceType"] == resource_type]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Yield every JSON object inside node, node included."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _our_codes(document: Any) -> set[tuple[str, str]]:
    """(code system URL, code) pairs of our code systems used in a FHIR document."""
    used: set[tuple[str, str]] = set()
    for obj in _walk(document):
        system, code = obj.get("system"), obj.get("code")
        if isinstance(system, str) and system.startswith(f"{BASE}/CodeSystem/") and code:
            used.add((system, code))
        url = obj.get("url")
        if url in CODED_EXTENSIONS and "valueCode" in obj:
            used.add((CODED_EXTENSIONS[url], obj["valueCode"]))
    return used


def _concept_codes(concepts: list[dict[str, Any]]) -> Iterator[str]:
    for concept in concepts:
        yield concept["code"]
        yield from _concept_codes(concept.get("concept", []))


@functools.cache
def _defined_codes() -> dict[str, set[str]]:
    return {cs["url"]: set(_concept_codes(cs.get("concept", []))) for cs in _of_type("CodeSystem")}


def _code_params(files: list[Path], root: Path) -> list[Any]:
    pairs: dict[tuple[str, str], str] = {}
    for path in files:
        for pair in sorted(_our_codes(_load(path))):
            pairs.setdefault(pair, path.relative_to(root).as_posix())
    return [
        pytest.param(system, code, source, id=f"{system.rsplit('/', 1)[-1]}#{code}")
        for (system, code), source in sorted(pairs.items())
    ]


SCENARIO_CODES = _code_params(SCENARIO_INPUTS, SCENARIOS) or [
    pytest.param(
        "", "", "", id="no-scenarios", marks=pytest.mark.skip(reason=f"{SCENARIOS} not found")
    )
]
EXAMPLE_CODES = _code_params(EXAMPLE_FILES, PROFILES)


def test_the_guide_has_its_files() -> None:
    """The guide holds conformance resources, examples and its README."""
    assert (PROFILES / "README.md").is_file()
    assert len(CONFORMANCE_FILES) >= 20
    assert len(EXAMPLE_FILES) >= 6


@pytest.mark.parametrize("path", ALL_FILES, ids=_rel)
def test_every_json_file_parses_with_the_r4b_models(path: Path) -> None:
    """Each JSON file under fhir_profiles/ is a resource the R4B models accept."""
    data = _load(path)
    model = get_fhir_model_class(data["resourceType"]).model_validate(data)
    assert model.id == data["id"]


@pytest.mark.parametrize("path", ALL_FILES, ids=_rel)
def test_json_is_tidy(path: Path) -> None:
    """Files are UTF-8, 2-space indented, without ASCII escapes, ending in one newline."""
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("path", ALL_FILES, ids=_rel)
def test_file_is_named_after_type_and_id(path: Path) -> None:
    """Each file is named <resourceType>-<id>.json."""
    data = _load(path)
    assert path.name == f"{data['resourceType']}-{data['id']}.json"


@pytest.mark.parametrize("path", CONFORMANCE_FILES, ids=_rel)
def test_conformance_resource_url_matches_its_file_name(path: Path) -> None:
    """Each conformance resource's url is BASE/<Type>/<id>, matching its file name."""
    data = _load(path)
    resource_type, _, id_ = path.stem.partition("-")
    assert data["url"] == f"{BASE}/{resource_type}/{id_}"


@pytest.mark.parametrize("path", CONFORMANCE_FILES, ids=_rel)
def test_conformance_resource_metadata(path: Path) -> None:
    """Each conformance resource is version 0.1.0, draft, published by substreg-adapter."""
    data = _load(path)
    assert (data["version"], data["status"], data["publisher"]) == (
        "0.1.0",
        "draft",
        "substreg-adapter",
    )
    assert re.fullmatch(r"[A-Z][A-Za-z0-9_]{0,254}", data["name"])
    assert data["description"].strip()


@pytest.mark.parametrize("path", ALL_FILES, ids=_rel)
def test_every_canonical_of_ours_resolves(path: Path) -> None:
    """Every https://fhir.substreg.dev URL used anywhere in the guide is a resource of the guide."""
    known = set(_by_url())
    used = {s.split("|")[0].split("#")[0] for s in _strings(_load(path)) if s.startswith(BASE)}
    assert used <= known, sorted(used - known)


@pytest.mark.parametrize("cs", _of_type("CodeSystem"), ids=lambda cs: cs["id"])
def test_code_system_is_complete_and_consistent(cs: dict[str, Any]) -> None:
    """Each CodeSystem is complete, counts its concepts and defines each code once, with text."""
    codes = list(_concept_codes(cs["concept"]))
    assert cs["content"] == "complete"
    assert cs["caseSensitive"] is True
    assert cs["count"] == len(codes) == len(set(codes))
    assert all(c.get("display") and c.get("definition") for c in cs["concept"])
    assert cs["valueSet"] in _by_url()
    declared = {p["code"] for p in cs.get("property", [])}
    for concept in cs["concept"]:
        assert {p["code"] for p in concept.get("property", [])} <= declared


@pytest.mark.parametrize(
    ("system", "codes"),
    [
        ("btm-marker", {"S", "ST", "N", "K", "SZ", "T", "A"}),
        ("episode-type", {"substitution", "detox"}),
        ("qualification", {"suchtmedizin"}),
        ("care-team-role", {"konsiliararzt"}),
        ("absence-reason", {"hospital", "prison", "holiday", "abroad", "other"}),
        ("register-sex", {"F", "M"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_code_system_defines_the_codes_of_input_md(system: str, codes: set[str]) -> None:
    """Each of our code systems defines exactly the codes INPUT.md names."""
    assert _defined_codes()[f"{BASE}/CodeSystem/{system}"] == codes


def test_legacy_btm_markers_are_deprecated() -> None:
    """SZ, T and A carry the deprecated property; S, ST, N and K do not."""
    (cs,) = [c for c in _of_type("CodeSystem") if c["id"] == "btm-marker"]
    deprecated = {
        c["code"]
        for c in cs["concept"]
        if any(p["code"] == "deprecated" for p in c.get("property", []))
    }
    assert deprecated == {"SZ", "T", "A"}
    assert all(
        c["definition"].startswith("DEPRECATED") for c in cs["concept"] if c["code"] in deprecated
    )


@pytest.mark.parametrize("vs", _of_type("ValueSet"), ids=lambda vs: vs["id"])
def test_value_set_includes_only_defined_codes(vs: dict[str, Any]) -> None:
    """A ValueSet over one of our code systems lists only codes that system defines."""
    defined = _defined_codes()
    for include in vs["compose"]["include"]:
        if include["system"].startswith(BASE):
            assert include["system"] in defined
            listed = {c["code"] for c in include.get("concept", [])}
            assert listed <= defined[include["system"]]


@pytest.mark.parametrize(
    ("vs_id", "system", "codes"),
    [
        (
            "substitution-substance",
            "http://fhir.de/CodeSystem/bfarm/atc",
            {
                "N07BC01",
                "N07BC51",
                "N07BC02",
                "N07BC05",
                "N07BC06",
                "N02AA09",
                "N02AA01",
                "R05DA04",
                "N02AA08",
            },
        ),
        ("opioid-dependence-diagnosis", "http://fhir.de/CodeSystem/bfarm/icd-10-gm", {"F11.2"}),
    ],
    ids=["substances", "diagnoses"],
)
def test_external_value_sets_list_the_codes_of_input_md(
    vs_id: str, system: str, codes: set[str]
) -> None:
    """The substance and diagnosis value sets list the codes INPUT.md names, in their systems."""
    (vs,) = [v for v in _of_type("ValueSet") if v["id"] == vs_id]
    listed = {
        c["code"]
        for inc in vs["compose"]["include"]
        if inc["system"] == system
        for c in inc.get("concept", [])
    }
    assert listed == codes


@pytest.mark.parametrize("sd", _of_type("StructureDefinition"), ids=lambda sd: sd["id"])
def test_structure_definition_is_an_r4_differential(sd: dict[str, Any]) -> None:
    """Each StructureDefinition constrains an R4 core type in differential form, in base order."""
    assert sd["fhirVersion"] == "4.0.1"
    assert sd["derivation"] == "constraint"
    assert sd["baseDefinition"] == CORE_SD + sd["type"]
    assert "snapshot" not in sd
    elements = sd["differential"]["element"]
    ids = [e["id"] for e in elements]
    assert len(ids) == len(set(ids))
    assert ids[0] == sd["type"]
    for element in elements:
        assert element["id"].split(".")[0] == sd["type"]
        assert element["path"] == ".".join(p.split(":")[0] for p in element["id"].split("."))
        if "sliceName" in element:
            assert element["id"].endswith(f":{element['sliceName']}")
    keys = [c["key"] for e in elements for c in e.get("constraint", [])]
    assert len(keys) == len(set(keys))
    assert all(
        c["severity"] in {"error", "warning"} for e in elements for c in e.get("constraint", [])
    )


@pytest.mark.parametrize(
    ("sd_id", "context"),
    [
        ("register-sex", "Patient"),
        ("duration-of-effect", "MedicationAdministration"),
        ("absence-reason", "EpisodeOfCare.statusHistory"),
    ],
    ids=["register-sex", "duration-of-effect", "absence-reason"],
)
def test_extension_has_its_context_and_fixed_url(sd_id: str, context: str) -> None:
    """Each extension names its context and fixes Extension.url to its own canonical."""
    sd = _by_url()[f"{BASE}/StructureDefinition/{sd_id}"]
    assert sd["type"] == "Extension"
    assert sd["context"] == [{"type": "element", "expression": context}]
    (url,) = [e for e in sd["differential"]["element"] if e["id"] == "Extension.url"]
    assert url["fixedUri"] == sd["url"]


def _model_of(annotation: Any) -> Any:
    """The model class behind a field annotation such as Optional[List[CodeableConceptType]]."""
    if hasattr(annotation, "get_model_klass"):
        return annotation.get_model_klass()
    for arg in typing.get_args(annotation):
        model = _model_of(arg)
        if model is not None:
            return model
    return None


def _base_position(model: Any, name: str) -> tuple[int, Any]:
    """Position of element `name` (choice elements as value[x]) in model, and its model."""
    sequence = model.elements_sequence()
    if name.endswith("[x]"):
        stem = name[:-3]
        for position, field in enumerate(sequence):
            if field.startswith(stem) and field[len(stem) : len(stem) + 1].isupper():
                return position, None
        msg = f"{model.__name__} has no choice element {name}"
        raise AssertionError(msg)
    assert name in sequence, f"{model.__name__} has no element {name}"
    return sequence.index(name), _model_of(model.model_fields[name].annotation)


@pytest.mark.parametrize("sd", _of_type("StructureDefinition"), ids=lambda sd: sd["id"])
def test_differential_elements_exist_in_the_base_in_order(sd: dict[str, Any]) -> None:
    """Each differential element names an element of the base type, listed in base order."""
    slices: dict[str, int] = {}
    keys = []
    for element in sd["differential"]["element"]:
        model = get_fhir_model_class(sd["type"])
        prefix, key = sd["type"], []
        for part in element["id"].split(".")[1:]:
            name, _, slice_name = part.partition(":")
            position, model = _base_position(model, name)
            prefix = f"{prefix}.{part}"
            rank = slices.setdefault(prefix, len(slices) + 1) if slice_name else 0
            key.append((position, rank))
        keys.append(key)
    assert keys == sorted(keys)
    assert len(keys) == len({tuple(k) for k in keys})


def _profiles() -> list[dict[str, Any]]:
    return [sd for sd in _of_type("StructureDefinition") if sd["kind"] == "resource"]


@pytest.mark.parametrize("sd", _profiles(), ids=lambda sd: sd["id"])
def test_every_profile_has_an_example(sd: dict[str, Any]) -> None:
    """Each profile has at least one example in fhir_profiles/examples/ that claims it."""
    claimed = [p for p in EXAMPLE_FILES if sd["url"] in _load(p).get("meta", {}).get("profile", [])]
    assert claimed
    assert all(_load(p)["resourceType"] == sd["type"] for p in claimed)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=_rel)
def test_example_parses_and_its_references_resolve(path: Path) -> None:
    """Each example parses and its Type/id references point at other examples."""
    data = _load(path)
    get_fhir_model_class(data["resourceType"]).model_validate(data)
    present = {f"{_load(p)['resourceType']}/{_load(p)['id']}" for p in EXAMPLE_FILES}
    refs = {o["reference"] for o in _walk(data) if isinstance(o.get("reference"), str)}
    for ref in refs:
        assert REFERENCE.match(ref), ref
        assert ref in present, ref


@pytest.mark.parametrize(("system", "code", "source"), EXAMPLE_CODES)
def test_example_codes_are_defined(system: str, code: str, source: str) -> None:
    """Every code of ours the examples use is defined in our CodeSystem files."""
    assert code in _defined_codes().get(system, set()), f"{system}#{code} in {source}"


@pytest.mark.parametrize(("system", "code", "source"), SCENARIO_CODES)
def test_scenario_codes_are_defined(system: str, code: str, source: str) -> None:
    """Every code of ours the scenario inputs use is defined in our CodeSystem files."""
    assert code in _defined_codes().get(system, set()), f"{system}#{code} in {source}"
