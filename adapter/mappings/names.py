"""Load ``mappings/names.json`` into the `NameRules` the patient code needs (R-CODE-2, R-CODE-5).

The file is data (STYLE rule 4): a new title, particle or letter is a line in JSON and a
test, never a branch in Python. Entries are checked and stored in the form
`adapter.domain.codes` compares words in: NFC, single spaces, upper case.
"""

from __future__ import annotations

import json
import string
import unicodedata
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any

from adapter.domain.codes import NameRules

_LISTS = ("titles", "particles", "name_affixes")
_KEYS = frozenset({*_LISTS, "transliteration", "source"})
_TYPOGRAPHIC_APOSTROPHES = frozenset("’‘ʼ`´")


def load_name_rules(path: Traversable) -> NameRules:
    """Read, check and canonicalise the name data; ValueError naming file and key if malformed.

    A missing or unreadable file raises OSError; `adapter.mappings` turns both into a
    MappingError.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        msg = f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})"
        raise ValueError(msg) from exc
    except UnicodeDecodeError as exc:
        msg = f"{path}: not UTF-8 text (offset {exc.start}); save it as UTF-8"
        raise ValueError(msg) from exc
    return name_rules_from(path, data)


def name_rules_from(path: Traversable, data: object) -> NameRules:
    """Check and canonicalise the parsed content of names.json (`path` for the messages)."""
    if not isinstance(data, dict):
        msg = f"{path}: expected a JSON object with keys {', '.join(sorted(_KEYS))}"
        raise ValueError(msg)
    _check_keys(path, data)
    lists = {key: [_canonical(path, key, entry) for entry in data[key]] for key in _LISTS}
    for key in ("titles", "name_affixes"):
        _check_single_words(path, key, lists[key])
    particles = {tuple(entry.split()) for entry in lists["particles"]}
    return NameRules(
        titles=frozenset(lists["titles"]),
        # Longest first, so "van de" is tried before "van" (R-CODE-2).
        particles=tuple(sorted(particles, key=lambda words: (-len(words), words))),
        name_affixes=frozenset(lists["name_affixes"]),
        transliteration=MappingProxyType(_transliteration(path, data["transliteration"])),
    )


def _check_keys(path: Traversable, data: dict[str, Any]) -> None:
    """All four keys present, lists of strings; no unknown key (a typo would silently drop data)."""
    for key in data:
        if key not in _KEYS and not key.startswith("_"):
            msg = f"{path}: unknown key {key!r} (expected {', '.join(sorted(_KEYS))})"
            raise ValueError(msg)
    for key in _LISTS:
        value = data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            msg = f"{path}: key {key!r} must be a list of strings"
            raise ValueError(msg)
    if not isinstance(data.get("transliteration"), dict):
        msg = f"{path}: key 'transliteration' must be an object of letter -> letters"
        raise ValueError(msg)


def _canonical(path: Traversable, key: str, entry: str) -> str:
    """NFC, single spaces, case-folded then upper case: the form `codes` compares words in."""
    if not entry.strip():
        msg = f"{path}: key {key!r} has an empty entry"
        raise ValueError(msg)
    if _TYPOGRAPHIC_APOSTROPHES & set(entry):
        msg = f"{path}: key {key!r} entry {entry!r}: write apostrophes as ' (U+0027)"
        raise ValueError(msg)
    return " ".join(unicodedata.normalize("NFC", entry).split()).casefold().upper()


def _check_single_words(path: Traversable, key: str, entries: list[str]) -> None:
    """Titles and Namenszusätze are matched word by word ("Dr. med." is "Dr." and "med.")."""
    for entry in entries:
        if " " in entry:
            msg = f"{path}: key {key!r} entry {entry!r} must be one word; list each word"
            raise ValueError(msg)


def _transliteration(path: Traversable, table: dict[str, Any]) -> dict[str, str]:
    """One letter -> one or more of A–Z (upper-cased); `codes` looks a letter up as written
    and in lower case."""
    result: dict[str, str] = {}
    for letter, spelled in table.items():
        nfc = unicodedata.normalize("NFC", letter)
        if len(nfc) != 1 or not nfc.isalpha():
            msg = f"{path}: key 'transliteration' entry {letter!r} must be a single letter"
            raise ValueError(msg)
        if (
            not isinstance(spelled, str)
            or not spelled
            or not set(spelled) <= set(string.ascii_letters)
        ):
            msg = f"{path}: key 'transliteration' value for {letter!r} must be letters A–Z"
            raise ValueError(msg)
        result[nfc] = spelled.upper()
    return result
