"""The frame of the adapter's A4 documents (the ledger export, the handover document): the
fonts, the title, and a footer with the confidentiality note and the page numbers."""

from __future__ import annotations

from typing import Literal

from fpdf import FPDF

from adapter.pdf.fonts import FontFiles, load_fonts


class FramedDocument(FPDF):
    """A4 with `footer_note` and "Seite n von m" in every footer."""

    def __init__(
        self,
        *,
        orientation: Literal["P", "L"],
        title: str,
        footer_note: str,
        fonts: FontFiles | None,
    ) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.text_family, self.fit = load_fonts(self, fonts)
        self.footer_note = footer_note
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(title)
        self.set_creator("substreg-adapter")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.text_family, "", 7)
        self.cell(self.epw * 0.8, 5, self.fit(self.footer_note))
        self.cell(0, 5, f"Seite {self.page_no()} von {{nb}}", align="R")
