"""The patient code (R-CODE-1 … R-CODE-6) and the name data it is built with."""

from __future__ import annotations

import json
import string
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.domain import codes
from adapter.domain.codes import (
    CodeRefusal,
    NameParts,
    PatientCode,
    family_name_core,
    patient_code,
    sex_letter,
)
from adapter.mappings import packaged_mappings
from adapter.mappings.names import load_name_rules

RULES = load_name_rules(packaged_mappings() / "names.json")


def code(
    given: str | tuple[str, ...],
    family: str | None,
    sex: str | None = "F",
    birth_date: str | None = "1974-08-12",
    **extra: Any,
) -> PatientCode | CodeRefusal:
    """The code for a name given as plain strings (a test shorthand)."""
    names = (given,) if isinstance(given, str) else given
    return patient_code(NameParts(names, family, **extra), sex, birth_date, RULES)


def value(result: PatientCode | CodeRefusal) -> str:
    """The code's value, failing the test with the refusal if there is none."""
    assert isinstance(result, PatientCode), result
    return result.value


def refusal(result: PatientCode | CodeRefusal) -> CodeRefusal:
    """The refusal, failing the test if a code was derived."""
    assert isinstance(result, CodeRefusal), result
    return result


# --- R-CODE-6 and the scenarios: whole codes -------------------------------------------------

WHOLE_CODES = [
    (NameParts(("Hanna",), "von Mühlenstein"), "F", "1974-08-12", "HAMÜF284"),
    (NameParts(("Max",), "Mustermann"), "M", "1985-08-23", "MAMUM385"),
    (NameParts(("Helga",), "Brückner", prefixes=("Prof. Dr.",)), "F", "1958-03-09", "HEBRF938"),
    (NameParts(("Zoe",), "de Vries"), "F", "1999-05-23", "ZOVRF359"),
    (NameParts(("Elif",), "El-Sayed"), "F", "1995-08-17", "ELELF785"),
    (NameParts(("Jürgen",), "Pohl"), "M", "1964-06-16", "JÜPOM664"),
]


@pytest.mark.parametrize(
    ("parts", "sex", "born", "expected"),
    WHOLE_CODES,
    ids=[
        "r-code-6-muehlenstein",
        "r-code-6-mustermann",
        "title-in-prefix",
        "de-vries",
        "el-sayed",
        "juergen-pohl",
    ],
)
def test_examples_give_the_expected_code(
    parts: NameParts, sex: str, born: str, expected: str
) -> None:
    """The seed's example (004 §7.3) and the scenario patients code exactly as expected."""
    assert patient_code(parts, sex, born, RULES) == PatientCode(expected, ())


# --- R-CODE-2: the family name -------------------------------------------------------------

FAMILY_LETTERS = [
    ("Dr. von Schwanstein", "SC"),
    ("D'Amore", "DA"),
    ("D’Amore", "DA"),
    ("d' Amore", "DA"),
    ("O'Neill", "ON"),
    ("Le", "LE"),
    ("Le Blanc", "BL"),
    ("de Vries", "VR"),
    ("van de Berg", "BE"),
    ("van der Berg", "BE"),
    ("Graf von Stauffenberg", "ST"),
    ("von und zu Guttenberg", "GU"),
    ("Prof. Dr. med. Freiherr von der Heide", "HE"),
    ("Dr.", "DR"),
    ("von", "VO"),
    ("Al-Hassan", "AL"),
    ("El-Sayed", "EL"),
    ("El Sayed", "SA"),
    ("MacLeod", "MA"),
    ("Abdel Rahman", "AB"),
    ("Abou-Khalil", "AB"),
    ("Müller-Lüdenscheidt", "MÜ"),
    ("Li", "LI"),
    ("  de   VRIES  ", "VR"),
]


@pytest.mark.parametrize(
    ("family", "letters"),
    FAMILY_LETTERS,
    ids=[
        "dr-von-schwanstein",
        "d-amore",
        "d-amore-typographic",
        "d-amore-spaced",
        "o-neill",
        "le-alone",
        "le-blanc",
        "de-vries",
        "van-de-berg",
        "van-der-berg",
        "graf-von-stauffenberg",
        "von-und-zu",
        "titles-affix-particle",
        "title-alone",
        "particle-alone",
        "al-hyphen",
        "el-hyphen",
        "el-separate",
        "mac",
        "abdel",
        "abou",
        "double-name",
        "short-surname",
        "whitespace-and-case",
    ],
)
def test_family_letters_skip_titles_and_separate_particles(family: str, letters: str) -> None:
    """R-CODE-2: titles and separate particles go, name parts and glued particles stay."""
    assert value(code("Anna", family))[2:4] == letters


def test_family_core_keeps_the_name_as_written() -> None:
    """family_name_core drops only the leading title and particle words."""
    parts = NameParts(("Anna",), "Dr. von Schwanstein zu Berg")
    assert family_name_core(parts, RULES) == "Schwanstein zu Berg"


def test_prefix_words_are_titles_even_when_not_in_the_list() -> None:
    """Anything in name.prefix is a title, also when it is written into family."""
    parts = NameParts(("Anna",), "Chefarzt Keller", prefixes=("Chefarzt",))
    assert family_name_core(parts, RULES) == "Keller"


STRUCTURED = [
    (
        {"own_name": "Müller", "own_prefix": "von", "namenszusatz": "Freiherr"},
        "Freiherr von Müller",
        "MÜ",
    ),
    ({"own_name": "Musterfrau", "namenszusatz": "Graf"}, "Fürstin von Musterfrau", "MU"),
    ({"own_name": "Vries"}, "Vries de", "VR"),
    ({"own_name": "  "}, "von Berg", "BE"),
    ({"own_prefix": "Op ten"}, "Op ten Xanten", "XA"),
    ({"namenszusatz": "Erbtruchsess"}, "Erbtruchsess Waldburg", "WA"),
]


@pytest.mark.parametrize(
    ("extra", "family", "letters"),
    STRUCTURED,
    ids=[
        "basisprofil",
        "isik-contradiction",
        "own-name-wins",
        "blank-own-name",
        "own-prefix-removed",
        "namenszusatz-removed",
    ],
)
def test_structured_name_extensions_win(extra: dict[str, str], family: str, letters: str) -> None:
    """REAL-DATA 5: own-name is the bare surname; own-prefix and namenszusatz are removed."""
    assert value(code("Anna", family, **extra))[2:4] == letters


# --- R-CODE-1: the first given name -----------------------------------------------------------

GIVEN_LETTERS = [
    (("Anna Maria",), "AN"),
    (("Hans-Peter",), "HA"),
    (("Jo", "Anne"), "JO"),
    (("  ", "Karl"), "KA"),
    (("  élodie  ",), "EL"),
    (("o'Brien",), "OB"),
]


@pytest.mark.parametrize(
    ("given_names", "letters"),
    GIVEN_LETTERS,
    ids=[
        "two-names-in-one",
        "hyphenated",
        "first-of-several",
        "blank-entry-skipped",
        "padded-lower-accent",
        "apostrophe-dropped",
    ],
)
def test_given_letters_come_from_the_first_given_name(
    given_names: tuple[str, ...], letters: str
) -> None:
    """R-CODE-1: the first two letters of the first given name, letters only."""
    assert value(code(given_names, "Berg"))[:2] == letters


# --- R-CODE-5: spelling -------------------------------------------------------------------------

SPELLING = [
    ("Jürgen", "Öztürk", "JÜÖZ", ()),
    ("Ülkü", "Äbel", "ÜLÄB", ()),
    ("ßabine", "Strauß", "ßAST", ()),
    ("ẞabine", "Sommer", "ßASO", ()),
    ("Elisa", "Aßmann", "ELAß", ()),
    ("José", "Çelik", "JOCE", ("Ç",)),
    ("Åsa", "Øberg", "ASOB", ("Å", "Ø")),
    ("Łucja", "Dvořák", "LUDV", ("Ł",)),
    ("Æsa", "Ðorđević", "AEDO", ("Æ", "Ð")),
    ("Ana", "Nuñez", "ANNU", ()),
    ("Ana", "Ćosić", "ANCO", ("Ć",)),
    ("Ana", "İnan", "ANIN", ("İ",)),
    ("Ana", "Straße", "ANST", ()),
    ("Ana", "Ａｂｅｌ", "ANAB", ("Ａ", "ｂ")),
    ("Ana", "Mu\u0308ller", "ANMÜ", ()),
    ("Ana", "Ǿsterby", "ANOS", ("Ǿ",)),
    ("Ana", "ŉa", "ANNA", ("ŉ",)),
]


@pytest.mark.parametrize(
    ("given_name", "family", "letters", "transliterated"),
    SPELLING,
    ids=[
        "umlaut-oe",
        "umlauts-ue-ae",
        "sharp-s-kept",
        "capital-sharp-s",
        "sharp-s-position-4",
        "cedilla",
        "ring-and-slashed-o",
        "stroke-l",
        "ligature-and-eth",
        "tilde-not-used",
        "acute-used",
        "dotted-capital-i",
        "sharp-s-late",
        "full-width",
        "decomposed-umlaut",
        "accent-on-table-letter",
        "apostrophe-n",
    ],
)
def test_letters_are_spelled_per_r_code_5(
    given_name: str, family: str, letters: str, transliterated: tuple[str, ...]
) -> None:
    """R-CODE-5: umlauts and ß stay, accents go, other letters come from the table."""
    result = code(given_name, family)
    assert isinstance(result, PatientCode), result
    assert (result.value[:4], result.transliterated) == (letters, transliterated)


def test_letter_without_transliteration_is_refused() -> None:
    """A letter found neither by decomposition nor in the table refuses the code (R-CODE-5)."""
    found = refusal(code("Anna", "Жуков"))
    assert found.rule == "R-CODE-5"
    assert "U+0416" in found.problem
    assert "mappings/names.json" in found.fix


def test_non_latin_letter_with_accent_is_refused() -> None:
    """A Cyrillic "й" loses its breve but stays Cyrillic: refused (R-CODE-5)."""
    assert refusal(code("Йосиф", "Berg")).rule == "R-CODE-5"


def test_untransliterable_letter_after_the_second_is_ignored() -> None:
    """Only the letters that go into the code must be codable."""
    assert value(code("Anna", "Liж"))[2:4] == "LI"


def test_modifier_letter_apostrophe_is_dropped() -> None:
    """ "ʼ" (U+02BC) is an apostrophe in a Latin name, not a letter."""
    assert value(code("Anna", "Dʼ Amore"))[2:4] == "DA"


# --- refusals: name, sex, birth date --------------------------------------------------------

NAME_REFUSALS = [
    ((), "Berg", "R-CODE-1"),
    (("   ",), "Berg", "R-CODE-1"),
    (("J.",), "Berg", "R-CODE-1"),
    (("Anna",), None, "R-CODE-2"),
    (("Anna",), "  ", "R-CODE-2"),
    (("Anna",), "O", "R-CODE-2"),
    (("Anna",), "von O", "R-CODE-2"),
]


@pytest.mark.parametrize(
    ("given_names", "family", "rule"),
    NAME_REFUSALS,
    ids=[
        "no-given",
        "blank-given",
        "initial-only",
        "no-family",
        "blank-family",
        "one-letter-family",
        "one-letter-after-particle",
    ],
)
def test_missing_or_too_short_names_are_refused(
    given_names: tuple[str, ...], family: str | None, rule: str
) -> None:
    """A name part with fewer than two letters cannot be coded (R-CODE-1, R-CODE-2)."""
    found = refusal(code(given_names, family))
    assert found.rule == rule
    assert "ID document" in found.fix


SEXES = [
    ("female", None, "F"),
    ("male", None, "M"),
    ("other", None, None),
    ("unknown", None, None),
    (None, None, None),
    ("other", "F", "F"),
    ("unknown", "f", "F"),
    ("other", " m ", "M"),
    ("female", "M", "M"),
    ("other", "X", None),
    ("female", "D", None),
    ("male", "  ", "M"),
]


@pytest.mark.parametrize(
    ("gender", "override", "letter"),
    SEXES,
    ids=[
        "female",
        "male",
        "other",
        "unknown",
        "missing",
        "other-with-override",
        "override-lower-case",
        "override-padded",
        "override-wins",
        "invalid-override",
        "invalid-override-not-ignored",
        "blank-override-ignored",
    ],
)
def test_sex_letter_from_override_else_gender(
    gender: str | None, override: str | None, letter: str | None
) -> None:
    """R-CODE-3: a valid register-sex override wins, else female/male; nothing else."""
    assert sex_letter(gender, override) == letter


@pytest.mark.parametrize(
    ("gender", "override"),
    [("other", None), ("unknown", None), ("other", "X"), ("female", "D")],
    ids=["other", "unknown", "other-invalid-override", "female-invalid-override"],
)
def test_sex_that_cannot_be_coded_is_refused(gender: str, override: str | None) -> None:
    """R-CODE-3: the refusal names the register-sex extension to record F or M in."""
    found = refusal(code("Anna", "Berg", sex_letter(gender, override)))
    assert found.rule == "R-CODE-3"
    assert "https://fhir.substreg.dev/StructureDefinition/register-sex" in found.fix


def test_sex_other_with_lower_case_override_is_coded() -> None:
    """R-CODE-3: an override "f" on a patient recorded as other gives F."""
    assert value(code("Anna", "Berg", sex_letter("other", "f")))[4] == "F"


def test_sex_letter_other_than_f_or_m_is_refused() -> None:
    """patient_code itself accepts only F and M."""
    assert refusal(code("Anna", "Berg", "D")).rule == "R-CODE-3"


BIRTH_DATES = [
    ("1968", "partial"),
    ("1968-07", "partial"),
    (None, "no birth date"),
    ("", "no birth date"),
    ("1968-02-30", "not a valid calendar date"),
    ("16.07.1968", "YYYY-MM-DD"),
    ("1968-07-16T10:00:00Z", "YYYY-MM-DD"),
]


@pytest.mark.parametrize(
    ("born", "said"),
    BIRTH_DATES,
    ids=[
        "year-only",
        "year-month",
        "missing",
        "empty",
        "impossible-day",
        "german-format",
        "date-time",
    ],
)
def test_incomplete_or_invalid_birth_date_is_refused(born: str | None, said: str) -> None:
    """R-CODE-4: only a full, real YYYY-MM-DD date can be coded; nothing personal is echoed."""
    found = refusal(code("Anna", "Berg", "F", born))
    assert found.rule == "R-CODE-4"
    assert said in found.problem
    assert "1968" not in found.problem
    assert "full birth date" in found.fix


def test_birth_digits_are_the_last_digit_of_day_month_year() -> None:
    """R-CODE-4: 1968-07-16 → 678 (004 §7.3)."""
    assert value(code("Anna", "Berg", "F", " 1968-07-16 "))[5:] == "678"


def test_first_problem_in_rule_order_is_reported() -> None:
    """With several problems, the refusal names the lowest rule."""
    assert refusal(code("Anna", "O", None, "1968")).rule == "R-CODE-2"


def test_refusals_carry_no_name() -> None:
    """Refusal texts never contain the patient's name (PRIVACY)."""
    for result in (code("Zyprian", "Q"), code("Q", "Zyprianowski"), code("Zyprian", "Жуков")):
        found = refusal(result)
        assert "Zyprian" not in found.problem + found.fix
        assert "Жуков" not in found.problem + found.fix


# --- properties -------------------------------------------------------------------------------

LETTERS = (
    string.ascii_letters
    + "äöüÄÖÜß"
    + "éèêëáàâåãçñíìîïóòôõúùûýÿčšžřęąśźżćńőűÉÇÅÑŠŽ"
    + "øØłŁæÆœŒđĐþÞ"
)
CODE_LETTERS = frozenset(string.ascii_uppercase + "ÄÖÜß")
SEPARATORS = ["", "-", "'", "’", "1"]

words = st.builds(
    lambda head, sep, tail: head + sep + tail,
    st.text(LETTERS, min_size=2, max_size=6),
    st.sampled_from(SEPARATORS),
    st.text(LETTERS, max_size=4),
)
names = st.lists(words, min_size=1, max_size=3).map(" ".join)
given_names = st.lists(names, min_size=1, max_size=3).map(tuple)
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31))
sexes = st.sampled_from(["F", "M"])


def swap_case(text: str) -> str:
    """Upper-case what lower-cases and vice versa, without str.upper's "ß" → "SS"."""
    out = []
    for char in text:
        if char == "ß":
            out.append("ẞ")
            continue
        swapped = char.lower() if char.isupper() else char.upper()
        out.append(swapped if len(swapped) == 1 else char)
    return "".join(out)


def pad(text: str, space: str) -> str:
    """`text` with `space` around it and between its words."""
    return space + space.join(text.split(" ")) + space


@given(given_names, names, sexes, birth_dates)
def test_any_letter_name_gives_an_eight_character_code(
    given_names: tuple[str, ...], family: str, sex: str, born: date
) -> None:
    """Names of letters always code: 4 code letters, F/M, and the date's last digits."""
    result = code(given_names, family, sex, born.isoformat())
    assert isinstance(result, PatientCode), result
    assert len(result.value) == 8
    assert set(result.value[:4]) <= CODE_LETTERS
    assert result.value[4] == sex
    iso = born.isoformat()
    assert result.value[5:] == iso[9] + iso[6] + iso[3]
    assert codes.is_patient_code(result.value)  # what the register reads as a code


@given(given_names, names, sexes, birth_dates, st.sampled_from([" ", "  ", "\t", " \u00a0 "]))
def test_code_ignores_whitespace_and_case(
    given_names: tuple[str, ...], family: str, sex: str, born: date, space: str
) -> None:
    """Padding, repeated whitespace and letter case never change the code."""
    plain = code(given_names, family, sex, born.isoformat())
    noisy = code(
        tuple(pad(swap_case(n), space) for n in given_names),
        pad(swap_case(family), space),
        sex.lower(),
        born.isoformat(),
    )
    assert value(noisy) == value(plain)


@given(words, st.sampled_from(RULES.particles), st.sampled_from(sorted(RULES.name_affixes)))
def test_separate_particles_and_affixes_never_change_the_code(
    surname: str, particle: tuple[str, ...], affix: str
) -> None:
    """R-CODE-2: "Graf von X" and "von X" code like "X" for any listed particle and affix."""
    bare = value(code("Anna", surname))
    assert value(code("Anna", " ".join(particle).lower() + " " + surname)) == bare
    assert value(code("Anna", f"{affix} {' '.join(particle)} {surname}")) == bare


@given(words, st.sampled_from(sorted(RULES.titles)))
def test_titles_never_change_the_code(surname: str, title: str) -> None:
    """R-CODE-2: a title before the family name is not coded."""
    assert value(code("Anna", f"{title} {surname}")) == value(code("Anna", surname))


# --- the name data --------------------------------------------------------------------------


def test_names_json_is_loaded_canonical() -> None:
    """The loader upper-cases entries and orders particles longest first."""
    assert {"DR.", "PROF.", "MED."} <= RULES.titles
    assert {"GRAF", "FREIHERR", "FÜRSTIN", "BARON"} <= RULES.name_affixes
    assert ("VAN", "DE") in RULES.particles and ("EL",) in RULES.particles
    assert ("MAC",) not in RULES.particles
    lengths = [len(p) for p in RULES.particles]
    assert lengths == sorted(lengths, reverse=True)
    assert RULES.transliteration["ø"] == "O"


BAD_FILES = [
    ({"particles": "von"}, "particles"),
    ({"titles": ["Dr. med."]}, "titles"),
    ({"name_affixes": [""]}, "name_affixes"),
    ({"particles": ["d’"]}, "particles"),
    ({"transliteration": {"ø": "0"}}, "transliteration"),
    ({"transliteration": {"øø": "O"}}, "transliteration"),
    ({"transliteration": ["ø"]}, "transliteration"),
    ({"particle": ["von"]}, "particle"),
]


@pytest.mark.parametrize(
    ("change", "key"),
    BAD_FILES,
    ids=[
        "list-is-string",
        "title-with-space",
        "empty-entry",
        "typographic-apostrophe",
        "digit-value",
        "two-letter-key",
        "table-is-list",
        "unknown-key",
    ],
)
def test_malformed_names_json_names_file_and_key(
    tmp_path: Path, change: dict[str, object], key: str
) -> None:
    """A malformed names.json raises ValueError naming the file and the key."""
    data = {
        "titles": ["Dr."],
        "particles": ["von"],
        "name_affixes": ["Graf"],
        "transliteration": {"ø": "O"},
    } | change
    path = tmp_path / "names.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match=key) as raised:
        load_name_rules(path)
    assert str(path) in str(raised.value)


def test_names_json_must_be_an_object(tmp_path: Path) -> None:
    """A names.json that is a JSON list raises ValueError naming the file."""
    path = tmp_path / "names.json"
    path.write_text('["von"]', encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object") as raised:
        load_name_rules(path)
    assert str(path) in str(raised.value)


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    """A names.json that is not JSON raises ValueError naming the file."""
    path = tmp_path / "names.json"
    path.write_text("{titles: [", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON") as raised:
        load_name_rules(path)
    assert str(path) in str(raised.value)


def test_all_is_honest() -> None:
    """codes.__all__ lists exactly the classes and functions the module defines publicly."""
    public = {
        name
        for name, obj in vars(codes).items()
        if not name.startswith("_") and getattr(obj, "__module__", None) == codes.__name__
    }
    assert set(codes.__all__) == public


@pytest.mark.parametrize(
    ("born", "problem"),
    [
        ("0001-01-01", "the birth date lies before 1900-01-01"),
        ("1899-12-31", "the birth date lies before 1900-01-01"),
        ("1900-01-01", None),
        ("2025-03-01", None),
        ("2025-03-02", "the birth date lies after 2025-03-01"),
        ("9999-12-31", "the birth date lies after 2025-03-01"),
        ("1980", None),  # partial: patient_code refuses it itself
        ("1980-02-30", None),  # no calendar date: likewise
    ],
    ids=[
        "year-one",
        "before-1900",
        "first-day",
        "the-day",
        "the-day-after",
        "no-date",
        "partial",
        "no-such-day",
    ],
)
def test_a_birth_date_before_1900_or_after_the_day_cannot_be_coded(
    born: str, problem: str | None
) -> None:
    """R-CODE-4, D-40, D-83: such a date would become the code's last digits."""
    assert codes.birth_date_problem(born, date(2025, 3, 1)) == problem


@pytest.mark.parametrize(
    "text",
    ["HAMÜF28", "HAMÜF2844", "hamüf284", "HAMÜX284", "HAMU\u0308F284", "HAMÉF284", "HAMÜF28٤",
     " HAMÜF284", None, 12345678],
    ids=["seven", "nine", "lower case", "sex letter", "decomposed Ü", "É", "arabic digit",
         "padded", "none", "a number"],
)  # fmt: skip
def test_only_the_register_s_form_is_a_patient_code(text: object) -> None:
    """Four letters A–Z, Ä, Ö, Ü or ß (NFC), F or M, three ASCII digits: nothing else."""
    assert not codes.is_patient_code(text)
    assert codes.is_patient_code("ÖZßAM907")
