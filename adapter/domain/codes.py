"""The patient code of the substitution register (R-CODE-1 … R-CODE-6, 004 §7.3).

Eight characters: two letters of the first given name, two of the family name,
the sex letter, and the last digits of birth day, month and year
("Hanna von Mühlenstein", F, 1974-08-12 → ``HAMÜF284``).

Pure: the name data (titles, particles, Namenszusätze, transliteration) comes in
as a `NameRules` value, loaded elsewhere from ``mappings/names.json``.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeGuard

__all__ = [
    "CodeRefusal",
    "NameParts",
    "NameRules",
    "PatientCode",
    "birth_date_problem",
    "family_name_core",
    "is_patient_code",
    "patient_code",
    "sex_letter",
]

REGISTER_SEX_URL = "https://fhir.substreg.dev/StructureDefinition/register-sex"
EARLIEST_BIRTH = date(1900, 1, 1)  # D-40's first usable day: an earlier one is a typo
_NAMES_FILE = "mappings/names.json"

# R-CODE-5: letters that go into the code unchanged (after upper-casing).
_PLAIN = frozenset(string.ascii_letters + "äöüÄÖÜ")
# R-CODE-5: "ß" has no upper-case form in the register's rule; the capital ẞ is the same letter.
_SHARP_S = frozenset("ßẞ")
# Typographic apostrophes, so "d’" matches the particle "d'".
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_GENDER_LETTERS = {"female": "F", "male": "M"}
_FULL_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_PARTIAL_DATE = re.compile(r"[0-9]{4}(-[0-9]{2})?")
# What a code looks like, as the register reads it (R-CODE-1 … R-CODE-5): four letters
# A–Z, Ä, Ö, Ü or ß (upper case; ß has none), F or M, and three digits.
_CODE_SYNTAX = re.compile(r"[A-ZÄÖÜß]{4}[FM][0-9]{3}")


@dataclass(frozen=True, slots=True)
class NameRules:
    """The name data from ``mappings/names.json``, canonical (NFC, upper case) as loaded."""

    titles: frozenset[str]
    particles: tuple[tuple[str, ...], ...]
    name_affixes: frozenset[str]
    transliteration: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class NameParts:
    """One structured FHIR HumanName, as far as the code needs it."""

    given: tuple[str, ...]
    family: str | None
    own_name: str | None = None
    own_prefix: str | None = None
    namenszusatz: str | None = None
    prefixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PatientCode:
    """A derived code; `transliterated` lists letters outside A–Z/Ä/Ö/Ü/ß (R-CODE-5 info)."""

    value: str
    transliterated: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CodeRefusal:
    """Why no code can be derived, and what a person must record. Never personal data."""

    rule: str
    problem: str
    fix: str


@dataclass(frozen=True, slots=True)
class _Letters:
    """The first two code letters of a name part, or the letter that could not be coded."""

    letters: str
    transliterated: tuple[str, ...]
    unmappable: str | None = None


def is_patient_code(value: object) -> TypeGuard[str]:
    """Whether `value` is written as a patient code: exactly eight characters, four code
    letters (A–Z, Ä, Ö, Ü, ß; NFC), F or M, three digits. Syntax only: whether the letters
    fit a name and the digits a birth date cannot be told from the code."""
    return isinstance(value, str) and _CODE_SYNTAX.fullmatch(value) is not None


def sex_letter(gender: str | None, override: str | None) -> str | None:
    """'F'/'M' from an override code ('F'/'M', case-insensitive, validated) else from FHIR gender
    (female/male); else None (R-CODE-3).

    A recorded but invalid override gives None rather than falling back to `gender`: a person
    decided something for this patient, and only a valid letter may stand for that decision.
    """
    if override is not None and override.strip():
        letter = override.strip().upper()
        return letter if letter in ("F", "M") else None
    return _GENDER_LETTERS.get((gender or "").strip().lower())


def family_name_core(parts: NameParts, rules: NameRules) -> str:
    """The family name with titles, separate particles and Namenszusätze removed (R-CODE-2).

    own-name wins over `family` (REAL-DATA 5: `family` may contradict the extensions). Words are
    only removed from the front and only while another word follows, so a lone "Le" stays.
    """
    source = parts.own_name if parts.own_name and parts.own_name.strip() else parts.family
    words = _words(source or "")
    titles = rules.titles | {_key(w) for prefix in parts.prefixes for w in _words(prefix)}
    affixes = rules.name_affixes | {_key(w) for w in _words(parts.namenszusatz or "")}
    own_prefix = tuple(_key(w) for w in _words(parts.own_prefix or ""))
    particles = sorted({*rules.particles, own_prefix} - {()}, key=len, reverse=True)
    start = 0
    while start < len(words) - 1:
        skip = _leading_skip([_key(w) for w in words[start:]], titles, affixes, particles)
        if skip == 0:
            break
        start += skip
    return " ".join(words[start:])


def patient_code(
    parts: NameParts,
    sex: str | None,
    birth_date: str | None,
    rules: NameRules,
    *,
    on: date | None = None,
) -> PatientCode | CodeRefusal:
    """The 8-character patient code (R-CODE-1 … R-CODE-5), or why it cannot be derived;
    with `on`, a birth date before 1900 or after that day cannot be used (D-40, D-83).

    Problems are checked in rule order; the first one found is returned.
    """
    letters = _name_letters(parts, rules)
    if isinstance(letters, CodeRefusal):
        return letters
    first, family = letters
    letter = (sex or "").strip().upper()
    if letter not in ("F", "M"):
        return _sex_refusal(sex)
    digits = _birth_digits(birth_date)
    if isinstance(digits, CodeRefusal):
        return digits
    problem = birth_date_problem(birth_date, on) if on is not None else None
    if problem is not None:
        return _date_refusal(problem)
    value = first.letters + family.letters + letter + digits
    return PatientCode(value, _unique(first.transliterated + family.transliterated))


def _name_letters(parts: NameParts, rules: NameRules) -> tuple[_Letters, _Letters] | CodeRefusal:
    """Positions 1–2 (R-CODE-1) and 3–4 (R-CODE-2), or the refusal for the first bad part."""
    given = _first_given_name(parts.given)
    if given is None:
        return CodeRefusal("R-CODE-1", "the patient has no given name", _fix_given())
    first = _code_letters(given, rules)
    refusal = _letters_refusal(first, "R-CODE-1", "first given name", _fix_given())
    if refusal is not None:
        return refusal
    core = family_name_core(parts, rules)
    if not core:
        return CodeRefusal("R-CODE-2", "the patient has no family name", _fix_family())
    family = _code_letters(core, rules)
    refusal = _letters_refusal(family, "R-CODE-2", "family name", _fix_family())
    return refusal if refusal is not None else (first, family)


def _words(text: str) -> list[str]:
    """Whitespace-separated words that contain at least one letter (noise such as "-" is not a
    word)."""
    return [w for w in unicodedata.normalize("NFC", text).split() if any(c.isalpha() for c in w)]


def _key(word: str) -> str:
    """The form a word is compared in against `NameRules` (which the loader stores alike).

    casefold first, so "ß" and "ẞ" both compare as "SS" ("Truchseß" = "TRUCHSESS").
    """
    return unicodedata.normalize("NFC", word).translate(_APOSTROPHES).casefold().upper()


def _leading_skip(
    keys: list[str],
    titles: frozenset[str],
    affixes: frozenset[str],
    particles: Sequence[tuple[str, ...]],
) -> int:
    """How many leading words are a title, a Namenszusatz or a particle with a word after it."""
    if keys[0] in titles or keys[0] in affixes:
        return 1
    for particle in particles:  # longest first: "van de" before "van"
        if len(particle) < len(keys) and tuple(keys[: len(particle)]) == particle:
            return len(particle)
    return 0


def _first_given_name(given: tuple[str, ...]) -> str | None:
    """The first word of the first non-blank given name (R-CODE-1: "Anna Maria" → "Anna")."""
    for name in given:
        words = _words(name)
        if words:
            return words[0]
    return None


def _code_letters(text: str, rules: NameRules) -> _Letters:
    """The first two code letters of `text`: letters only, upper case, R-CODE-5 spelling."""
    letters = ""
    transliterated: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if len(letters) >= 2:
            break
        spelled = _code_letter(char, rules)
        if spelled is None:
            return _Letters(letters, tuple(transliterated), unmappable=char)
        letters += spelled
        if spelled and char not in _PLAIN and char not in _SHARP_S:
            transliterated.append(char)
    return _Letters(letters[:2], _unique(tuple(transliterated)))


def _code_letter(char: str, rules: NameRules) -> str | None:
    """One character as code letters: "" for non-letters (hyphen, apostrophe, digit, space),
    None for a letter with no transliteration."""
    if char in _SHARP_S:
        return "ß"
    if char in _PLAIN:
        return char.upper()
    if _code_letter_free(char):
        return ""
    return _transliterate(char, rules.transliteration)


def _code_letter_free(char: str) -> bool:
    """Not a letter for the code: hyphen, apostrophe, digit, space, and modifier letters (Lm)
    such as "ʼ" and "ʻ", which are apostrophes in Latin names."""
    return not char.isalpha() or unicodedata.category(char) == "Lm"


def _transliterate(char: str, table: Mapping[str, str]) -> str | None:
    """The table first (ø, ł, æ …: no Unicode decomposition), else accents stripped (é → E).

    NFKD rather than plain NFD: it also unfolds compatibility forms (full-width "Ａ", "ﬁ").
    Umlauts never get here, so they are not decomposed.
    """
    mapped = table.get(char) or table.get(char.lower())
    if mapped:
        return mapped.upper()
    bases = [c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)]
    if bases == [char]:
        return None
    spelled = ""
    for base in bases:
        if _code_letter_free(base):
            continue  # the "ʼ" of "ŉ": not a letter of the code
        one = base.upper() if base in string.ascii_letters else table.get(base.lower())
        if not one:
            return None
        spelled += one.upper()
    return spelled


def _letters_refusal(found: _Letters, rule: str, what: str, fix: str) -> CodeRefusal | None:
    """A refusal when a name part has a letter that cannot be coded or fewer than two letters."""
    if found.unmappable is not None:
        point = f"U+{ord(found.unmappable):04X}"
        return CodeRefusal(
            "R-CODE-5",
            f"the {what} contains a letter ({point}) with no transliteration to A–Z",
            f"add {point} to 'transliteration' in {_NAMES_FILE}, or record the name in Latin "
            "letters as on the ID document",
        )
    if len(found.letters) < 2:
        return CodeRefusal(rule, f"the {what} has fewer than two letters", fix)
    return None


def _fix_given() -> str:
    return "record the first given name in full as on the ID document (Patient.name.given)"


def _fix_family() -> str:
    return "record the family name in full as on the ID document (Patient.name.family)"


def _sex_refusal(sex: str | None) -> CodeRefusal:
    """R-CODE-3: only F and M can be coded; a person has to decide for this patient."""
    problem = (
        "the patient's sex is not female or male and no valid override (F or M) is recorded"
        if sex is None or not sex.strip()
        else "the sex letter is neither F nor M"
    )
    return CodeRefusal(
        "R-CODE-3", problem, f"record F or M in the extension {REGISTER_SEX_URL} on the Patient"
    )


def _birth_digits(birth_date: str | None) -> str | CodeRefusal:
    """R-CODE-4: the last digits of day, month and year of a full "YYYY-MM-DD" date.

    1968-07-16 → "678". A partial date ("1968", "1968-07") cannot be coded.
    """
    text = (birth_date or "").strip()
    full = _FULL_DATE.fullmatch(text)
    if full is not None:
        year, month, day = full.groups()
        try:
            date(int(year), int(month), int(day))
        except ValueError:
            return _date_refusal("the birth date is not a valid calendar date")
        return day[-1] + month[-1] + year[-1]
    if not text:
        return _date_refusal("the patient has no birth date")
    if _PARTIAL_DATE.fullmatch(text):
        return _date_refusal("the birth date is partial (year or year and month only)")
    return _date_refusal("the birth date is not a date of the form YYYY-MM-DD")


def birth_date_problem(birth_date: str | None, on: date) -> str | None:
    """Why a full birth date cannot be a patient's on the day `on`: one before 1900 (D-40:
    an earlier day is a typo, `0001-01-01`) or after `on` (an EHR's "no date",
    `9999-12-31`) would become part of the code (R-CODE-4, D-83). None when it can, or
    when it is missing, partial or no calendar date (`patient_code` says why then)."""
    full = _FULL_DATE.fullmatch((birth_date or "").strip())
    if full is None:
        return None
    year, month, day = (int(part) for part in full.groups())
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    if born < EARLIEST_BIRTH:
        return f"the birth date lies before {EARLIEST_BIRTH.isoformat()}"
    if born > on:
        return f"the birth date lies after {on.isoformat()}"
    return None


def _date_refusal(problem: str) -> CodeRefusal:
    return CodeRefusal(
        "R-CODE-4",
        problem,
        "record the full birth date (day, month, year) as on the ID document (Patient.birthDate)",
    )


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    """`items` without repeats, first occurrence kept."""
    return tuple(dict.fromkeys(items))
