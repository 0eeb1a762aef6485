"""Substance, depot and BtM marker of medication events (INPUT.md 'Substance', R-SUB)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapter.domain.model import Depot
from adapter.fhir.values import JsonObject, codings, obj, objs, text
from adapter.mappings import Mappings

SR = "https://fhir.substreg.dev"
KBV_NARCOTIC = "https://fhir.kbv.de/StructureDefinition/KBV_EX_ERP_Narcotic"
EPA_NARCOTICS = "https://gematik.de/fhir/epa-medication/StructureDefinition/narcotics-extension"
BTM_MARKER_SYSTEM = f"{SR}/CodeSystem/btm-marker"
ICD10GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"

# Legacy spellings of the BtM markers (REAL-DATA.md 4): SZ was S with a take-home of
# up to two days; "S T" and "T" mean ST.
_MARKERS = {"S": "S", "ST": "ST", "SZ": "S", "T": "ST", "N": "N", "K": "K", "A": "A"}


@dataclass(frozen=True, slots=True)
class MedInfo:
    substance: str | None
    analgesic: bool  # ATC for pain or cough: only an S/ST marker ties it (R-SUB-5)
    depot: Depot | None
    # What identified it ("ATC N07BC02", "PZN 12345678", "text"); without a substance, what
    # it carries instead: "ATC …" (another substance), "PZN …", "ASK …", "text", "nothing",
    # or "missing" (a Medication the input does not hold).
    label: str
    btm: bool = False  # the Medication's category says Betäubungsmittel (KBV / ePA "01")

    @property
    def other_substance(self) -> bool:
        """Identified, as a substance that is none of the register's seven."""
        return self.substance is None and self.label.startswith("ATC ")


NO_MEDICATION = MedInfo(None, False, None, "nothing")
MISSING_MEDICATION = MedInfo(None, False, None, "missing")
KBV_CATEGORY = "https://fhir.kbv.de/StructureDefinition/KBV_EX_ERP_Medication_Category"
EPA_CATEGORY = "https://gematik.de/fhir/epa-medication/StructureDefinition/drug-category-extension"
_BTM_CATEGORY = "01"  # KBV_CS_ERP_Medication_Category / epa-drug-category-cs: Betäubungsmittel


def medication_info(
    code: JsonObject | None,
    ingredients: list[JsonObject],
    mappings: Mappings,
    *,
    btm: bool = False,
) -> MedInfo:
    """Substance by ATC, then PZN, then SNOMED / ASK, then text (INPUT.md order)."""
    pairs = codings(code)
    words = [t for t in (text(code, "text") if code else None,) if t]
    for item in ingredients:
        concept = obj(item, "itemCodeableConcept")
        pairs.extend(codings(concept))
        if concept is not None and (item_text := text(concept, "text")):
            words.append(item_text)
    pzn = next((c for s, c in pairs if s == mappings.pzn_system), None)
    depot = mappings.depot_for(pzn, " ".join(words) or None, _ingredient_mg(ingredients))
    found = _by_code(pairs, mappings) or _by_text(words, mappings)
    if found is None:
        return MedInfo(None, False, depot, _carried(pairs, words, mappings), btm)
    substance, analgesic, label = found
    return MedInfo(substance, analgesic, depot, label, btm)


def _carried(pairs: list[tuple[str, str]], words: list[str], mappings: Mappings) -> str:
    """What an unidentified medication carries, for the finding that says so."""
    for wanted, name in (
        (mappings.atc_systems, "ATC"),
        ({mappings.pzn_system}, "PZN"),
        ({mappings.ask_system}, "ASK"),
    ):
        found = [c for s, c in pairs if s in wanted]
        if found:
            return f"{name} {found[0]}"
    return "text" if words else "nothing"


def _ingredient_mg(ingredients: list[JsonObject]) -> float | None:
    """The strength in mg of the first ingredient that states one (KBV PZN Medications
    carry it there, not in the product text): for depots whose form the strength tells."""
    for item in ingredients:
        numerator = obj(obj(item, "strength") or {}, "numerator") or {}
        value = numerator.get("value")
        unit = (text(numerator, "code") or text(numerator, "unit") or "").strip().lower()
        if isinstance(value, int | float) and not isinstance(value, bool) and unit == "mg":
            return float(value)
    return None


def _by_code(pairs: list[tuple[str, str]], mappings: Mappings) -> tuple[str, bool, str] | None:
    for system, code in pairs:
        if system in mappings.atc_systems and (entry := mappings.atc.get(code.upper())):
            return entry.substance, entry.analgesic, f"ATC {code}"
    for system, code in pairs:
        if system == mappings.pzn_system:
            if substance := mappings.pzn.get(code):
                return substance, False, f"PZN {code}"
            if product := mappings.product_for_pzn(code):
                return product.substance, False, f"PZN {code}"
    for system, code in pairs:
        if system == mappings.snomed_system and (substance := mappings.snomed.get(code)):
            return substance, False, f"SNOMED {code}"
        if system == mappings.ask_system and (substance := mappings.ask.get(code)):
            return substance, False, f"ASK {code}"
    return None


def _by_text(words: list[str], mappings: Mappings) -> tuple[str, bool, str] | None:
    for word in words:
        substance = mappings.substance_for_text(word)
        if substance is not None:
            return substance, False, "text"
    return None


def medication_resource_info(resource: JsonObject, mappings: Mappings) -> MedInfo:
    return medication_info(
        obj(resource, "code"),
        objs(resource, "ingredient"),
        mappings,
        btm=_btm_category(resource),
    )


def _btm_category(resource: JsonObject) -> bool:
    """KBV `KBV_EX_ERP_Medication_Category` or ePA drug category "01": a narcotic."""
    for ext in objs(resource, "extension"):
        if text(ext, "url") in (KBV_CATEGORY, EPA_CATEGORY):
            return text(obj(ext, "valueCoding") or {}, "code") == _BTM_CATEGORY
    return False


def btm_marker(request: JsonObject) -> str | None:
    """S, ST, N, K from the KBV extension, the ePA extension or our category coding."""
    for ext in objs(request, "extension"):
        url = text(ext, "url")
        if url in (KBV_NARCOTIC, EPA_NARCOTICS):
            for sub in objs(ext, "extension"):
                if text(sub, "url") in ("BtM-Sonderkennzeichen", "narcotics-markings"):
                    marker = _normalise(text(obj(sub, "valueCoding") or {}, "code"))
                    if marker:
                        return marker
    for category in objs(request, "category"):
        for system, code in codings(category):
            if system == BTM_MARKER_SYSTEM and (marker := _normalise(code)):
                return marker
    return None


def _normalise(code: Any) -> str | None:
    if not isinstance(code, str):
        return None
    return _MARKERS.get(code.replace(" ", "").upper())


def has_opioid_dependence(resource: JsonObject) -> bool:
    """A reasonCode of ICD-10-GM F11.2 or below (INPUT.md tie 3)."""
    for concept in objs(resource, "reasonCode"):
        for system, code in codings(concept):
            if system == ICD10GM and code.upper().startswith("F11.2"):
                return True
    return False
