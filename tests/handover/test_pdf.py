"""The handover document's PDF: what a person reads beside the FHIR document (R-HO-1)."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date

import pypdf
import pytest

from adapter.domain.handover import HandedPatient, next_steps
from adapter.export import handover_pdf as module
from adapter.export.handover_pdf import handover_pdf
from tests.handover.values import HANDOVER


def _text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_states_patient_treatment_and_register_status() -> None:
    """Title, name, birth date, substance, take-home reach, code and receipt."""
    text = _text(handover_pdf(HANDOVER, next_steps(HANDOVER)))
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
    ):
        assert expected in text, expected


def test_the_pdf_names_no_fingerprint_but_where_it_comes_from() -> None:
    """Whoever swaps the document swaps its PDF too: the PDF prints no fingerprint and
    tells the receiver to get it by phone or letter (D-160, D-246)."""
    text = " ".join(_text(handover_pdf(HANDOVER, next_steps(HANDOVER))).split())
    assert "Fingerabdruck des Schlüssels teilt die abgebende Einrichtung telefonisch" in text
    assert "oder per Brief mit, nie mit der Datei" in text
    assert not re.search(r"([0-9a-f]{4} ){3}[0-9a-f]{4}", text)  # no fingerprint's groups


def test_without_a_font_file_the_pdf_is_made_all_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """The core font and close ASCII forms: a name outside Latin-1 never stops the PDF."""
    monkeypatch.setattr(module, "find_fonts", lambda: None)
    polish = replace(HANDOVER, patient=HandedPatient("Łukasiewicz", "Paweł", "1979", "M"))
    text = _text(handover_pdf(polish, next_steps(polish)))
    assert "Lukasiewicz, Pawel" in text
    assert "Geburtsdatum 1979" in text


def test_what_follows_is_german_in_the_pdf() -> None:
    """The steps of "Was folgt" in German with German dates, none of the CLI's English."""
    text = " ".join(_text(handover_pdf(HANDOVER, next_steps(HANDOVER))).split())
    assert "Weiterbehandlung als Vertretung bis einschließlich" in text
    assert "Neuanmeldung" in text and "Abmeldung durch die abgebende" in text
    for english in ("Continue as a substitute", "re-register", "due from the sending"):
        assert english not in text, english


def test_sending_and_receipt_are_german_times_with_the_batch() -> None:
    """ "Gesendet am" and the receipt's time as German date and time in Berlin, the
    receipt named by its batch, no raw ISO instant (D-202)."""
    text = " ".join(_text(handover_pdf(HANDOVER, next_steps(HANDOVER))).split())
    assert "Gesendet am 08.01.2025, 10:00 Uhr" in text
    assert "für Sendung R-2025-000123, eingegangen 08.01.2025, 10:00 Uhr" in text
    assert "2025-01-08T09:00" not in text


def test_without_an_open_phase_the_reach_says_what_is_known() -> None:
    """No open phase: the reach is "nicht bekannt" with the last dose, never a bare
    "unbekannt"."""
    ended = replace(HANDOVER, covered_until=None)
    text = " ".join(_text(handover_pdf(ended, next_steps(ended))).split())
    assert "nicht bekannt: keine offene Behandlungsphase (letzte Dosis am 30.12.2025)" in text


def test_an_abmeldung_not_yet_sent_is_named_and_the_registration_stays_open() -> None:
    """D-256: "Angemeldet ja", the Abmeldung recorded but not sent, and the R-EP-5 step."""
    assert HANDOVER.registration is not None
    reg = replace(
        HANDOVER.registration, unsent_abmeldung=date(2026, 1, 12), unsent_abmeldung_state="pending"
    )
    handover = replace(HANDOVER, registration=reg)
    text = re.sub(r"\s+", " ", _text(handover_pdf(handover, next_steps(handover))))
    assert "Angemeldet ja" in text
    assert "zum 12.01.2026 erfasst, noch nicht gesendet" in text
    assert "R-EP-5" in text and "R-EP-1" not in text
