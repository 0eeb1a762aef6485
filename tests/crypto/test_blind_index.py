"""The blind index: HMAC-SHA256 over the NFC form of a value (adapter/crypto/blind_index.py)."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.crypto import blind_index

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
REFERENCE = "fhir-patient|https://ehr.example.org/fhir|Zoë-Ærø-ﬂ"


def test_the_index_is_hmac_sha256_of_the_utf8_nfc_value() -> None:
    """blind_index equals HMAC-SHA256(key, NFC(value) as UTF-8): 32 bytes."""
    expected = hmac.new(
        KEY, unicodedata.normalize("NFC", REFERENCE).encode("utf-8"), hashlib.sha256
    ).digest()
    assert blind_index(KEY, REFERENCE) == expected
    assert len(expected) == 32


def test_the_index_is_stable() -> None:
    """One key and one value always give one index: the row stays findable."""
    assert blind_index(KEY, REFERENCE) == blind_index(KEY, REFERENCE)


def test_the_index_differs_per_key_and_per_value() -> None:
    """Another key or another reference gives another index."""
    assert blind_index(KEY, REFERENCE) != blind_index(OTHER_KEY, REFERENCE)
    assert blind_index(KEY, REFERENCE) != blind_index(KEY, REFERENCE + "x")


def test_composed_and_decomposed_forms_give_one_index() -> None:
    """ë typed as one code point or as e plus diaeresis is one reference."""
    composed, decomposed = "fhir-patient|x|\u00eb", "fhir-patient|x|e\u0308"
    assert composed != decomposed
    assert blind_index(KEY, composed) == blind_index(KEY, decomposed)


def test_compatibility_forms_stay_distinct() -> None:
    """Only canonical equivalence is folded: the ligature ﬁ is not the letters fi."""
    assert blind_index(KEY, "ref|\ufb01") != blind_index(KEY, "ref|fi")


@pytest.mark.parametrize("size", [0, 16, 64], ids=["empty", "16", "64"])
def test_a_key_of_the_wrong_length_is_refused(size: int) -> None:
    """Only a 32-byte index key is accepted."""
    with pytest.raises(ValueError, match="32 bytes"):
        blind_index(bytes(size), REFERENCE)


def test_a_lone_surrogate_is_refused_without_echoing_the_value() -> None:
    """Text that is no valid Unicode is a ValueError whose message leaves the value out."""
    value = "patient-4711\ud800"
    with pytest.raises(ValueError, match="lone surrogate") as caught:
        blind_index(KEY, value)
    assert "4711" not in str(caught.value)


@given(st.text())
def test_nfc_and_nfd_forms_of_any_text_give_one_index(text: str) -> None:
    """Property: NFC and NFD forms of the same string have the same blind index."""
    nfc, nfd = unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)
    assert blind_index(KEY, nfc) == blind_index(KEY, nfd) == blind_index(KEY, text)
