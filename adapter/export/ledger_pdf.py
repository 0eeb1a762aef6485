"""The ledger export as a PDF, A4 landscape, to print and file (R-CH-2).

Fonts: DejaVu Sans, else the core Helvetica with a close ASCII form of every character
outside Latin-1 (adapter/pdf/fonts.py, shared with the paper form).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Final

from fpdf.fonts import FontFace

from adapter.pdf.document import FramedDocument
from adapter.pdf.fonts import SYSTEM_FONT, FontFiles, find_fonts, to_latin1

__all__ = ["PDF_COLUMNS", "SYSTEM_FONT", "FontFiles", "find_fonts", "pdf_bytes", "to_latin1"]

TITLE: Final = "Meldungen an das Substitutionsregister"
FOOTER: Final = "Enthält Patientencodes im Klartext – vertraulich behandeln."
NO_REPORTS: Final = "Keine Meldungen in diesem Zeitraum."
# The PDF's columns (headings of the CSV) and their widths in mm, 277 in all between the
# margins (in DejaVu Sans 7 pt a date is 14 mm, a ledger id 52, wrapped at a hyphen);
# Herkunft and Prüfsumme are left out to fit.
PDF_COLUMNS: Final = {
    "Ledger-ID": 31,
    "Status": 19,
    "Art": 18,
    "Erstellt am": 17.5,
    "Datum": 16.5,
    "Patientencode": 23,
    "Substanz": 20,
    "Arzt BtM-Nr.": 16,
    "Arzt Name": 27,
    "Konsiliararzt BtM-Nr.": 20,
    "Bemerkungen": 41,
    "Regel": 16,
    "Ersetzt": 12,
}
# The proof of sending, a second table of the reports that went out (R-CH-2); 277 mm.
PDF_PROOF_COLUMNS: Final = {
    "Ledger-ID": 52,
    "Batch-ID": 75,
    "Übertragung": 60,
    "Zugestellt am": 30,
    "Quittung vom": 30,
    "Quittung": 30,
}
PROOF_TITLE: Final = "Nachweis der Übermittlung (R-CH-2)"


def pdf_bytes(
    rows: Sequence[Sequence[str]],
    *,
    since: date,
    until: date,
    created: datetime,
    proofs: Sequence[Sequence[str]] = (),
) -> bytes:
    """The PDF of an export: title, period, creation note and one table row per report;
    then, for the reports that were sent, how and when, and what the register answered."""
    pdf = _Document()
    pdf.add_page()
    pdf.set_font(pdf.text_family, "B", 14)
    pdf.cell(text=pdf.fit(TITLE), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.text_family, "", 9)
    count = "eine Meldung" if len(rows) == 1 else f"{len(rows)} Meldungen"
    for line in (
        f"Zeitraum (Erstellt am): {since:%d.%m.%Y} – {until:%d.%m.%Y}",
        f"Erstellt am {created:%d.%m.%Y} um {created:%H:%M} Uhr aus dem Meldungsbuch "
        f"von substreg-adapter (Kopie jeder Meldung, R-CH-2); {count}.",
    ):
        pdf.cell(h=6, text=pdf.fit(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _table(pdf, PDF_COLUMNS, rows)
    if not rows:
        pdf.set_font(pdf.text_family, "", 9)
        pdf.cell(h=8, text=pdf.fit(NO_REPORTS), new_x="LMARGIN", new_y="NEXT")
    if proofs:
        _proof_table(pdf, proofs)
    return bytes(pdf.output())


def _proof_table(pdf: _Document, proofs: Sequence[Sequence[str]]) -> None:
    pdf.ln(4)
    pdf.set_font(pdf.text_family, "B", 10)
    pdf.cell(text=pdf.fit(PROOF_TITLE), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    _table(pdf, PDF_PROOF_COLUMNS, proofs)


def _table(pdf: _Document, columns: Mapping[str, float], rows: Sequence[Sequence[str]]) -> None:
    """A table of `rows` under the headings of `columns` (name: width in mm)."""
    pdf.set_font(pdf.text_family, "", 7)
    with pdf.table(
        col_widths=tuple(columns.values()),
        headings_style=FontFace(emphasis="BOLD"),
        line_height=pdf.font_size * 1.4,
        padding=(0.4, 0.8),
        text_align="LEFT",
    ) as table:
        for cells in [tuple(columns), *rows]:
            row = table.row()
            for text in cells:
                row.cell(pdf.fit(text))


class _Document(FramedDocument):
    """A4 landscape with the confidentiality note and page numbers in every footer."""

    def __init__(self) -> None:
        # find_fonts looked up here, so that tests can pretend there is no font file
        super().__init__(orientation="L", title=TITLE, footer_note=FOOTER, fonts=find_fonts())
