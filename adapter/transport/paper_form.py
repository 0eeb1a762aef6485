"""The paper form of a batch as a PDF, A4 landscape (R-CH-1, D-110): to print, stamp,
sign and post to the Bundesopiumstelle.

`render_form(batch, place, printed_at)` depends on its arguments only: the same batch,
place and time give the same bytes (the creation date is `printed_at`, the file id is
fpdf2's digest of the content). Each form of the batch (paper_content.py) starts on a new
page: title, doctor block, then one line per report. A report's line is never cut across
two pages: one that does not fit below the last goes to the next page, under the column
headings again; only a line taller than a whole page (a remark of pages) is continued,
line by line. Every page names the batch and says "Seite x von y"; every further page of
a form names its doctor.

fpdf2 takes long to import: import this module only when a form is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from fpdf import FPDF

from adapter.domain.batch import Batch
from adapter.pdf.fonts import find_fonts, load_fonts
from adapter.transport.paper_content import (
    COLUMNS,
    DOCTOR_HEADING,
    TITLE,
    Form,
    forms_of,
    german_date,
)
from adapter.transport.paper_marker import marker_line

__all__ = ["render_form"]

_BERLIN: Final = ZoneInfo("Europe/Berlin")  # the register's days (practice.toml time_zone)
_MARGIN: Final = 15.0
_BOTTOM: Final = 16.0  # the footer lives below this
# Widths in mm of COLUMNS, 267 in all between the margins of A4 landscape (in DejaVu Sans
# 8 pt a date is 16.2 mm, "Pauschalabmeldung" 28.5, "Substitutionsmittel" 23.4 in 7 pt;
# a cell has 1 mm of margin each side). The practice's report id may take two lines.
_WIDTHS: Final = (8.0, 31.0, 22.0, 20.0, 20.0, 26.0, 52.0, 44.0, 20.0, 24.0)
_SIZE, _LINE_H, _PAD = 8.0, 3.8, 0.8  # the lines of reports
_HEAD_SIZE, _HEAD_H = 7.0, 3.1  # the column headings
# The doctor block: three pairs of label and value a line, the address the widest.
_DOCTOR_WIDTHS: Final = (30.0, 40.0, 36.0, 95.0, 24.0, 42.0)
_BLANK_H: Final = 7.0  # a doctor field left blank for the doctor's hand
_CLOSING_H: Final = 51.0  # Ort, Datum, then the boxes for stamp and signature
_NOTE: Final = (
    "an die Bundesopiumstelle im Bundesinstitut für Arzneimittel und Medizinprodukte "
    "(BfArM) nach § 5b BtMVV – selbst erstelltes Meldeformular mit allen Angaben des "
    "amtlichen Meldeformulars. Bitte ausdrucken, mit Arztstempel und Unterschrift versehen "
    "und per Post senden; nicht per E-Mail oder Fax. Enthält Patientencodes: vertraulich."
)
_SIGNATURE: Final = "Unterschrift des Arztes (im Vertretungsfall mit „i.V.“)"


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str
    width: float
    style: str = ""  # "" regular, "B" bold


def render_form(batch: Batch, place: str, printed_at: datetime) -> bytes:
    """The PDF form of `batch`, signed off at `place` on the (German) day of `printed_at`."""
    if printed_at.utcoffset() is None:
        msg = "printed_at must be a date and time with a time zone"
        raise ValueError(msg)
    local = printed_at.astimezone(_BERLIN)
    sheet = _Sheet(batch.batch_id)
    sheet.set_creation_date(local)
    sheet.set_keywords(marker_line(batch, printed_at))
    for form in forms_of(batch, place=place, printed_on=local.date()):
        sheet.form_pages(form)
    return bytes(sheet.output())


class _Sheet(FPDF):
    """The pages; every line is measured before it is drawn, so that none is cut."""

    def __init__(self, batch_id: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.batch_id = batch_id
        self.family, self.fit = load_fonts(self, find_fonts())
        self.form: Form | None = None
        self.in_table = False
        self.headings: list[list[str]] = []  # the column headings' lines, once wrapped
        self.headings_height = 0.0
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=False, margin=_BOTTOM)
        self.set_title(f"{TITLE} – {batch_id}")
        self.set_creator("substreg-adapter")

    def form_pages(self, form: Form) -> None:
        self.form, self.in_table = None, False  # a form's first page has no running head
        self.add_page()
        self.form = form
        self._title(form)
        for line in range(0, len(form.doctor), 3):
            self._doctor_line(form, line)
        self.set_font(self.family, "", 9)
        self.ln(2)
        self.multi_cell(0, 4.5, self.fit(form.summary), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        self._column_headings()
        self.in_table = True
        for row in form.rows:
            cells = [_Cell(text, width) for text, width in zip(row, _WIDTHS, strict=True)]
            cells[2] = _Cell(row[2], _WIDTHS[2], "B")  # the patient code stands out
            self._line(cells, _SIZE, _LINE_H)
        self.in_table = False
        self._closing(form)

    def header(self) -> None:
        if self.form is None:
            return
        form = self.form
        part = f", Formular {form.part} von {form.parts}" if form.parts > 1 else ""
        text = f"{TITLE} (Fortsetzung{part}) – {form.doctor_name}, BtM-Nummer {form.btm_number}"
        self.set_font(self.family, "", 8)
        self.cell(0, 5, self.fit(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)
        if self.in_table:
            self._column_headings()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 7.5)
        self.cell(self.epw * 0.75, 4, self.fit(f"Batch-ID {self.batch_id}"))
        self.cell(0, 4, f"Seite {self.page_no()} von {{nb}}", align="R")

    def _title(self, form: Form) -> None:
        part = f" – Formular {form.part} von {form.parts}" if form.parts > 1 else ""
        self.set_font(self.family, "B", 14)
        self.cell(0, 8, self.fit(TITLE + part), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family, "", 8.5)
        self.multi_cell(0, 4, self.fit(_NOTE), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        self.set_font(self.family, "B", 10)
        self.cell(0, 6, self.fit(DOCTOR_HEADING), new_x="LMARGIN", new_y="NEXT")

    def _doctor_line(self, form: Form, start: int) -> None:
        texts = [t for f in form.doctor[start : start + 3] for t in (f.label, f.value)]
        cells = [
            _Cell(text, width, "B" if number % 2 else "")
            for number, (text, width) in enumerate(zip(texts, _DOCTOR_WIDTHS, strict=True))
        ]
        self._line(cells, 9, 4.4, least=_BLANK_H)

    def _column_headings(self) -> None:
        # A soft hyphen where a heading may break: "Substitutions-" / "mittels".
        texts = [text.replace("Substitutions", "Substitutions\u00ad") for text in COLUMNS]
        cells = [_Cell(text, width) for text, width in zip(texts, _WIDTHS, strict=True)]
        if not self.headings:  # the same on every page: wrapped once
            self.headings = [self._wrap(cell, _HEAD_SIZE) for cell in cells]
            self.headings_height = _height(self.headings, _HEAD_H)
        self.set_fill_color(225)
        self._draw(self.headings, cells, _HEAD_SIZE, _HEAD_H, fill=True)

    def _closing(self, form: Form) -> None:
        if self.y + 3 + _CLOSING_H > self.page_break_trigger:
            self.add_page()  # the running head and nothing else above the signature
        self.ln(3)
        place = f"{form.place}, {german_date(form.printed_on)}"
        self._line([_Cell("Ort, Datum", 30.0), _Cell(place, 100.0, "B")], 9, 4.4)
        top, half = self.y + 4, (self.epw - 10) / 2
        for x, caption in ((self.l_margin, "Arztstempel"), (self.l_margin + half + 10, _SIGNATURE)):
            self.rect(x, top, half, 32)
            self.set_xy(x, top + 33)
            self.set_font(self.family, "", 8)
            self.cell(half, 4, self.fit(caption))
        self.set_xy(self.l_margin, top + 38)

    def _line(self, cells: list[_Cell], size: float, line_h: float, least: float = 0) -> None:
        """One line of cells, on this page if it fits, else on the next; continued over
        pages only when it is taller than a whole page."""
        lines = [self._wrap(cell, size) for cell in cells]
        while True:
            height = max(_height(lines, line_h), least)
            whole_page = self.page_break_trigger - self._top_of_next_page()
            if self.y + height > self.page_break_trigger and height <= whole_page:
                self.add_page()
            fits = int((self.page_break_trigger - self.y - 2 * _PAD) // line_h)
            if fits < 1:
                self.add_page()
                continue
            self._draw([cell[:fits] for cell in lines], cells, size, line_h, least=least)
            lines = [cell[fits:] for cell in lines]
            if not any(lines):
                return
            self.add_page()

    def _top_of_next_page(self) -> float:
        """Where a further page's first line begins: below the running head and, within
        the table, the column headings."""
        return _MARGIN + 6 + (self.headings_height if self.in_table else 0)

    def _wrap(self, cell: _Cell, size: float) -> list[str]:
        self.set_font(self.family, cell.style, size)
        text = self.fit(cell.text)
        if not text:
            return []
        room = cell.width - 2 * self.c_margin
        if "\n" not in text and "\u00ad" not in text and self.get_string_width(text) <= room:
            return [text]  # one line: most cells, measured fast
        lines = self.multi_cell(cell.width, 1, text, dry_run=True, output="LINES")
        if not isinstance(lines, list):  # output="LINES" gives a list of the lines
            msg = f"fpdf2 gave {type(lines).__name__} for the lines of a text"
            raise TypeError(msg)
        return [str(line) for line in lines]

    def _draw(
        self,
        lines: list[list[str]],
        cells: list[_Cell],
        size: float,
        line_h: float,
        *,
        least: float = 0,
        fill: bool = False,
    ) -> None:
        x, y = self.l_margin, self.y
        height = max(_height(lines, line_h), least)
        for cell, cell_lines in zip(cells, lines, strict=True):
            self.rect(x, y, cell.width, height, style="DF" if fill else "D")
            self.set_font(self.family, cell.style, size)
            for number, text in enumerate(cell_lines):
                self.set_xy(x, y + _PAD + number * line_h)
                self.cell(cell.width, line_h, text)
            x += cell.width
        self.set_xy(self.l_margin, y + height)


def _height(lines: list[list[str]], line_h: float) -> float:
    return max(1, *(len(cell) for cell in lines)) * line_h + 2 * _PAD
