"""The life of a report in the ledger: its states and the moves between them (R-CH-2).

    pending ──approve──▶ approved ──queue──▶ queued ──send──▶ sent ──▶ acknowledged
       │                    │                                  │
       └──reject──▶ rejected ◀──reject──┘                       └──▶ rejected (by the register)

A person approves or rejects; the submission stage queues and sends; the register
acknowledges or rejects. A rejected report is final: its slot stays decided, so a
later sync never makes it again. Only a report the program itself took back before it
was sent — withdrawn by sync because the data no longer called for it (D-28), or by
`runs undo` (D-49) — is no decision: it stays in the ledger as the record (rejected, with
its note) but gives up its slot (`freed_slot`), so that the report is made again when the
data calls for it again (D-80).
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


# Who freed a slot: sync, `runs undo`, or a new blanket deregistration of the same doctor
# and day made after a rejected one (D-248).
FREED: Final[tuple[str, ...]] = ("withdrawn", "undone", "replaced")


def freed_slot(by: str, run_id: str, ledger_id: str) -> str:
    """The slot a report gives up when the program takes it back (D-80): unique, and never
    one that a report the data calls for can have (`kind|subject|doctor|day`)."""
    if by not in FREED:
        msg = f"a slot is freed by {' or '.join(FREED)}, not {by!r}"
        raise ValueError(msg)
    return f"{by}|{run_id}|{ledger_id}"


def is_freed(slot: str) -> bool:
    """Whether the slot was given up by a report the program took back (D-80)."""
    return slot.split("|", 1)[0] in FREED


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
