"""The PZN and ASK table (`mappings/codes.json`, format 'substreg-codes' version 1).

A PZN (Pharmazentralnummer) names a package, an ASK number (Arzneistoffkatalog) an
active ingredient; both come from commercial drug databases (IFA, ABDA), so the project
ships the format and the practice or vendor fills it from its own drug database. Each
entry names the register's substance and where it was taken from; a PZN is checked
against its check digit, so a mistyped one is refused rather than matched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

from adapter.domain.model import SUBSTANCES
from adapter.errors import CodeTableError

FORMAT, FORMAT_VERSION = "substreg-codes", 1


@dataclass(frozen=True, slots=True)
class CodeTables:
    pzn_system: str
    ask_system: str
    pzn: dict[str, str]  # PZN → substance
    ask: dict[str, str]  # ASK number → substance
    version: str


def code_tables(data: dict[str, Any], path: Traversable) -> CodeTables:
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        msg = (
            f"{path}: 'format' must be {FORMAT!r} and 'format_version' {FORMAT_VERSION} "
            "(see mappings/README.md in the package, adapter/data/mappings)."
        )
        raise CodeTableError(msg)
    version = data.get("version")
    if not isinstance(version, str) or not version:
        msg = f"{path}: 'version' must name the table's version, e.g. \"2026-12-07\"."
        raise CodeTableError(msg)
    return CodeTables(
        pzn_system=_text(data, "pzn_system", path),
        ask_system=_text(data, "ask_system", path),
        pzn=_codes(data, "pzn", path, _pzn),
        ask=_codes(data, "ask", path, _ask),
        version=version,
    )


def pzn_is_valid(code: str) -> bool:
    """PZN-8: seven digits and a check digit (sum of digit × position 1…7, mod 11; 10 is
    never issued)."""
    if len(code) != 8 or not code.isascii() or not code.isdigit():
        return False
    check = sum(int(d) * w for d, w in zip(code[:7], range(1, 8), strict=True)) % 11
    return check != 10 and check == int(code[7])


def _text(data: dict[str, Any], key: str, path: Traversable) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        msg = f"{path}: '{key}' must be the code system URL."
        raise CodeTableError(msg)
    return value


def _codes(
    data: dict[str, Any], key: str, path: Traversable, check: Callable[[str, Traversable], None]
) -> dict[str, str]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        msg = f"{path}: '{key}' must be an object of code → {{substance, product, source}}."
        raise CodeTableError(msg)
    result = {}
    for code, entry in table.items():
        check(code, path)
        result[code] = _entry(entry, f"{path}: {key}.{code}")
    return result


def _pzn(code: str, path: Traversable) -> None:
    if not pzn_is_valid(code):
        msg = f"{path}: pzn.{code} is not a PZN of 8 digits with a valid check digit."
        raise CodeTableError(msg)


def _ask(code: str, path: Traversable) -> None:
    if not (code.isascii() and code.isdigit()):
        msg = f"{path}: ask.{code} must be an ASK number (digits only)."
        raise CodeTableError(msg)


def _entry(entry: object, where: str) -> str:
    if not isinstance(entry, dict):
        msg = f"{where} must be an object with 'substance' and 'source'."
        raise CodeTableError(msg)
    substance = entry.get("substance")
    if substance not in SUBSTANCES:
        msg = f"{where}.substance {substance!r} is not one of the register's {SUBSTANCES}."
        raise CodeTableError(msg)
    if not isinstance(entry.get("source"), str) or not entry["source"].strip():
        msg = f"{where}.source must say where the code was taken from."
        raise CodeTableError(msg)
    return str(substance)
