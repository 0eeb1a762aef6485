"""The BtM number of a doctor (R-DOC-1)."""

from __future__ import annotations

import re

_BTM = re.compile(r"[0-9]{7}")


def is_btm_number(value: object) -> bool:
    """A BtM number as the register takes it: exactly 7 ASCII digits 0-9, as written; one
    that is not is never repaired, since a repaired number could be another doctor's (D-18)."""
    return isinstance(value, str) and _BTM.fullmatch(value) is not None
