"""Load and validate the mapping data in `mappings/` (substances, products, names).

Mapping is data (STYLE rule 4): a new code or product is a line in a JSON file and a
test, never a branch in Python. The files are read once, checked, and compiled into
`Mappings`, which answers the questions the FHIR readers ask.

The defaults ship inside the package (`adapter/data/mappings/`, package data read with
`importlib.resources`), so an installed wheel needs no checkout beside it. A practice's
own reviewed copy of the folder replaces them when SUBSTREG_MAPPINGS_DIR names it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from adapter.domain.codes import NameRules
from adapter.domain.model import SUBSTANCES, Depot
from adapter.errors import CodeTableError, MappingError
from adapter.mappings.codes import CodeTables, code_tables
from adapter.mappings.names import name_rules_from
from adapter.settings.environment import MAPPINGS_DIR_ENV, mappings_dir

MAPPING_FILES = ("substances.json", "products.json", "names.json", "codes.json")
_STRENGTH = re.compile(r"(\d+(?:[.,]\d+)?)\s*mg", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AtcEntry:
    substance: str
    analgesic: bool  # an ATC code for pain or cough: only an S/ST marker ties it (R-SUB-5)


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    words: tuple[str, ...]
    substance: str
    pzn_strength: dict[str, float | None]
    days_by_strength: dict[float, int]
    days_when_unknown: int | None
    months: int | None

    def depot(self, strength_mg: float | None) -> Depot | None:
        """The duration of effect of one dose, or None for a product that is no depot."""
        if self.months is not None:
            return Depot(days=None, months=self.months, uncertain=False)
        if strength_mg is not None and strength_mg in self.days_by_strength:
            return Depot(days=self.days_by_strength[strength_mg], months=None, uncertain=False)
        if self.days_when_unknown is not None:
            return Depot(days=self.days_when_unknown, months=None, uncertain=True)
        return None


@dataclass(frozen=True, slots=True)
class Mappings:
    atc_systems: frozenset[str]
    atc: dict[str, AtcEntry]
    snomed_system: str
    snomed: dict[str, str]
    ask_system: str
    ask: dict[str, str]  # ASK number → substance (codes.json)
    pzn_system: str
    pzn: dict[str, str]  # PZN → substance (codes.json)
    text_words: tuple[tuple[re.Pattern[str], str], ...]
    products: tuple[Product, ...]
    names: NameRules
    # SHA-256 over the files as read: sync re-derives what it stored when they change.
    fingerprint: str = ""

    def substance_for_text(self, text: str) -> str | None:
        """The substance named in a free text (product or substance name), or None."""
        for pattern, substance in self.text_words:
            if pattern.search(text):
                return substance
        return None

    def product_for_pzn(self, pzn: str) -> Product | None:
        for product in self.products:
            if pzn in product.pzn_strength:
                return product
        return None

    def product_for_text(self, text: str) -> Product | None:
        lowered = text.lower()
        for product in self.products:
            if any(word in lowered for word in product.words):
                return product
        return None

    def depot_for(
        self, pzn: str | None, text: str | None, strength_mg: float | None = None
    ) -> Depot | None:
        """Duration of effect of a depot product found by PZN, else by name and strength
        (from the text, else `strength_mg`, the ingredient's)."""
        if pzn is not None:
            product = self.product_for_pzn(pzn)
            if product is not None:
                return product.depot(product.pzn_strength[pzn] or strength_mg)
        if text:
            product = self.product_for_text(text)
            if product is not None:
                return product.depot(strength_in(text) or strength_mg)
        return None


def strength_in(text: str) -> float | None:
    """The first strength in mg written in a product text ("Buvidal 24 mg" → 24.0)."""
    match = _STRENGTH.search(text)
    if match is None:
        return None
    return float(match.group(1).replace(",", "."))


def packaged_mappings() -> Traversable:
    """The default mapping files shipped in the package (a folder in a wheel or checkout)."""
    return files("adapter") / "data" / "mappings"


def default_mappings_dir() -> Traversable:
    """The directory in SUBSTREG_MAPPINGS_DIR, else the packaged defaults."""
    return mappings_dir() or packaged_mappings()


def load_mappings(directory: Traversable | None = None) -> Mappings:
    """Read, validate and compile every mapping file of `directory` (cached per folder).

    Without `directory`, SUBSTREG_MAPPINGS_DIR is read on every call, so a folder set
    after an earlier call is honoured; only the compiled result is cached.
    """
    folder = directory or default_mappings_dir()
    if isinstance(folder, Path):
        return _load_folder(folder.resolve())
    # The packaged files inside a zip archive (zipimport), which gives no Path to key the
    # cache on: compiled on each call. A wheel installed by pip is a folder, a Path.
    return _compile(folder)


@lru_cache(maxsize=4)
def _load_folder(folder: Path) -> Mappings:
    return _compile(folder)


def _compile(folder: Traversable) -> Mappings:
    subs = _read_json(folder / "substances.json")
    prods = _read_json(folder / "products.json")
    codes = _code_tables(folder / "codes.json")
    products = prods.get("products", [])
    if not isinstance(products, list):
        msg = f"{folder / 'products.json'}: 'products' must be a list of products."
        raise MappingError(msg)
    return Mappings(
        atc_systems=frozenset(_list_of_str(subs, "atc_systems", folder / "substances.json")),
        atc=_atc_entries(subs, folder / "substances.json"),
        snomed_system=str(subs.get("snomed_system", "http://snomed.info/sct")),
        snomed=_substance_map(subs, "snomed", folder / "substances.json"),
        ask_system=codes.ask_system,
        ask=codes.ask,
        pzn_system=str(prods.get("pzn_system", codes.pzn_system)),
        pzn=codes.pzn,
        text_words=_text_words(subs, folder / "substances.json"),
        products=tuple(_product(p, folder / "products.json") for p in products),
        names=_name_rules(folder / "names.json"),
        fingerprint=_fingerprint(folder),
    )


def _fingerprint(folder: Traversable) -> str:
    """Over the files' names and bytes, not their place: moving the folder (or installing
    the package elsewhere) changes nothing, editing a file does."""
    digest = hashlib.sha256()
    for name in MAPPING_FILES:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _code_tables(path: Traversable) -> CodeTables:
    try:
        return code_tables(_read_json(path), path)
    except CodeTableError as exc:
        raise MappingError(str(exc)) from None


def _name_rules(path: Traversable) -> NameRules:
    try:
        return name_rules_from(path, _read_json(path))
    except MappingError:
        raise
    except ValueError as exc:  # adapter.mappings.names names the file and the key
        raise MappingError(str(exc)) from None


def _read_json(path: Traversable) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = (
            f"Mapping file {path} is missing: a folder named by {MAPPINGS_DIR_ENV} needs "
            f"all of {', '.join(MAPPING_FILES)}; copy it from {packaged_mappings()}."
        )
        raise MappingError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"Mapping file {path} is not UTF-8 text (offset {exc.start}): save it as UTF-8."
        raise MappingError(msg) from None
    except OSError as exc:  # a directory, no permission …
        msg = f"Mapping file {path} cannot be read ({exc.strerror or exc})."
        raise MappingError(msg) from None
    except json.JSONDecodeError as exc:
        msg = f"Mapping file {path} is not valid JSON: {exc}."
        raise MappingError(msg) from None
    if not isinstance(data, dict):
        msg = f"Mapping file {path} must hold a JSON object."
        raise MappingError(msg)
    return data


def _substance(value: object, where: str) -> str:
    if value not in SUBSTANCES:
        msg = f"{where}: {value!r} is not one of the register's substances {SUBSTANCES}."
        raise MappingError(msg)
    return str(value)


def _list_of_str(data: dict[str, Any], key: str, path: Traversable) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{path}: '{key}' must be a list of strings."
        raise MappingError(msg)
    return value


def _atc_entries(data: dict[str, Any], path: Traversable) -> dict[str, AtcEntry]:
    entries = data.get("atc")
    if not isinstance(entries, dict):
        msg = f"{path}: 'atc' must be an object of ATC code → entry."
        raise MappingError(msg)
    result = {}
    for code, entry in entries.items():
        if not isinstance(entry, dict):
            msg = f"{path}: atc.{code} must be an object."
            raise MappingError(msg)
        substance = _substance(entry.get("substance"), f"{path}: atc.{code}.substance")
        analgesic = entry.get("analgesic", False)
        if not isinstance(analgesic, bool):
            msg = f"{path}: atc.{code}.analgesic must be true or false."
            raise MappingError(msg)
        result[code.upper()] = AtcEntry(substance, analgesic)
    return result


def _substance_map(data: dict[str, Any], key: str, path: Traversable) -> dict[str, str]:
    entries = data.get(key, {})
    if not isinstance(entries, dict):
        msg = f"{path}: '{key}' must be an object of code → substance."
        raise MappingError(msg)
    return {str(c): _substance(s, f"{path}: {key}.{c}") for c, s in entries.items()}


def _text_words(data: dict[str, Any], path: Traversable) -> tuple[tuple[re.Pattern[str], str], ...]:
    entries = data.get("text")
    if not isinstance(entries, list):
        msg = f"{path}: 'text' must be a list of {{word, substance}}."
        raise MappingError(msg)
    words = []
    for i, entry in enumerate(entries):
        word = entry.get("word") if isinstance(entry, dict) else None
        if not isinstance(word, str) or not word:
            msg = f"{path}: text[{i}].word must be a non-empty string."
            raise MappingError(msg)
        substance = _substance(entry.get("substance"), f"{path}: text[{i}].substance")
        # A word starts where no letter precedes it: "methadon" must not match
        # inside "Levomethadon", nor "morphin" inside "Diamorphin".
        pattern = re.compile(r"(?<![a-zäöüß])" + re.escape(word.lower()), re.IGNORECASE)
        words.append((pattern, substance))
    return tuple(words)


def _product(entry: Any, path: Traversable) -> Product:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        msg = f"{path}: every product needs a 'name'."
        raise MappingError(msg)
    name = entry["name"]
    where = f"{path}: product {name}"
    depot = entry.get("depot") or {}
    pzn = entry.get("pzn") or {}
    if not isinstance(depot, dict) or not isinstance(pzn, dict):
        msg = f"{where}: 'depot' and 'pzn' must be objects."
        raise MappingError(msg)
    words = entry.get("words", [name])
    if not isinstance(words, list) or not words or not all(_word(w) for w in words):
        msg = f"{where}: 'words' must be a list of non-empty strings, e.g. [\"buvidal\"]."
        raise MappingError(msg)
    return Product(
        name=name,
        words=tuple(w.lower() for w in words),
        substance=_substance(entry.get("substance"), where),
        pzn_strength={
            str(k): None if v is None else _mg(v, f"{where}: pzn.{k}") for k, v in pzn.items()
        },
        days_by_strength=_days_by_strength(depot.get("days_by_strength_mg", {}), where),
        days_when_unknown=_count(
            depot.get("days_when_unknown"), f"{where}: depot.days_when_unknown"
        ),
        months=_count(depot.get("months"), f"{where}: depot.months"),
    )


def _word(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _days_by_strength(table: object, where: str) -> dict[float, int]:
    """Strength in mg (a JSON key such as "24") → days of effect of one dose."""
    if not isinstance(table, dict):
        msg = f'{where}: depot.days_by_strength_mg must be an object such as {{"24": 7}}.'
        raise MappingError(msg)
    result = {}
    for key, days in table.items():
        try:
            strength = float(key)
        except ValueError:
            strength = math.nan
        if not math.isfinite(strength) or strength <= 0:
            msg = f"{where}: depot.days_by_strength_mg key {key!r} must be a strength in mg."
            raise MappingError(msg)
        count = _count(days, f"{where}: depot.days_by_strength_mg.{key}")
        if count is None:
            msg = f"{where}: depot.days_by_strength_mg.{key} must be a whole number of days."
            raise MappingError(msg)
        result[strength] = count
    return result


def _mg(value: object, where: str) -> float:
    """A strength in mg: a positive JSON number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        msg = f"{where} must be the strength in mg (a number) or null."
        raise MappingError(msg)
    return float(value)


def _count(value: object, where: str) -> int | None:
    """A whole number of at least 1 (days or months), or None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{where} must be a whole number of at least 1 (written without quotes)."
        raise MappingError(msg)
    return value
