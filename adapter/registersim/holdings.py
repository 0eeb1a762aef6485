"""What the register holds for one batch, in memory: read in two queries before the batch
is taken, written back in a few statements after (`state.Books.load` / `Books.apply`).

`BatchHoldings` is the `intake.Holdings` the intake works on. It knows the reports of the
batch the register received before and every open registration of the batch's codes
(cryptograms); all of a doctor's open registrations only when a Pauschalabmeldung asks,
through `load_doctor`. What the intake changes is kept as `Changes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from adapter.registersim.intake import KnownReport, Registration, Taken

__all__ = ["BatchHoldings", "Changes", "Closing", "OpenRow", "Opening"]


@dataclass(frozen=True, slots=True)
class OpenRow:
    """An open registration as stored: its id, doctor, code's cryptogram and first use."""

    id: int
    doctor_btm_number: str
    cryptogram: str
    first_use: date


@dataclass(slots=True)
class Opening:
    """A registration opened by this batch (perhaps closed by it too)."""

    taken: Taken
    first_use: date
    closed_on: date | None = None
    closed_by: str | None = None


@dataclass(frozen=True, slots=True)
class Closing:
    registration_id: int
    closed_on: date
    report_id: str


@dataclass(slots=True)
class Changes:
    openings: list[Opening] = field(default_factory=list)
    closings: list[Closing] = field(default_factory=list)
    duplicates: list[tuple[str, str, str, str]] = field(default_factory=list)  # code, 1st, 2nd, id


class BatchHoldings:
    """`intake.Holdings` over what was loaded for one batch."""

    def __init__(
        self,
        known: dict[str, KnownReport],
        open_rows: list[OpenRow],
        contacts: dict[str, str],
        load_doctor: Callable[[str], list[OpenRow]],
    ) -> None:
        self._known = known
        self._open: dict[int, OpenRow] = {}
        self._by_code: dict[str, list[int]] = {}  # stored and new registrations, in order
        self._contacts = contacts
        self._load_doctor = load_doctor
        self._new: dict[int, Opening] = {}  # negative ids: not yet stored
        self._closed: set[int] = set()
        self.changes = Changes()
        for row in open_rows:
            self._add(row)

    def _add(self, row: OpenRow) -> None:
        if row.id not in self._open and row.id not in self._closed:
            self._open[row.id] = row
            self._by_code.setdefault(row.cryptogram, []).append(row.id)

    def known_report(self, report_id: str) -> KnownReport | None:
        return self._known.get(report_id)

    def open_registrations(self, cryptogram: str) -> list[Registration]:
        found = []
        for number in self._by_code.get(cryptogram, ()):
            if number < 0:
                opening = self._new[number]
                if opening.closed_on is None:
                    doctor = opening.taken.report.doctor.btm_number or ""
                    found.append(Registration(number, doctor, opening.first_use))
            elif number in self._open:
                row = self._open[number]
                found.append(Registration(number, row.doctor_btm_number, row.first_use))
        return found

    def open_of_doctor(self, btm_number: str) -> list[Registration]:
        for row in self._load_doctor(btm_number):
            self._add(row)
        stored = [
            Registration(row.id, row.doctor_btm_number, row.first_use)
            for row in self._open.values()
            if row.doctor_btm_number == btm_number
        ]
        made = [
            Registration(n, btm_number, o.first_use)
            for n, o in self._new.items()
            if o.closed_on is None and o.taken.report.doctor.btm_number == btm_number
        ]
        return stored + made

    def register(self, taken: Taken, first_use: date) -> None:
        opening = Opening(taken, first_use)
        number = -1 - len(self._new)
        self._new[number] = opening
        self._by_code.setdefault(taken.cryptogram or "", []).append(number)
        self.changes.openings.append(opening)

    def deregister(self, registration: Registration, closed_on: date, report_id: str) -> None:
        if registration.id < 0:
            opening = self._new[registration.id]
            opening.closed_on, opening.closed_by = closed_on, report_id
            return
        del self._open[registration.id]
        self._closed.add(registration.id)
        self.changes.closings.append(Closing(registration.id, closed_on, report_id))

    def note_duplicate(self, cryptogram: str, first: str, second: str, report_id: str) -> None:
        self.changes.duplicates.append((cryptogram, first, second, report_id))

    def doctor_contact(self, btm_number: str) -> str | None:
        return self._contacts.get(btm_number)
