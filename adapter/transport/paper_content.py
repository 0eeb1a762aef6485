"""What the paper form says (R-CH-1): every field of the register's official form, with
its German label, for the reports of one batch (D-110). No PDF here: the layout is in
`paper_form.py`.

The official form (004 §2.1.2, §4, §6, §7, §9) has a block "Angaben zum substituierenden
Arzt" (BtM-Nummer, Name, Vorname, Geburtsdatum, dienstliche Anschrift, Telefon), one line
per patient for an Anmeldung (Patientencode, Datum der ersten Anwendung, Substitutions-
mittel, Angaben zum Konsiliararzt) or an Abmeldung (Patientencode, Datum der letzten
Anwendung), "Sonstige Anmerkungen des Arztes", and Ort, Datum, Arztstempel, Unterschrift.
A self-made form may be used if it holds every one of these fields.

One form holds one doctor block, so a batch whose reports carry different data of their
doctor (a new phone number from a day on, D-3) is printed as one form per version of the
data, each with its own block and signature, in the order the versions first appear.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Final

from adapter.domain.batch import Batch
from adapter.domain.bulk import blanket_statement
from adapter.domain.bulk_deceased import statement_of
from adapter.domain.model import Address, RegisterDoctor, Report, ReportKind

TITLE: Final = "Meldung an das Substitutionsregister"
DOCTOR_HEADING: Final = "Angaben zum substituierenden Arzt"
KIND_NAMES: Final[dict[ReportKind, str]] = {
    "anmeldung": "Anmeldung",
    "abmeldung": "Abmeldung",
    "mitteilung": "Mitteilung",
    "inventur": "Inventur-Meldung",
    "pauschalabmeldung": "Pauschalabmeldung",
}
# The columns of the table of reports: one line per report, in the batch's order.
COLUMNS: Final = (
    "Nr.",
    "Art der Meldung",
    "Patientencode",
    "Datum der ersten Anwendung eines Substitutionsmittels",
    "Datum der letzten Anwendung eines Substitutionsmittels",
    "Substitutionsmittel",
    "Angaben zum Konsiliararzt (Name, Vorname, BtM-Nummer, dienstliche Anschrift, Telefon)",
    "Sonstige Anmerkungen des Arztes",
    "Meldung vom",
    "Meldungs-ID (Praxis)",
)
NO_CONSULTANT: Final = "entfällt"
_FULL_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class Field:
    """One labelled field; an empty value is a blank field, to be written in by hand."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Form:
    """One form: a doctor block and the reports made with exactly these doctor data."""

    batch_id: str
    part: int  # this form is `part` of `parts` in the batch's PDF
    parts: int
    doctor_name: str  # "Name, Vorname" for the heading of every further page
    btm_number: str
    doctor: tuple[Field, ...]
    summary: str
    rows: tuple[tuple[str, ...], ...]  # the cells of each report, as COLUMNS
    place: str
    printed_on: date


def forms_of(batch: Batch, *, place: str, printed_on: date) -> tuple[Form, ...]:
    """The forms of `batch`: one per version of the doctor's data (usually one)."""
    versions: dict[RegisterDoctor, list[tuple[int, Report]]] = {}
    for number, report in enumerate(batch.reports, 1):
        versions.setdefault(report.doctor, []).append((number, report))
    return tuple(
        Form(
            batch_id=batch.batch_id,
            part=part,
            parts=len(versions),
            doctor_name=", ".join(n for n in (doctor.family_name, doctor.given_name) if n),
            btm_number=batch.sender_btm_number,
            doctor=(Field("BtM-Nummer", batch.sender_btm_number), *_person(doctor)),
            summary=_summary([report for _, report in numbered], len(batch.reports)),
            rows=tuple(_row(number, report) for number, report in numbered),
            place=place,
            printed_on=printed_on,
        )
        for part, (doctor, numbered) in enumerate(versions.items(), 1)
    )


def german_date(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _row(number: int, report: Report) -> tuple[str, ...]:
    day = german_date(report.date)
    first = day if report.kind in ("anmeldung", "inventur") else ""
    last = day if report.kind in ("abmeldung", "pauschalabmeldung") else ""
    return (
        str(number),
        _kind(report),
        report.patient_code or "",
        first,
        last,
        report.substance or "",
        _consultant(report),
        "\n".join(_remarks(report)),
        german_date(report.made_on),
        report.id,
    )


def _kind(report: Report) -> str:
    if report.kind == "inventur":
        return f"Inventur-Meldung zum Stichtag {german_date(report.made_on)}"
    if report.kind == "mitteilung":  # R-NOTE: the change it tells of, from its day
        return f"Mitteilung vom {german_date(report.date)}"
    return KIND_NAMES[report.kind]


def _remarks(report: Report) -> list[str]:
    if report.kind == "pauschalabmeldung":  # R-PAU-1: the signed statement, once
        statement = statement_of(report, blanket_statement(report.date))  # D-197
        return [statement, *(r for r in report.remarks if r != statement)]
    return list(report.remarks)


def _consultant(report: Report) -> str:
    consultant = report.consultant
    if consultant is None:
        return NO_CONSULTANT if report.kind in ("anmeldung", "inventur") else ""
    name = ", ".join(n for n in (consultant.family_name, consultant.given_name) if n)
    lines = [
        name,
        f"BtM-Nr. {consultant.btm_number or 'nicht bekannt'}",
        # The official form asks for no consulting doctor's birth date: shown when known.
        *([f"geb. {_birth_date(consultant.birth_date)}"] if consultant.birth_date else []),
        _address(consultant.address),
        f"Tel. {consultant.phone}" if consultant.phone else "",
    ]
    return "\n".join(line for line in lines if line)


def _person(doctor: RegisterDoctor) -> list[Field]:
    return [
        Field("Name", doctor.family_name or ""),
        Field("Vorname", doctor.given_name or ""),
        Field("Geburtsdatum", _birth_date(doctor.birth_date)),
        Field("Dienstliche Anschrift", _address(doctor.address)),
        Field("Telefon", doctor.phone or ""),
    ]


def _address(address: Address | None) -> str:
    if address is None:
        return ""
    town = " ".join(part for part in (address.postal_code, address.city) if part)
    return ", ".join(part for part in (*address.line, town) if part)


def _birth_date(value: str | None) -> str:
    """A FHIR date, possibly partial, as a German date (1974-09-30 → 30.09.1974)."""
    if value is None:
        return ""
    if full := _FULL_DATE.fullmatch(value):
        return f"{full[3]}.{full[2]}.{full[1]}"
    if month := _MONTH.fullmatch(value):
        return f"{month[2]}.{month[1]}"
    return value


def _summary(reports: list[Report], total: int) -> str:
    counts = Counter(report.kind for report in reports)
    parts = [
        f"{counts[kind]} {name if counts[kind] == 1 else name + 'en'}"
        for kind, name in KIND_NAMES.items()
        if counts[kind]
    ]
    these = "eine Meldung" if len(reports) == 1 else f"{len(reports)} Meldungen"
    of_all = "" if len(reports) == total else f" der {total} Meldungen dieser Sendung"
    return f"Dieses Formular enthält {these}{of_all}: {', '.join(parts)}."
