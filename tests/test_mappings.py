"""The mapping data in mappings/ (INPUT.md 'Substance', edge case 3; STYLE rule 4)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from adapter.domain.coverage import depot_last_day
from adapter.domain.model import SUBSTANCES, Depot
from adapter.errors import MappingError
from adapter.fhir.medication import medication_info
from adapter.mappings import (
    Mappings,
    default_mappings_dir,
    load_mappings,
    packaged_mappings,
    strength_in,
)

ATC = "http://fhir.de/CodeSystem/bfarm/atc"
PZN = "http://fhir.de/CodeSystem/ifa/pzn"
SNOMED = "http://snomed.info/sct"

Json = dict[str, Any]


@pytest.fixture(scope="module")
def mappings() -> Mappings:
    return load_mappings(packaged_mappings())


def substance_of(
    mappings: Mappings, concept: Json, ingredients: list[Json] | None = None
) -> str | None:
    return medication_info(concept, ingredients or [], mappings).substance


@pytest.mark.parametrize(
    ("code", "substance"),
    [
        ("N07BC01", "Buprenorphin"),
        ("N07BC51", "Buprenorphin"),
        ("N07BC02", "Methadon"),
        ("N07BC05", "Levomethadon"),
        ("N07BC06", "Diamorphin"),
        ("N02AA09", "Diamorphin"),
        ("N02AA01", "Morphin"),
        ("R05DA04", "Codein"),
        ("N02AA08", "Dihydrocodein"),
        ("N02AE01", "Buprenorphin"),
        ("n07bc02", "Methadon"),
    ],
    ids=str,
)
def test_atc_codes_map_to_the_register_substance(
    mappings: Mappings, code: str, substance: str
) -> None:
    """Every ATC code of INPUT.md maps to one of the seven substances (R-SUB-1, R-SUB-2)."""
    assert substance_of(mappings, {"coding": [{"system": ATC, "code": code}]}) == substance


def test_analgesic_atc_codes_are_flagged(mappings: Mappings) -> None:
    """Patch and cough/pain combinations are flagged: only an S/ST marker ties them (R-SUB-5)."""
    for code in ("N02AE01", "N02AA59"):
        info = medication_info({"coding": [{"system": ATC, "code": code}]}, [], mappings)
        assert info.analgesic, code
    for code in ("N07BC01", "N07BC02", "N07BC05", "N02AA01"):
        info = medication_info({"coding": [{"system": ATC, "code": code}]}, [], mappings)
        assert not info.analgesic, code


def test_every_mapped_substance_is_a_register_substance(mappings: Mappings) -> None:
    """The data only ever names the seven register substances (R-SUB-1)."""
    named = {e.substance for e in mappings.atc.values()}
    named |= set(mappings.snomed.values()) | {s for _, s in mappings.text_words}
    named |= {p.substance for p in mappings.products}
    assert named <= set(SUBSTANCES)
    assert set(SUBSTANCES) <= named


@pytest.mark.parametrize(
    ("text", "substance"),
    [
        ("Polamidon", "Levomethadon"),
        ("L-Polamidon Lösung zur Substitution 5 mg/ml", "Levomethadon"),
        ("L-Polaflux 5 mg/ml Lösung zum Einnehmen", "Levomethadon"),
        ("Levomethadonhydrochlorid", "Levomethadon"),
        ("L-Methadon", "Levomethadon"),
        ("Methaddict 10 mg Tabletten", "Methadon"),
        ("Methadonhydrochlorid", "Methadon"),
        ("Methadon-HCl-Lösung 1 % (NRF 29.1.)", "Methadon"),
        ("Eptadone 5 mg/ml", "Methadon"),
        ("Subutex 8 mg Sublingualtabletten", "Buprenorphin"),
        ("Suboxone 8 mg/2 mg Sublingualtabletten", "Buprenorphin"),
        ("Buvidal 64 mg Depot-Injektionslösung", "Buprenorphin"),
        ("Sixmo 74,2 mg Implantat", "Buprenorphin"),
        ("Buprenorphin AL 2 mg", "Buprenorphin"),
        ("Substitol 200 mg Hartkapseln, retardiert", "Morphin"),
        ("Morphinsulfat", "Morphin"),
        ("Diaphin IV 10 g", "Diamorphin"),
        ("Diamorphin", "Diamorphin"),
        ("Diacetylmorphin", "Diamorphin"),
        ("Dihydrocodein", "Dihydrocodein"),
        ("DHC 60 Dihydrocodeinhydrogentartrat", "Dihydrocodein"),
        ("Codeinphosphat", "Codein"),
        ("POLAMIDON", "Levomethadon"),
        ("Paracetamol 500 mg", None),
        ("Naloxon", None),
    ],
    ids=str,
)
def test_product_and_substance_texts(mappings: Mappings, text: str, substance: str | None) -> None:
    """Texts map to the right substance; Levomethadon is not Methadon, Diamorphin not Morphin."""
    assert mappings.substance_for_text(text) == substance
    assert substance_of(mappings, {"text": text}) == substance


@pytest.mark.parametrize(
    ("text", "substance"),
    [
        ("Levomethadon", "Levomethadon"),
        ("Diamorphin", "Diamorphin"),
        ("Dihydrocodein", "Dihydrocodein"),
    ],
    ids=str,
)
def test_longer_names_are_not_read_as_the_shorter_substance(
    mappings: Mappings, text: str, substance: str
) -> None:
    """'Levomethadon' is no Methadon, 'Diamorphin' no Morphin, 'Dihydrocodein' no Codein."""
    for prefix in ("", "Wirkstoff: ", "Rezeptur mit "):
        assert mappings.substance_for_text(prefix + text) == substance


def test_compounding_ingredient_text(mappings: Mappings) -> None:
    """KBV compounding: the substance comes from ingredient text (REAL-DATA.md 9)."""
    code = {
        "coding": [
            {
                "system": "https://fhir.kbv.de/CodeSystem/KBV_CS_ERP_Medication_Type",
                "code": "rezeptur",
            }
        ]
    }
    ingredients = [
        {"itemCodeableConcept": {"text": "Gereinigtes Wasser"}},
        {"itemCodeableConcept": {"text": "Methadonhydrochlorid"}},
    ]
    assert substance_of(mappings, code, ingredients) == "Methadon"


def test_atc_comes_before_text(mappings: Mappings) -> None:
    """ATC first, then PZN, SNOMED / ASK, then text (INPUT.md order)."""
    concept = {"coding": [{"system": ATC, "code": "N07BC05"}], "text": "Methadon-Rezeptur"}
    info = medication_info(concept, [], mappings)
    assert (info.substance, info.label) == ("Levomethadon", "ATC N07BC05")


def test_snomed_substance_code(mappings: Mappings) -> None:
    """SNOMED CT substance codes map via mappings/ (INPUT.md 'Substance')."""
    concept = {"coding": [{"system": SNOMED, "code": "387286002"}]}
    assert substance_of(mappings, concept) == "Methadon"


# -- depots (edge case 3) -------------------------------------------------------------


@pytest.mark.parametrize("mg", ["8", "16", "24", "32"], ids=lambda v: f"{v}mg")
def test_buvidal_weekly_strengths_cover_7_days(mappings: Mappings, mg: str) -> None:
    """Buvidal 8/16/24/32 mg is the weekly depot: 7 days (INPUT.md edge case 3)."""
    assert mappings.depot_for(None, f"Buvidal {mg} mg Depot-Injektionslösung") == Depot(
        7, None, False
    )


@pytest.mark.parametrize("mg", ["64", "96", "128", "160"], ids=lambda v: f"{v}mg")
def test_buvidal_monthly_strengths_cover_28_days(mappings: Mappings, mg: str) -> None:
    """Buvidal 64/96/128/160 mg is the monthly depot: 28 days (INPUT.md edge case 3)."""
    assert mappings.depot_for(None, f"Buvidal {mg} mg Depot-Injektionslösung") == Depot(
        28, None, False
    )


@pytest.mark.parametrize(
    "text",
    ["Buvidal Depot-Injektionslösung", "BUVIDAL", "Buvidal 48 mg", "Buvidal 0,5 ml Fertigspritze"],
    ids=["no-strength", "upper-case", "unknown-strength", "volume-only"],
)
def test_buvidal_of_unknown_form_covers_28_days_uncertain(mappings: Mappings, text: str) -> None:
    """A Buvidal whose form cannot be told: 28 days, flagged uncertain for a warning."""
    assert mappings.depot_for(None, text) == Depot(28, None, True)


def test_sixmo_is_six_months(mappings: Mappings) -> None:
    """Sixmo implants deliver six calendar months (REAL-DATA.md 11)."""
    assert mappings.depot_for(None, "Sixmo 74,2 mg Implantat") == Depot(None, 6, False)


@pytest.mark.parametrize("text", ["Subutex 8 mg", "Methaddict 10 mg", "L-Polaflux"], ids=str)
def test_non_depot_products_have_no_duration(mappings: Mappings, text: str) -> None:
    """Daily products are no depot: they cover their own day only."""
    assert mappings.depot_for(None, text) is None


@pytest.mark.parametrize(
    ("start", "last"),
    [
        ("2025-01-15", "2025-07-14"),
        ("2025-09-10", "2026-03-09"),
        ("2025-07-01", "2025-12-31"),
    ],
    ids=["INPUT-example", "across-new-year", "month-start"],
)
def test_six_calendar_months_end_the_day_before(start: str, last: str) -> None:
    """Six months from D end the day before the same day six months later (edge case 3)."""
    assert depot_last_day(date.fromisoformat(start), Depot(None, 6, False)) == date.fromisoformat(
        last
    )


@pytest.mark.parametrize(
    ("text", "mg"),
    [("Buvidal 24 mg", 24.0), ("Buvidal 8,0 mg", 8.0), ("Buvidal 128mg", 128.0), ("Buvidal", None)],
    ids=["plain", "decimal-comma", "no-space", "none"],
)
def test_strength_is_read_from_the_product_text(text: str, mg: float | None) -> None:
    """The strength in mg written in a product text ("Buvidal 24 mg" → 24)."""
    assert strength_in(text) == mg


# -- the files themselves ------------------------------------------------------------


def copy_mappings(tmp_path: Path) -> Path:
    folder = tmp_path / "mappings"
    shutil.copytree(str(packaged_mappings()), folder)
    return folder


def edit(folder: Path, name: str, change: Callable[[Json], None]) -> None:
    path = folder / name
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_a_copy_of_the_mappings_loads(tmp_path: Path) -> None:
    """A copied mappings/ folder loads the same data as the original."""
    copy = load_mappings(copy_mappings(tmp_path))
    original = load_mappings(packaged_mappings())
    assert copy.atc == original.atc
    assert copy.products == original.products
    # The fingerprint sync compares is over the files, not their place: the same here.
    assert copy.fingerprint == original.fingerprint


def test_pzn_added_to_products_is_found(tmp_path: Path) -> None:
    """A PZN added to products.json identifies the product and its form (STYLE rule 4)."""
    folder = copy_mappings(tmp_path)

    def add_pzn(data: Json) -> None:
        buvidal = next(p for p in data["products"] if p["name"] == "Buvidal")
        buvidal["pzn"] = {"19999992": 16, "19999993": None}

    edit(folder, "products.json", add_pzn)
    mappings = load_mappings(folder)
    weekly = medication_info({"coding": [{"system": PZN, "code": "19999992"}]}, [], mappings)
    assert (weekly.substance, weekly.label) == ("Buprenorphin", "PZN 19999992")
    assert weekly.depot == Depot(7, None, False)
    unknown = medication_info({"coding": [{"system": PZN, "code": "19999993"}]}, [], mappings)
    assert unknown.depot == Depot(28, None, True)
    stranger = medication_info({"coding": [{"system": PZN, "code": "00000000"}]}, [], mappings)
    assert stranger.substance is None


def test_pzn_wins_over_a_misleading_text(tmp_path: Path) -> None:
    """A known PZN gives the form even when the text says another strength."""
    folder = copy_mappings(tmp_path)
    edit(folder, "products.json", lambda d: d["products"][0].update(pzn={"19999994": 128}))
    mappings = load_mappings(folder)
    concept = {"coding": [{"system": PZN, "code": "19999994"}], "text": "Buvidal 8 mg"}
    assert medication_info(concept, [], mappings).depot == Depot(28, None, False)


def _set(path: list[str | int], value: Any) -> Callable[[Json], None]:
    def change(data: Json) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


BROKEN = [
    ("substances.json", _set(["atc", "N07BC02", "substance"], "Methadone"), "atc.N07BC02"),
    ("substances.json", _set(["atc", "N07BC02"], "Methadon"), "atc.N07BC02"),
    ("substances.json", _set(["atc"], ["N07BC02"]), "'atc'"),
    (
        "substances.json",
        _set(["atc_systems"], "http://fhir.de/CodeSystem/bfarm/atc"),
        "atc_systems",
    ),
    ("substances.json", _set(["snomed", "387286002"], "Methadone"), "snomed.387286002"),
    ("substances.json", _set(["text", 3, "word"], ""), "text[3].word"),
    ("substances.json", _set(["text", 3, "substance"], "Polamidon"), "text[3].substance"),
    ("substances.json", _set(["text"], {"methadon": "Methadon"}), "'text'"),
    ("products.json", _set(["products", 0, "substance"], "Buprenorphine"), "Buvidal"),
    ("products.json", _set(["products", 0, "depot"], [7, 28]), "Buvidal"),
    ("products.json", _set(["products", 1, "name"], None), "name"),
]


@pytest.mark.parametrize(
    ("name", "change", "key"),
    BROKEN,
    ids=[
        "atc-unknown-substance",
        "atc-entry-not-object",
        "atc-not-object",
        "atc-systems-not-list",
        "snomed-unknown-substance",
        "text-empty-word",
        "text-brand-as-substance",
        "text-not-list",
        "product-unknown-substance",
        "product-depot-not-object",
        "product-without-name",
    ],
)
def test_malformed_mapping_raises_naming_file_and_key(
    tmp_path: Path, name: str, change: Callable[[Json], None], key: str
) -> None:
    """A malformed mapping file raises MappingError naming the file and the key."""
    folder = copy_mappings(tmp_path)
    edit(folder, name, change)
    with pytest.raises(MappingError) as raised:
        load_mappings(folder)
    assert name in str(raised.value)
    assert key in str(raised.value)


BROKEN_VALUES = [
    ("products.json", _set(["products", 0, "depot", "days_by_strength_mg", "8"], "seven"), "8"),
    ("products.json", _set(["products", 0, "depot", "days_by_strength_mg"], {"acht": 7}), "acht"),
    ("products.json", _set(["products", 0, "pzn"], {"19999992": "acht"}), "19999992"),
    ("products.json", _set(["products", 0, "words"], "buvidal"), "words"),
    ("products.json", _set(["products", 1, "depot", "months"], "6"), "months"),
    (
        "products.json",
        _set(["products", 0, "depot", "days_when_unknown"], "28"),
        "days_when_unknown",
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "key"),
    BROKEN_VALUES,
    ids=[
        "days-not-a-number",
        "strength-not-a-number",
        "pzn-strength-not-a-number",
        "words-a-string",
        "months-a-string",
        "days-when-unknown-a-string",
    ],
)
def test_malformed_product_values_raise_mapping_error(
    tmp_path: Path, name: str, change: Callable[[Json], None], key: str
) -> None:
    """A wrong value type in products.json raises MappingError naming file and key."""
    folder = copy_mappings(tmp_path)
    edit(folder, name, change)
    with pytest.raises(MappingError) as raised:
        load_mappings(folder)
    assert name in str(raised.value)
    assert key in str(raised.value)


@pytest.mark.parametrize(
    "name",
    ["substances.json", "products.json", "names.json"],
    ids=str,
)
def test_missing_mapping_file_raises(tmp_path: Path, name: str) -> None:
    """A missing mapping file raises MappingError naming it."""
    folder = copy_mappings(tmp_path)
    (folder / name).unlink()
    with pytest.raises(MappingError) as raised:
        load_mappings(folder)
    assert name in str(raised.value)


@pytest.mark.parametrize(
    "name",
    ["substances.json", "products.json", "names.json"],
    ids=str,
)
def test_mapping_file_that_is_not_json_raises(tmp_path: Path, name: str) -> None:
    """A mapping file that is not JSON raises MappingError naming it."""
    folder = copy_mappings(tmp_path)
    (folder / name).write_text('{"atc": {', encoding="utf-8")
    with pytest.raises(MappingError, match="not valid JSON") as raised:
        load_mappings(folder)
    assert name in str(raised.value)


def test_mappings_dir_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SUBSTREG_MAPPINGS_DIR names the folder load_mappings() reads (mappings.py contract)."""
    load_mappings()  # as any earlier derive in the same process would
    folder = copy_mappings(tmp_path)
    edit(folder, "products.json", lambda d: d["products"][0].update(pzn={"19999992": 16}))
    monkeypatch.setenv("SUBSTREG_MAPPINGS_DIR", str(folder))
    assert load_mappings().product_for_pzn("19999992") is not None


def test_defaults_are_package_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SUBSTREG_MAPPINGS_DIR the files come from the package (importlib.resources)."""
    monkeypatch.delenv("SUBSTREG_MAPPINGS_DIR", raising=False)
    folder = default_mappings_dir()
    assert folder == files("adapter") / "data" / "mappings"
    assert sorted(entry.name for entry in folder.iterdir()) == [
        "README.md",
        "codes.json",
        "names.json",
        "products.json",
        "substances.json",
    ]
    assert load_mappings() == load_mappings(folder)


def test_an_edit_changes_the_fingerprint(tmp_path: Path) -> None:
    """An edited mapping file gives another fingerprint (sync then warns, D-30)."""
    edited = copy_mappings(tmp_path)
    edit(edited, "names.json", lambda d: d["titles"].append("Mag."))
    assert load_mappings(edited).fingerprint != load_mappings(packaged_mappings()).fingerprint


def test_a_file_missing_from_the_override_names_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An override folder without products.json: MappingError naming it and the defaults."""
    folder = copy_mappings(tmp_path)
    (folder / "products.json").unlink()
    monkeypatch.setenv("SUBSTREG_MAPPINGS_DIR", str(folder))
    with pytest.raises(MappingError, match=r"products\.json is missing") as raised:
        load_mappings()
    assert str(packaged_mappings()) in str(raised.value)
