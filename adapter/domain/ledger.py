"""The life of a report in the ledger: its states and the moves between them (R-CH-2).

    pending ──approve──▶ approved ──queue──▶ queued ──send──▶ sent ──▶ acknowledged
       │                    │                                  │
       └──reject──▶ rejected ◀──reject──┘                       └──▶ rejected (by the register)

A person approves or rejects; the submission stage queues and sends; the register
acknowledges or rejects. A rejected report is final: its slot stays decided, so a
later sync never makes it again.
"""

from __future__ import annotations

from typing import Final, Literal

State = Literal["pending", "approved", "queued", "sent", "acknowledged", "rejected"]
STATES: Final[tuple[State, ...]] = (
    "pending",
    "approved",
    "queued",
    "sent",
    "acknowledged",
    "rejected",
)
TRANSITIONS: Final[dict[State, tuple[State, ...]]] = {
    "pending": ("approved", "rejected"),
    "approved": ("queued", "rejected"),
    "queued": ("sent",),
    "sent": ("acknowledged", "rejected"),
    "acknowledged": (),
    "rejected": (),
}


def transition_problem(current: str, new: str) -> str | None:
    """Why a report in state `current` cannot move to `new`, or None when it can."""
    if current not in TRANSITIONS:
        return f"its state '{current}' is unknown"
    allowed = TRANSITIONS[current]
    if new in allowed:
        return None
    if not allowed:
        return f"it is {current}, which is final"
    return f"it is {current}; from there it can only become {' or '.join(allowed)}"
