"""The handover document for a person: A4 portrait, German, beside the FHIR document
(R-HO-1). It shows what the Bundle holds, what follows for the receiver, and the
signer's fingerprint to confirm; the FHIR document is what the receiving installation
imports (only its signature is verified).

Fonts and style as the ledger export (adapter/pdf/fonts.py, export/ledger_pdf.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Final

from adapter.domain.handover import Handover, Step, doctor_label_de
from adapter.pdf.document import FramedDocument
from adapter.pdf.fonts import find_fonts

TITLE: Final = "Übergabe Substitutionsbehandlung"
FOOTER: Final = "Enthält Patientendaten und den Patientencode – vertraulich behandeln."
_SEX: Final = {"F": "weiblich", "M": "männlich"}
_STATES: Final = {
    "pending": "erstellt, nicht freigegeben",
    "approved": "freigegeben, nicht gesendet",
    "queued": "in Versand",
    "sent": "gesendet",
    "acknowledged": "vom Register quittiert",
}
_KINDS: Final = {"anmeldung": "Anmeldung", "abmeldung": "Abmeldung", "mitteilung": "Mitteilung"}


def handover_pdf(handover: Handover, steps: Sequence[Step], signer: str) -> bytes:
    """The PDF of a handover document."""
    pdf = _Document()
    pdf.add_page()
    pdf.set_font(pdf.text_family, "B", 14)
    pdf.cell(text=pdf.fit(TITLE), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.text_family, "", 9)
    _lines(
        pdf,
        [
            f"Von: {handover.sender}",
            f"An: {handover.receiver}",
            f"Übergabe am {_day(handover.day)}; Dokument {handover.document_id}",
        ],
    )
    for heading, rows in _sections(handover):
        _section(pdf, heading, rows)
    _section(pdf, "Was folgt", [(s.rule, s.german) for s in steps])
    _section(pdf, "Signatur", [("Fingerabdruck des Schlüssels", signer)])
    return bytes(pdf.output())


def _sections(h: Handover) -> list[tuple[str, list[tuple[str, str]]]]:
    p = h.patient
    found = [
        (
            "Patient",
            [
                ("Name", f"{p.family}, {p.given}"),
                ("Geburtsdatum", _fhir_day(p.birth_date)),
                ("Geschlecht", _SEX.get(p.sex or "", "unbekannt")),
            ],
        ),
        (
            "Aktuelle Substitution",
            [
                ("Substanz", h.substance or "unbekannt"),
                ("Letzte Dosis am", _day(h.last_dose)),
                ("Take-home-Reichweite bis", _day(h.covered_until)),
                ("Konsiliararzt", doctor_label_de(h.consultant) if h.consultant else "keiner"),
            ],
        ),
    ]
    return [*found, ("Meldestatus im Substitutionsregister", _status(h))]


def _status(h: Handover) -> list[tuple[str, str]]:
    reg, last = h.registration, h.last_report
    rows = [("Angemeldet", "nein" if reg is None else "ja")]
    if reg is None and h.ended_by_blanket is not None:  # R-PAU-1, D-203
        blanket = h.ended_by_blanket
        state = _STATES.get(blanket.state, blanket.state)
        rows.append(("Beendet durch", f"Pauschalabmeldung vom {_day(blanket.day)} ({state})"))
    if reg is not None:
        rows += [
            ("Angemeldet von", doctor_label_de(reg.doctor)),
            ("Angemeldet seit", _day(reg.since)),
            ("Patientencode", reg.code),
            ("Gemeldete Substanz", reg.substance),
            ("Stand der Anmeldung", _STATES.get(reg.state, reg.state)),
        ]
    if last is not None:
        rows += [
            ("Letzte Meldung", f"{_KINDS.get(last.kind, last.kind)} vom {_day(last.date)}"),
            ("Stand", _STATES.get(last.state, last.state)),
            ("Gesendet am", last.sent_at or "–"),
            ("Quittung", f"{last.receipt or '–'} ({last.received_at or '–'})"),
        ]
    return rows


def _day(day: date | None) -> str:
    return f"{day:%d.%m.%Y}" if day else "unbekannt"


def _fhir_day(value: str | None) -> str:
    """A FHIR date as Germans write it; a partial one (1979, 1979-04) as it is."""
    if not value:
        return "unbekannt"
    return _day(date.fromisoformat(value)) if len(value) == 10 else value


def _lines(pdf: _Document, lines: Sequence[str]) -> None:
    for line in lines:
        pdf.multi_cell(0, 5, pdf.fit(line), new_x="LMARGIN", new_y="NEXT")


def _section(pdf: _Document, heading: str, rows: Sequence[tuple[str, str]]) -> None:
    pdf.ln(3)
    pdf.set_font(pdf.text_family, "B", 11)
    pdf.cell(text=pdf.fit(heading), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.text_family, "", 9)
    for label, value in rows:
        pdf.cell(55, 5, pdf.fit(label))
        pdf.multi_cell(0, 5, pdf.fit(value), new_x="LMARGIN", new_y="NEXT")


class _Document(FramedDocument):
    """A4 portrait with the confidentiality note and page numbers in every footer."""

    def __init__(self) -> None:
        # find_fonts looked up here, so that tests can pretend there is no font file
        super().__init__(orientation="P", title=TITLE, footer_note=FOOTER, fonts=find_fonts())
