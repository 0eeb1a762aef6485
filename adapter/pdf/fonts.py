"""The fonts of the adapter's PDFs, so that umlauts, ß and every name print as recorded.

fpdf2's core fonts know Latin-1 only and fail on "–" or "ł". The text is set in DejaVu
Sans: the file named by SUBSTREG_PDF_FONT, else the system's copy; a `<name>-Bold.ttf`
beside the regular file is used for bold, else the regular one. Without a readable font
file the core Helvetica is used, and every character outside Latin-1 becomes a close
ASCII form (a few known letters and dashes, then NFKD, then "?"), so that a PDF never
fails over a name. Umlauts and ß are Latin-1: they print in either font.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fpdf import FPDF

from adapter.settings.environment import pdf_font

SYSTEM_FONT: Final = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
UNICODE_FAMILY: Final = "DejaVuSans"
CORE_FAMILY: Final = "Helvetica"
# Characters outside Latin-1 that NFKD does not take apart into a letter and a mark.
_CLOSE: Final = {
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "ı": "i",
    "Œ": "OE",
    "œ": "oe",
    "–": "-",
    "—": "-",
    "‚": ",",
    "‘": "'",
    "’": "'",
    "„": '"',
    "“": '"',
    "”": '"',
    "…": "...",
    "€": "EUR",
}


@dataclass(frozen=True, slots=True)
class FontFiles:
    regular: Path
    bold: Path | None


def find_fonts(environ: Mapping[str, str] | None = None) -> FontFiles | None:
    """The Unicode font files: SUBSTREG_PDF_FONT, else the system's DejaVu Sans, else None."""
    given = pdf_font(environ)
    for regular in [*([given] if given else []), SYSTEM_FONT]:
        if regular.is_file():
            bold = regular.with_name(f"{regular.stem}-Bold{regular.suffix}")
            return FontFiles(regular, bold if bold.is_file() else None)
    return None


def load_fonts(pdf: FPDF, fonts: FontFiles | None) -> tuple[str, Callable[[str], str]]:
    """Add `fonts` to `pdf` (regular and bold); the family to set and the function that
    makes a text printable in it (unchanged for the Unicode font, `to_latin1` for the core
    font, taken when `fonts` is None or cannot be read)."""
    if fonts is not None:
        try:
            pdf.add_font(UNICODE_FAMILY, "", fonts.regular)
            pdf.add_font(UNICODE_FAMILY, "B", fonts.bold or fonts.regular)
        except Exception:  # fontTools has its own errors for a damaged or foreign file
            pass  # the core font below still makes a readable PDF
        else:
            return UNICODE_FAMILY, str  # the Unicode font takes the text as it is
    return CORE_FAMILY, to_latin1


def to_latin1(text: str) -> str:
    """`text` with every character outside Latin-1 replaced by a close ASCII form or "?"."""
    return "".join(_latin1_char(char) for char in text)


def _latin1_char(char: str) -> str:
    if ord(char) < 0x100:
        return char
    if char in _CLOSE:
        return _CLOSE[char]
    ascii_form = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return ascii_form or "?"
