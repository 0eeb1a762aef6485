"""Which medication events count for the register: the substitution tie (R-SUB-5)."""

from __future__ import annotations

from adapter.domain.model import DIAMORPHIN


def tied_to_substitution(
    *, marked: bool, analgesic: bool, in_episode: bool, dependence: bool, substance: str
) -> bool:
    """Whether an event of one of the seven substances is a substitution event (INPUT.md
    "Which medication events count"): its prescription is marked S or ST; else, unless the
    code is one for pain or cough (D-7: patches count only with a marker), it belongs to a
    substitution EpisodeOfCare, or has an ICD-10-GM F11.2 reason, or the substance is
    Diamorphin (it has no other legal use). Using these substances for pain or cough is not
    reported (004 §13.6)."""
    if marked:
        return True
    if analgesic:
        return False
    return in_episode or dependence or substance == DIAMORPHIN
