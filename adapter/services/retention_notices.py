"""Retention of the register's duplicate notices kept since D-233 (`retention apply`, D-240).

A notice is correspondence about one registration of one patient: part of the record of
that treatment, so it is kept as long as the treatment's records are (ten years by default,
the longest duty that applies, D-21; the three years of the BtMVV's documentation duties
are a minimum, not a limit) and by the same cutoff. It goes when its own letter day lies
before the cutoff, or when the patient whose registration it concerns is shredded: the
notice seals that patient's code under a key of its own, and the code must not outlive the
patient's data key. Destroyed like a handover's record (D-194): its data key, then its row.

Which patient a notice concerns: an answered one names its answer's report, and that
report's mapping row; an open one concerns a patient shredded in this run who has the
notice's code and whose Anmeldung under it the doctor written to made (the registration
`duplicate import` shows). The codes are compared in memory, before the keys go; nothing
of them is shown, logged or audited. A notice of a patient shredded in an earlier run
that was never answered could not be matched then: its own day takes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from adapter.errors import UnknownReportError
from adapter.services.duplicates import registration_of
from adapter.store.audit import Actor
from adapter.store.mappings import MappingRow
from adapter.store.notice_letters import KeptNotice
from adapter.store.workspace import Workspace

LETTER, PATIENT = "letter", "patient"  # why a notice goes: its own day, or its patient's


@dataclass(frozen=True, slots=True)
class OldNotice:
    """A notice retention destroys: our id, the letter's day and why; nothing it states."""

    notice_id: str
    letter_date: date
    why: str  # LETTER: its day lies before the cutoff; PATIENT: its patient is shredded
    mapping_id: str | None = None  # the patient shredded in this run that takes it


def notices_past(
    space: Workspace, cutoff: date, shredding: Sequence[MappingRow]
) -> tuple[OldNotice, ...]:
    """The notices to destroy with this plan (oldest first): those of a letter day before
    the cutoff, and those whose patient this run shreds or an earlier one shredded; by the
    letter's day."""
    kept = space.notice_letters.listed()
    if not kept:
        return ()
    codes = _codes(space, shredding)
    found = []
    for notice in kept:
        if notice.notice.letter_date < cutoff:
            found.append(OldNotice(notice.notice_id, notice.notice.letter_date, LETTER))
            continue
        concerned = _concerned(space, notice, codes)
        if concerned is not None:
            mapping_id = concerned or None  # "": shredded in an earlier run
            found.append(
                OldNotice(notice.notice_id, notice.notice.letter_date, PATIENT, mapping_id)
            )
    return tuple(sorted(found, key=lambda n: (n.letter_date, n.notice_id)))


def taken_with(notices: Sequence[OldNotice], shredded: set[str]) -> list[OldNotice]:
    """Of the notices shown, those that go: one taken by its patient only when that patient
    is shredded in this run too (not confirmed, the notice stays with them)."""
    return [n for n in notices if n.mapping_id is None or n.mapping_id in shredded]


def destroy_notices(
    space: Workspace, actor: Actor, notices: Sequence[OldNotice], cutoff: date
) -> None:
    """Destroy each notice's key and row, audited `retention.notice` by our id, the
    letter's day and why; never the code or the reference."""
    for notice in notices:
        space.notice_letters.destroy(notice.notice_id)
        space.audit.append(
            actor,
            "retention.notice",
            details={
                "notice": notice.notice_id,
                "letter_date": notice.letter_date.isoformat(),
                "why": notice.why,
                "cutoff": cutoff.isoformat(),
            },
        )


def _codes(space: Workspace, shredding: Sequence[MappingRow]) -> dict[str, list[str]]:
    """The codes of the patients this run shreds, by mapping id (a row that cannot be
    opened matches no notice: its notices wait for their own day)."""
    opened = space.mappings.codes_of_many(list(shredding))
    return {m: c for m, c in opened.items() if isinstance(c, list)}


def _concerned(space: Workspace, notice: KeptNotice, codes: dict[str, list[str]]) -> str | None:
    """The mapping id of the shredded patient the notice concerns ("" for one shredded in
    an earlier run), or None when it concerns nobody shredded."""
    if notice.ledger_id is not None:
        try:
            mapping_id = space.ledger.entry(notice.ledger_id).mapping_id
        except UnknownReportError:
            mapping_id = None
        if mapping_id is None:
            return None
        if mapping_id in codes:
            return mapping_id
        return "" if space.mappings.shredded_ends([mapping_id]) else None
    for mapping_id, patient_codes in codes.items():
        if notice.notice.patient_code in patient_codes and registration_of(
            space, mapping_id, notice.notice
        ):
            return mapping_id
    return None
