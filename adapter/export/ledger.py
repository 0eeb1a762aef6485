"""The ledger export of a period (R-CH-2): a CSV for Excel, or a PDF to print and file.

Both show every report exactly as recorded (the patient code spelled as sent, Ä, Ö, Ü
and ß unchanged), so both hold patient codes in clear: they are written atomically
(a temporary file in the same directory, then `os.replace`) with mode 0600. A report
whose patient's data key was shredded after the retention period keeps its clear
columns; its payload columns say so.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from adapter.errors import SetupError
from adapter.settings.files import write_private

if TYPE_CHECKING:
    from adapter.domain.model import RegisterDoctor, Report
    from adapter.store.ledger_entry import Entry
    from adapter.store.outbox import Proof


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One ledger row as the export writes it."""

    entry: Entry
    report: Report | None
    problem: str | None = None  # the row fails its integrity check: flagged in the export
    damaged: bool = False  # its payload cannot be decrypted (issue 9.6)
    proof: Proof | None = None  # the batch that took it to the register (R-CH-2)


FORMATS: Final = ("csv", "pdf")
# The proof of sending (R-CH-2): the batch, its route, when the transport saw it through
# (the attempt answered, the file written, the form printed: D-185), the register's receipt.
PROOF_HEADERS: Final = ("Batch-ID", "Übertragung", "Zugestellt am", "Quittung vom", "Quittung")
HEADERS: Final = (
    "Ledger-ID",
    "Status",
    "Art",
    "Erstellt am",
    "Datum",
    "Patientencode",
    "Substanz",
    "Arzt BtM-Nr.",
    "Arzt Name",
    "Konsiliararzt BtM-Nr.",
    "Bemerkungen",
    "Regel",
    "Herkunft",
    "Ersetzt",
    "Prüfsumme",
    *PROOF_HEADERS,
)
KINDS: Final = {
    "anmeldung": "Anmeldung",
    "abmeldung": "Abmeldung",
    "mitteilung": "Mitteilung",
    "inventur": "Inventur-Meldung",
    "pauschalabmeldung": "Pauschalabmeldung",
}
SHREDDED: Final = "gelöscht (Aufbewahrungsfrist abgelaufen)"
DAMAGED: Final = "nicht lesbar (beschädigt: substreg inspect ledger)"
# A row that fails its integrity check (D-44) is exported as stored, and marked.
CHANGED: Final = "– VERÄNDERT (Prüfung fehlgeschlagen: substreg audit verify)"
REMARK_SEPARATOR: Final = " | "
# What the receipt said of a report (R-CH-2); a batch without receipt (folder, paper) says
# so by its transport and the day it was sent.
RESULTS: Final = {"accepted": "angenommen", "rejected": "abgelehnt", "missing": "ohne Ergebnis"}
_BERLIN: Final = ZoneInfo("Europe/Berlin")


def write_export(rows: list[ExportRow], out: Path, *, fmt: str, since: date, until: date) -> None:
    """Write the reports of a period to `out` as "csv" or "pdf" (mode 0600, atomically)."""
    table = [export_cells(row) for row in rows]
    if fmt == "csv":
        data = csv_bytes(table)
    elif fmt == "pdf":
        # fpdf2 takes longer to import than most commands take to run: loaded for a PDF only.
        from adapter.export.ledger_pdf import (  # noqa: PLC0415
            PDF_COLUMNS,
            PDF_PROOF_COLUMNS,
            pdf_bytes,
        )

        picked = [HEADERS.index(heading) for heading in PDF_COLUMNS]
        proven = [HEADERS.index(heading) for heading in PDF_PROOF_COLUMNS]
        data = pdf_bytes(
            [[cells[i] for i in picked] for cells in table],
            since=since,
            until=until,
            created=_now(),
            proofs=[
                [cells[i] for i in proven]
                for cells, row in zip(table, rows, strict=True)
                if row.proof
            ],
        )
    else:
        msg = f"The export format {fmt!r} is unknown; use one of {', '.join(FORMATS)}."
        raise ValueError(msg)
    _write_private(out, data)


def export_cells(row: ExportRow) -> tuple[str, ...]:
    """One report as the export's cells, in the order of HEADERS."""
    entry = row.entry
    code, substance, doctor_name, consultant_btm, remarks = (
        (DAMAGED, "", "", "", "") if row.damaged else _payload_cells(row.report)
    )
    return (
        entry.ledger_id,
        entry.state if row.problem is None else f"{entry.state} {CHANGED}",
        KINDS.get(entry.kind, entry.kind),
        _day(entry.made_on),
        _day(entry.report_date),
        code,
        substance,
        entry.doctor_btm,
        doctor_name,
        consultant_btm,
        remarks,
        entry.rule,
        entry.origin,
        "ja" if entry.superseded else "nein",
        entry.payload_digest.hex(),
        *proof_cells(row.proof),
    )


def proof_cells(proof: Proof | None) -> tuple[str, str, str, str, str]:
    """The proof of one report (R-CH-2): batch, transport, when sent, the receipt."""
    if proof is None:
        return "", "", "", "", ""
    transport = proof.transport + (f" ({proof.proof})" if proof.proof else "")
    result = RESULTS.get(proof.result or "", "")
    if not result and proof.state in ("rejected", "failed"):
        result = "Batch abgelehnt" if proof.state == "rejected" else "Zustellung fehlgeschlagen"
    return (
        proof.batch_id,
        transport,
        _moment(proof.sent_at),
        _moment(proof.received_at),
        result,
    )


def _moment(moment: datetime | None) -> str:
    return moment.astimezone(_BERLIN).strftime("%d.%m.%Y %H:%M") if moment is not None else ""


def csv_bytes(table: list[tuple[str, ...]]) -> bytes:
    """UTF-8 with a BOM and semicolons: what German Excel opens as a table."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(HEADERS)
    writer.writerows(table)
    return buffer.getvalue().encode("utf-8-sig")


def _payload_cells(report: Report | None) -> tuple[str, str, str, str, str]:
    if report is None:
        return SHREDDED, "", "", "", ""
    consultant = report.consultant.btm_number if report.consultant else None
    return (
        report.patient_code or "",
        report.substance or "",
        _name(report.doctor),
        consultant or "",
        REMARK_SEPARATOR.join(report.remarks),
    )


def _name(doctor: RegisterDoctor) -> str:
    return " ".join(part for part in (doctor.given_name, doctor.family_name) if part)


def _day(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _now() -> datetime:
    return datetime.now(_BERLIN)


def _write_private(out: Path, data: bytes) -> None:
    try:
        write_private(out, data)
    except OSError as exc:
        raise _cannot_write(out, exc) from None


def _cannot_write(out: Path, exc: OSError) -> SetupError:
    reason = exc.strerror or type(exc).__name__
    msg = (
        f"Cannot write the export {out} ({reason}); "
        "choose a writable file in an existing directory."
    )
    return SetupError(msg)
