"""The handover document for a person: A4 portrait, German, beside the FHIR document
(R-HO-1). It shows what the Bundle holds and what follows for the receiver; the FHIR
document is what the receiving installation imports (only its signature is verified).
It never prints the signer's fingerprint: whoever swaps the file swaps its PDF too, so
the fingerprint reaches the receiver by phone or letter only (D-160, D-246).

Fonts and style as the ledger export (adapter/pdf/fonts.py, export/ledger_pdf.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from adapter.domain.handover import Handover, Step, doctor_label_de
from adapter.pdf.document import FramedDocument
from adapter.pdf.fonts import find_fonts

TITLE: Final = "Übergabe Substitutionsbehandlung"
FOOTER: Final = "Enthält Patientendaten und den Patientencode – vertraulich behandeln."
_BERLIN: Final = ZoneInfo("Europe/Berlin")
_SEX: Final = {"F": "weiblich", "M": "männlich"}
_STATES: Final = {
    "pending": "erstellt, nicht freigegeben",
    "approved": "freigegeben, nicht gesendet",
    "queued": "in Versand",
    "sent": "gesendet",
    "acknowledged": "vom Register quittiert",
}
_KINDS: Final = {"anmeldung": "Anmeldung", "abmeldung": "Abmeldung", "mitteilung": "Mitteilung"}


# Where the receiver gets the fingerprint from, instead of the fingerprint (D-160, D-246).
SIGNATURE_NOTE: Final = (
    "Das FHIR-Dokument ist elektronisch signiert. Den Fingerabdruck des Schlüssels teilt die "
    "abgebende Einrichtung telefonisch oder per Brief mit, nie mit der Datei oder diesem "
    "Ausdruck; eingelesen wird das Dokument nur, wenn der mitgeteilte Fingerabdruck "
    "übereinstimmt."
)


def handover_pdf(handover: Handover, steps: Sequence[Step]) -> bytes:
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
    _section(pdf, "Signatur", [("Prüfung", SIGNATURE_NOTE)])
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
                ("Take-home-Reichweite bis", _reach(h)),
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
    if reg is not None and reg.unsent_abmeldung is not None:  # D-256
        state = reg.unsent_abmeldung_state or "pending"
        rows.append(
            (
                "Abmeldung",
                f"zum {_day(reg.unsent_abmeldung)} erfasst, noch nicht gesendet "
                f"({_STATES.get(state, state)}): die Anmeldung gilt weiter als offen",
            )
        )
    if last is not None:
        rows += [
            ("Letzte Meldung", f"{_KINDS.get(last.kind, last.kind)} vom {_day(last.date)}"),
            ("Stand", _STATES.get(last.state, last.state)),
            ("Gesendet am", _moment(last.sent_at)),
            ("Quittung", _receipt(last.receipt, last.received_at)),
        ]
    return rows


def _reach(h: Handover) -> str:
    """The last covered day; without an open phase, what is known instead."""
    if h.covered_until is not None:
        return _day(h.covered_until)
    known = f" (letzte Dosis am {_day(h.last_dose)})" if h.last_dose else ""
    return f"nicht bekannt: keine offene Behandlungsphase{known}"


def _moment(value: str | None) -> str:
    """An ISO instant as a German date and time in Berlin: `07.12.2026, 14:03 Uhr`."""
    if not value:
        return "–"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(_BERLIN)
    return f"{moment:%d.%m.%Y, %H:%M} Uhr"


def _receipt(batch: str | None, received_at: str | None) -> str:
    if not batch:
        return "keine eingegangen"
    return f"für Sendung {batch}, eingegangen {_moment(received_at)}"


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
