"""`substreg ledger export`: the CSV and PDF copies of the reports of a period (R-CH-2)."""

from __future__ import annotations

import csv
import importlib.util
import re
import shutil
import stat
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from adapter.domain.model import Address, RegisterDoctor, Report
from adapter.errors import SetupError
from adapter.export import ledger_pdf as export_pdf
from adapter.export.ledger import HEADERS, PROOF_HEADERS, SHREDDED, ExportRow, write_export
from adapter.export.ledger_pdf import (
    PDF_COLUMNS,
    PDF_PROOF_COLUMNS,
    FontFiles,
    find_fonts,
    to_latin1,
)
from adapter.settings.environment import FONT_ENV
from adapter.store.ledger import Entry
from adapter.store.outbox import Proof

SINCE, UNTIL = date(2025, 3, 1), date(2025, 3, 31)
DIGEST = bytes(range(32))
STAMP = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


def doctor(given: str = "Erika", family: str = "Muster", btm: str = "1234567") -> RegisterDoctor:
    """A substituting doctor as a report carries them."""
    return RegisterDoctor(
        btm_number=btm,
        family_name=family,
        given_name=given,
        birth_date="1970-01-01",
        address=Address(("Hauptstraße 1",), "10115", "Berlin"),
        phone="030 1234567",
    )


def report(
    code: str | None,
    *,
    kind: str = "anmeldung",
    made_on: date = date(2025, 3, 10),
    day: date = date(2025, 3, 7),
    substance: str | None = "Methadon",
    remarks: tuple[str, ...] = (),
    consultant: RegisterDoctor | None = None,
    by: RegisterDoctor | None = None,
) -> Report:
    """A report as recorded in the ledger's payload."""
    return Report(
        kind=kind,  # type: ignore[arg-type]
        made_on=made_on,
        date=day,
        patient_code=code,
        substance=substance,
        doctor=by or doctor(),
        consultant=consultant,
        remarks=remarks,
        rule="R-EP-1",
        sources=("MedicationAdministration/ma-1",),
        id=f"r-{code}",
    )


def row(
    ledger_id: str, payload: Report | None, proof: Proof | None = None, **clear: object
) -> ExportRow:
    """A ledger row with its clear columns (matching `payload` when there is one)."""
    values: dict[str, object] = {
        "ledger_id": ledger_id,
        "mapping_id": "m-1",
        "kind": payload.kind if payload else "abmeldung",
        "doctor_btm": "1234567",
        "report_date": payload.date if payload else date(2025, 3, 20),
        "made_on": payload.made_on if payload else date(2025, 3, 21),
        "rule": payload.rule if payload else "R-EP-3",
        "origin": "derived",
        "superseded": False,
        "state": "sent",
        "dek_id": "dek-1",
        "payload_digest": DIGEST,
        "slot_key": f"{ledger_id}-slot",
        "created_at": STAMP,
        "updated_at": STAMP,
    }
    values.update(clear)
    return ExportRow(Entry(**values), payload, proof=proof)  # type: ignore[arg-type]


FOLDER = Proof("sr-1234567-a", "folder", "sent", STAMP, None, None, "sr-1234567-a.p7m")
HTTP = Proof(
    "sr-7654321-b",
    "http",
    "acknowledged",
    STAMP,
    datetime(2025, 3, 11, 7, 0, tzinfo=UTC),
    "accepted",
    None,
)


def sample_rows() -> list[ExportRow]:
    """An Anmeldung with Ü and ß, one with a remark holding a semicolon, a shredded row."""
    return [
        row("led-1", report("HAMÜF284"), FOLDER),
        row(
            "led-2",
            report(
                "MAßUM385",
                kind="abmeldung",
                substance=None,
                remarks=("Umzug; Weiterbehandlung extern", "Take-home bis 07.03."),
                consultant=doctor("Karl", "Rat", "7654321"),
            ),
            HTTP,
            origin="correction",
            superseded=True,
            state="acknowledged",
        ),
        row("led-3", None),
    ]


def read_csv(path: Path) -> list[list[str]]:
    """The CSV's rows, read the way Excel reads it (BOM, semicolons)."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file, delimiter=";"))


def pdf_text(path: Path) -> str:
    """The text of a PDF, by pypdf or pdftotext; skips the test when neither is here."""
    if importlib.util.find_spec("pypdf") is not None:
        import pypdf

        return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    if shutil.which("pdftotext"):
        done = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
        )
        return done.stdout.decode()
    pytest.skip("neither pypdf nor pdftotext is installed to read the PDF's text")


@pytest.fixture
def no_unicode_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend that no Unicode font file can be found."""
    monkeypatch.setattr(export_pdf, "find_fonts", lambda: None)


def test_csv_has_one_header_row_and_one_row_per_report(tmp_path: Path) -> None:
    """The CSV starts with the column headings, then one row per report in order."""
    out = tmp_path / "export.csv"
    write_export(sample_rows(), out, fmt="csv", since=SINCE, until=UNTIL)
    rows = read_csv(out)
    assert rows[0] == list(HEADERS)
    assert [r[0] for r in rows[1:]] == ["led-1", "led-2", "led-3"]


def test_csv_gives_the_report_as_recorded(tmp_path: Path) -> None:
    """Every column of an Anmeldung reads back as recorded, the code with Ü unchanged."""
    out = tmp_path / "export.csv"
    write_export(sample_rows(), out, fmt="csv", since=SINCE, until=UNTIL)
    first = dict(zip(HEADERS, read_csv(out)[1], strict=True))
    assert first == {
        "Ledger-ID": "led-1",
        "Status": "sent",
        "Art": "Anmeldung",
        "Erstellt am": "10.03.2025",
        "Datum": "07.03.2025",
        "Patientencode": "HAMÜF284",
        "Substanz": "Methadon",
        "Arzt BtM-Nr.": "1234567",
        "Arzt Name": "Erika Muster",
        "Konsiliararzt BtM-Nr.": "",
        "Bemerkungen": "",
        "Regel": "R-EP-1",
        "Herkunft": "derived",
        "Ersetzt": "nein",
        "Prüfsumme": DIGEST.hex(),
        "Batch-ID": "sr-1234567-a",
        "Übertragung": "folder (sr-1234567-a.p7m)",
        "Zugestellt am": "10.03.2025 10:30",
        "Quittung vom": "",
        "Quittung": "",
    }


def test_csv_gives_each_sent_report_its_batch_route_time_and_receipt(tmp_path: Path) -> None:
    """R-CH-2: the batch, the route, when it left and what the register's receipt said (in
    Berlin time); a report never sent has these cells empty."""
    out = tmp_path / "export.csv"
    write_export(sample_rows(), out, fmt="csv", since=SINCE, until=UNTIL)
    second, third = (dict(zip(HEADERS, r, strict=True)) for r in read_csv(out)[2:4])
    assert [second[h] for h in PROOF_HEADERS] == [
        "sr-7654321-b",
        "http",
        "10.03.2025 10:30",
        "11.03.2025 08:00",
        "angenommen",
    ]
    assert [third[h] for h in PROOF_HEADERS] == ["", "", "", "", ""]


def test_csv_keeps_eszett_and_quotes_a_remark_with_a_semicolon(tmp_path: Path) -> None:
    """ß stays ß, remarks are joined with " | " and a semicolon in them stays in its cell."""
    out = tmp_path / "export.csv"
    write_export(sample_rows(), out, fmt="csv", since=SINCE, until=UNTIL)
    second = dict(zip(HEADERS, read_csv(out)[2], strict=True))
    assert second["Patientencode"] == "MAßUM385"
    assert second["Art"] == "Abmeldung"
    assert second["Substanz"] == ""
    assert second["Bemerkungen"] == "Umzug; Weiterbehandlung extern | Take-home bis 07.03."
    assert second["Konsiliararzt BtM-Nr."] == "7654321"
    assert (second["Status"], second["Herkunft"], second["Ersetzt"]) == (
        "acknowledged",
        "correction",
        "ja",
    )


def test_csv_marks_a_shredded_report_and_keeps_its_clear_columns(tmp_path: Path) -> None:
    """A shredded payload says so in Patientencode; the ledger's clear columns stay."""
    out = tmp_path / "export.csv"
    write_export(sample_rows(), out, fmt="csv", since=SINCE, until=UNTIL)
    third = dict(zip(HEADERS, read_csv(out)[3], strict=True))
    assert third["Patientencode"] == SHREDDED
    emptied = ("Substanz", "Arzt Name", "Konsiliararzt BtM-Nr.", "Bemerkungen")
    assert [third[h] for h in emptied] == ["", "", "", ""]
    assert [third[h] for h in ("Art", "Erstellt am", "Datum", "Arzt BtM-Nr.", "Regel")] == [
        "Abmeldung",
        "21.03.2025",
        "20.03.2025",
        "1234567",
        "R-EP-3",
    ]


def test_csv_is_utf8_with_a_bom_and_semicolons(tmp_path: Path) -> None:
    """German Excel needs the BOM to read UTF-8 and semicolons to split columns."""
    out = tmp_path / "export.csv"
    write_export(sample_rows(), out, fmt="csv", since=SINCE, until=UNTIL)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfLedger-ID;Status;Art;")
    assert "HAMÜF284".encode() in raw


def test_csv_of_an_empty_period_has_the_header_only(tmp_path: Path) -> None:
    """A period without reports still gives a CSV with its headings."""
    out = tmp_path / "export.csv"
    write_export([], out, fmt="csv", since=SINCE, until=UNTIL)
    assert read_csv(out) == [list(HEADERS)]


@pytest.mark.parametrize("fmt", ["csv", "pdf"], ids=["csv", "pdf"])
def test_export_is_readable_by_its_owner_only(tmp_path: Path, fmt: str) -> None:
    """The export holds codes in clear: mode 0600, even over an older world-readable file."""
    out = tmp_path / f"export.{fmt}"
    out.write_text("old")
    out.chmod(0o644)
    write_export(sample_rows(), out, fmt=fmt, since=SINCE, until=UNTIL)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes() != b"old"


@pytest.mark.parametrize("fmt", ["csv", "pdf"], ids=["csv", "pdf"])
def test_export_leaves_no_temporary_file(tmp_path: Path, fmt: str) -> None:
    """Only the export itself is left in the directory."""
    out = tmp_path / f"export.{fmt}"
    write_export(sample_rows(), out, fmt=fmt, since=SINCE, until=UNTIL)
    assert list(tmp_path.iterdir()) == [out]


def test_pdf_holds_the_title_period_and_codes(tmp_path: Path) -> None:
    """The PDF has the title, the period and every code as recorded."""
    out = tmp_path / "export.pdf"
    write_export(sample_rows(), out, fmt="pdf", since=SINCE, until=UNTIL)
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    assert "Meldungen an das Substitutionsregister" in text
    assert "01.03.2025" in text
    assert "31.03.2025" in text
    for code in ("HAMÜF284", "MAßUM385", "gelöscht"):
        assert code in text


def test_pdf_leaves_out_only_checksum_and_origin() -> None:
    """The PDF's report table has the CSV's columns without Prüfsumme, Herkunft and the
    proof; the proof is a table of its own, with the ledger id, in the CSV's order."""
    assert set(HEADERS) - set(PDF_COLUMNS) == {"Prüfsumme", "Herkunft", *PROOF_HEADERS}
    assert [h for h in HEADERS if h in PDF_COLUMNS] == list(PDF_COLUMNS)
    assert list(PDF_PROOF_COLUMNS) == ["Ledger-ID", *PROOF_HEADERS]
    assert sum(PDF_PROOF_COLUMNS.values()) == sum(PDF_COLUMNS.values())


def test_pdf_holds_the_proof_of_each_report_sent(tmp_path: Path) -> None:
    """The second table names each sent report's batch and its receipt."""
    out = tmp_path / "export.pdf"
    write_export(sample_rows(), out, fmt="pdf", since=SINCE, until=UNTIL)
    text = pdf_text(out)
    assert "Nachweis der Übermittlung" in text
    for cell in ("sr-1234567-a", "sr-7654321-b", "angenommen", "11.03.2025 08:00"):
        assert cell in text


def test_pdf_footer_has_the_confidentiality_note_and_page_numbers(tmp_path: Path) -> None:
    """Every page says it holds codes in clear and which page of how many it is."""
    out = tmp_path / "export.pdf"
    many = [row(f"led-{n}", report(f"HAMÜF{n:03}")) for n in range(80)]
    write_export(many, out, fmt="pdf", since=SINCE, until=UNTIL)
    text = pdf_text(out)
    numbers = re.findall(r"Seite (\d+) von (\d+)", text)
    pages = int(numbers[-1][1])
    assert pages >= 2
    assert numbers == [(str(n), str(pages)) for n in range(1, pages + 1)]
    assert text.count("Enthält Patientencodes im Klartext") == pages
    assert "HAMÜF079" in text


def test_pdf_of_an_empty_period_says_there_are_no_reports(tmp_path: Path) -> None:
    """A period without reports still gives a PDF that says so."""
    out = tmp_path / "export.pdf"
    write_export([], out, fmt="pdf", since=SINCE, until=UNTIL)
    assert "Keine Meldungen in diesem Zeitraum." in pdf_text(out)


def test_pdf_spells_a_polish_name_with_the_unicode_font(tmp_path: Path) -> None:
    """With DejaVu Sans a name outside Latin-1 appears exactly as recorded."""
    if find_fonts() is None:
        pytest.skip("no DejaVu Sans here (set SUBSTREG_PDF_FONT to test the Unicode font)")
    out = tmp_path / "export.pdf"
    rows = [row("led-1", report("ŁUŻÓM123", by=doctor("Łukasz", "Żółć")))]
    write_export(rows, out, fmt="pdf", since=SINCE, until=UNTIL)
    text = pdf_text(out)
    assert "Łukasz Żółć" in text
    assert "01.03.2025 – 31.03.2025" in text


@pytest.mark.usefixtures("no_unicode_font")
def test_pdf_without_a_unicode_font_falls_back_to_latin1(tmp_path: Path) -> None:
    """Without a Unicode font the core font is used and Ł, ż, ć, – become ASCII."""
    out = tmp_path / "export.pdf"
    rows = [row("led-1", report("HAMÜF284", by=doctor("Łukasz", "Żółć")))]
    write_export(rows, out, fmt="pdf", since=SINCE, until=UNTIL)
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    assert "Lukasz Zólc" in text
    assert "HAMÜF284" in text
    assert "01.03.2025 - 31.03.2025" in text


def test_pdf_with_a_damaged_font_file_falls_back_to_latin1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SUBSTREG_PDF_FONT that is no font does not stop the export."""
    bogus = tmp_path / "fonts" / "Broken.ttf"
    bogus.parent.mkdir()
    bogus.write_bytes(b"not a font")
    monkeypatch.setenv(FONT_ENV, str(bogus))
    out = tmp_path / "export.pdf"
    rows = [row("led-1", report("HAMÜF284", by=doctor("Łukasz", "Żółć")))]
    write_export(rows, out, fmt="pdf", since=SINCE, until=UNTIL)
    assert "Lukasz Zólc" in pdf_text(out)


def test_find_fonts_prefers_the_configured_font_and_its_bold_sibling(tmp_path: Path) -> None:
    """SUBSTREG_PDF_FONT wins; a `-Bold` file beside it is the bold face."""
    regular, bold = tmp_path / "Custom.ttf", tmp_path / "Custom-Bold.ttf"
    regular.write_bytes(b"")
    bold.write_bytes(b"")
    assert find_fonts({FONT_ENV: str(regular)}) == FontFiles(regular, bold)


def test_find_fonts_takes_a_configured_font_without_bold(tmp_path: Path) -> None:
    """Bold is optional: without a sibling the regular face is all there is."""
    regular = tmp_path / "Custom.ttf"
    regular.write_bytes(b"")
    assert find_fonts({FONT_ENV: str(regular)}) == FontFiles(regular, None)


def test_find_fonts_ignores_a_configured_font_that_is_missing(tmp_path: Path) -> None:
    """A SUBSTREG_PDF_FONT naming no file falls back to the system font (or none)."""
    found = find_fonts({FONT_ENV: str(tmp_path / "missing.ttf")})
    assert found is None or found.regular == export_pdf.SYSTEM_FONT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HAMÜF284 Straße", "HAMÜF284 Straße"),
        ("Łukasz Żółć", "Lukasz Zólc"),
        ("01.03.2025 – 31.03.2025", "01.03.2025 - 31.03.2025"),
        ("„Zitat“ …", '"Zitat" ...'),
        ("Ğ", "G"),
        ("漢", "?"),
    ],
    ids=["latin1-unchanged", "polish", "en-dash", "quotes", "nfkd", "unknown"],
)
def test_to_latin1_replaces_only_what_latin1_lacks(text: str, expected: str) -> None:
    """Latin-1 stays; other letters lose their marks; what has no ASCII form is "?"."""
    assert to_latin1(text) == expected


def test_unknown_format_raises_a_value_error_and_writes_nothing(tmp_path: Path) -> None:
    """A format other than csv or pdf is refused before anything is written."""
    out = tmp_path / "export.xlsx"
    with pytest.raises(ValueError, match=r"format 'xlsx' is unknown; use one of csv, pdf\."):
        write_export(sample_rows(), out, fmt="xlsx", since=SINCE, until=UNTIL)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["csv", "pdf"], ids=["csv", "pdf"])
def test_missing_directory_is_a_setup_error_naming_the_path(tmp_path: Path, fmt: str) -> None:
    """Writing into a directory that does not exist fails with one line naming the file."""
    out = tmp_path / "nowhere" / f"export.{fmt}"
    with pytest.raises(SetupError) as caught:
        write_export(sample_rows(), out, fmt=fmt, since=SINCE, until=UNTIL)
    message = str(caught.value)
    assert str(out) in message
    assert "\n" not in message


def test_a_directory_in_the_way_is_a_setup_error_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    """When the final rename fails the temporary file is removed again."""
    out = tmp_path / "export.csv"
    out.mkdir()
    with pytest.raises(SetupError, match="Cannot write the export"):
        write_export(sample_rows(), out, fmt="csv", since=SINCE, until=UNTIL)
    assert list(tmp_path.iterdir()) == [out]
    assert list(out.iterdir()) == []
