"""The handover document as FHIR (fhir_profiles/handover-document.md): it is valid R4, its
Composition is titled "Übergabe Substitutionsbehandlung", it reads back to the same
handover, and a part missing or a signature absent is refused in one sentence."""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Any

import orjson
import pytest

from adapter.domain.handover import Handover
from adapter.errors import HandoverRefused
from adapter.fhir.handover_document import (
    TITLE,
    canonical_bytes,
    document_json,
    handover_bundle,
    signed_bundle,
)
from adapter.fhir.handover_reading import read_document
from adapter.fhir.r4b import model_class
from tests.handover.values import HANDOVER

TIME = "2025-12-31T10:00:00+00:00"


def _signed(bundle: dict[str, Any]) -> bytes:
    return document_json(signed_bundle(bundle, "e30..c2ln", TIME))


def test_the_document_is_a_valid_r4_document_bundle() -> None:
    """fhir.resources' R4B models accept the Bundle and every resource in it."""
    bundle = signed_bundle(handover_bundle(HANDOVER, TIME), "e30..c2ln", TIME)
    model_class("Bundle").model_validate(bundle)
    composition = bundle["entry"][0]["resource"]
    assert (bundle["type"], composition["resourceType"]) == ("document", "Composition")
    assert composition["title"] == TITLE == "Übergabe Substitutionsbehandlung"


@pytest.mark.parametrize(
    "handover",
    [
        HANDOVER,
        replace(HANDOVER, registration=None, last_report=None, consultant=None, covered_until=None),
    ],
    ids=["registered", "nothing-open"],
)
def test_the_document_reads_back_to_the_same_handover(handover: Handover) -> None:
    """Build, serialise and read: every field comes back as it went in."""
    read = read_document(_signed(handover_bundle(handover, TIME)))
    assert read.handover == handover
    assert read.token == "e30..c2ln"


def test_the_signature_covers_everything_but_itself() -> None:
    """The signed bytes are the Bundle without `signature`; any change alters them."""
    bundle = handover_bundle(HANDOVER, TIME)
    read = read_document(_signed(bundle))
    assert read.signed == canonical_bytes(bundle)
    changed = copy.deepcopy(bundle)
    changed["entry"][1]["resource"]["birthDate"] = "1979-04-13"
    assert canonical_bytes(changed) != read.signed


@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (lambda b: b.pop("signature"), "carries no signature"),
        (lambda b: b.update(type="collection"), "not a FHIR document Bundle"),
        (lambda b: b["entry"].pop(0), "lacks a part"),
        (lambda b: b["entry"][0]["resource"].update(title="Arztbrief"), "is no"),
    ],
    ids=["unsigned", "not-a-document", "no-composition", "other-title"],
)
def test_what_is_no_handover_document_is_refused(mutate: Any, says: str) -> None:
    """One sentence naming what is wrong, never a value of the document."""
    bundle = signed_bundle(handover_bundle(HANDOVER, TIME), "e30..c2ln", TIME)
    mutate(bundle)
    with pytest.raises(HandoverRefused, match=says) as caught:
        read_document(orjson.dumps(bundle))
    assert "Reuter" not in str(caught.value)
    assert "THREM249" not in str(caught.value)


def test_bytes_that_are_not_json_are_refused() -> None:
    """A PDF given instead of the JSON document: refused, not a traceback."""
    with pytest.raises(HandoverRefused, match="is not JSON"):
        read_document(b"%PDF-1.7")


def test_every_code_the_document_uses_is_defined_in_the_guide() -> None:
    """Each code of ours in the Bundle is a concept of fhir_profiles/CodeSystem-handover.json."""
    from pathlib import Path

    from adapter.fhir.handover_document import CODES

    guide = Path(__file__).resolve().parents[2] / "fhir_profiles" / "CodeSystem-handover.json"
    system = orjson.loads(guide.read_bytes())
    assert system["url"] == CODES
    defined = {c["code"] for c in system["concept"]}
    text = orjson.dumps(handover_bundle(HANDOVER, TIME)).decode()
    used = set(re.findall(r'"system":"' + re.escape(CODES) + r'","code":"([a-z-]+)"', text))
    assert used
    assert used <= defined
