"""The handover document's PDF: what a person reads beside the FHIR document (R-HO-1)."""

from __future__ import annotations

import io
from dataclasses import replace

import pypdf
import pytest

from adapter.domain.handover import HandedPatient, next_steps
from adapter.export import handover_pdf as module
from adapter.export.handover_pdf import handover_pdf
from tests.handover.values import HANDOVER

SIGNER = "25b0 cc91 48ba f781 2248 023e 021f a4ad b272 cef0 dc0b 14f4 6ab0 cb57 f5df e3f7"


def _text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_states_patient_treatment_register_status_and_fingerprint() -> None:
    """Title, name, birth date, substance, take-home reach, code, receipt and the key."""
    text = _text(handover_pdf(HANDOVER, next_steps(HANDOVER), SIGNER))
    for expected in (
        "Übergabe Substitutionsbehandlung",
        "Reuter, Thomas",
        "12.04.1979",
        "Levomethadon",
        "Take-home-Reichweite bis 02.01.2026",
        "Aylin Öztürk, BtM-Nr. 3770303",
        "THREM249",
        "R-2025-000123",
        "R-ABS-1",
        SIGNER[:24],
    ):
        assert expected in text, expected


def test_without_a_font_file_the_pdf_is_made_all_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """The core font and close ASCII forms: a name outside Latin-1 never stops the PDF."""
    monkeypatch.setattr(module, "find_fonts", lambda: None)
    polish = replace(HANDOVER, patient=HandedPatient("Łukasiewicz", "Paweł", "1979", "M"))
    text = _text(handover_pdf(polish, next_steps(polish), SIGNER))
    assert "Lukasiewicz, Pawel" in text
    assert "Geburtsdatum 1979" in text


def test_what_follows_is_german_in_the_pdf() -> None:
    """The steps of "Was folgt" in German with German dates, none of the CLI's English."""
    text = " ".join(_text(handover_pdf(HANDOVER, next_steps(HANDOVER), SIGNER)).split())
    assert "Weiterbehandlung als Vertretung bis einschließlich" in text
    assert "Neuanmeldung" in text and "Abmeldung durch die abgebende" in text
    for english in ("Continue as a substitute", "re-register", "due from the sending"):
        assert english not in text, english
