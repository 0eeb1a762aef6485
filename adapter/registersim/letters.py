"""The register's letters on a duplicate (004 §10), as the simulator writes them (D-172).

The register writes to every doctor involved: the patient code, and the other doctor's
contact data and date of first use. Unlike the receipt's notice, a letter holds the code
in clear, as the register's letter does: the simulator writes letters only when started
with `--letters DIR` (files of mode 0600 in a folder of mode 0700, one folder per BtM
number), never into its state folder, its log or its HTTP answers. Each letter is a
`substreg-duplicate-notice/1` file that `substreg duplicate import` reads.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from adapter.domain.duplicate_notice import (
    MAX_TEXT,
    DuplicateNotice,
    OtherDoctor,
    notice_json,
)

if TYPE_CHECKING:
    from adapter.registersim.intake import Holdings, Registration, Taken

__all__ = ["NO_NAME", "duplicate_letters", "write_letters"]

# A doctor whose reports gave no name: the letter gives the BtM number in its own field,
# so the name field says so rather than repeating the number (D-251).
NO_NAME = "Name nicht hinterlegt"

_log = logging.getLogger("substreg.registersim")


def duplicate_letters(
    other: Registration, taken: Taken, holdings: Holdings, today: date
) -> list[DuplicateNotice]:
    """The two letters on `taken` (an Anmeldung) meeting `other`'s open registration."""
    code = taken.report.patient_code
    if code is None:
        return []
    second = taken.report.doctor.btm_number or ""
    first = other.doctor_btm_number
    reference = f"SIM-{taken.report.id}-{other.id}"
    to_first = _other(holdings.doctor_contact(second), second, taken.report.date)
    to_second = _other(holdings.doctor_contact(first), first, other.first_use)
    return [
        DuplicateNotice(reference, today, first, code, (to_first,)),
        DuplicateNotice(reference, today, second, code, (to_second,)),
    ]


def _other(contact: str | None, btm: str, first_use: date) -> OtherDoctor:
    """The other doctor from a stored contact line (`office._contact`: the name first)."""
    name, _, rest = (contact or "").partition(", ")
    return OtherDoctor(
        name=(name or NO_NAME)[:MAX_TEXT],
        btm_number=btm,
        contact=(rest or "keine Kontaktdaten")[:MAX_TEXT],
        first_use=first_use,
    )


def write_letters(folder: Path, letters: list[DuplicateNotice]) -> None:
    """Each letter to `folder/<BtM number>/<reference>.json` (0600; folders 0700)."""
    for letter in letters:
        box = folder / letter.doctor_btm_number
        box.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = box / f"{letter.reference}.json"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(notice_json(letter))
    if letters:
        _log.info("wrote %d duplicate letter(s)", len(letters))
