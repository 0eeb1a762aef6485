"""Re-identification for the register's duplicate notices (004 §10, PRIVACY.md T3).

The register writes that a code is registered twice; the practice must find which of
its patients that is. Codes are sealed per row, so every readable row is opened and
compared: slow on purpose, never an index of codes. A lookup needs a purpose, is
rate-limited per person, and is audited (the purpose, the ticket, and the mapping ids
found, never the code); if any row cannot be decrypted, nothing is returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from adapter.errors import LookupRefused
from adapter.store.audit import Actor
from adapter.store.ledger import Entry
from adapter.store.workspace import Store, Workspace

MIN_PURPOSE = 10  # characters: "duplicate" alone says too little
MAX_PER_HOUR = 10
LOOKUP = "lookup"  # counted against MAX_PER_HOUR
REPEATED = "lookup.repeat"  # a kept letter's code again: audited, not counted (D-254)
_CODE = re.compile(r"[A-ZÄÖÜß]{4}[FM][0-9]{3}")


MAX_PURPOSE = 500
MAX_TICKET = 64


def check_purpose(purpose: str, ticket: str | None) -> None:
    """A purpose and ticket the audit log can hold (one line each, bounded)."""
    if len(purpose) > MAX_PURPOSE or "\n" in purpose:
        msg = f"--purpose must be one line of at most {MAX_PURPOSE} characters"
        raise LookupRefused(msg)
    if ticket is not None and (len(ticket) > MAX_TICKET or not ticket.strip()):
        msg = f"--ticket must be at most {MAX_TICKET} characters"
        raise LookupRefused(msg)


@dataclass(frozen=True, slots=True)
class Match:
    mapping_id: str
    reference: str  # fhir-patient|<EHR base>|<Patient.id>
    status: str
    first_use: date | None
    last_use: date | None
    reports: tuple[Entry, ...]


def lookup(store: Store, actor: Actor, code: str, purpose: str, ticket: str | None) -> list[Match]:
    code = normal_code(code)
    require_purpose(purpose, ticket)
    found = store.run(actor, lambda space: reidentify(space, actor, code, purpose, ticket))
    if isinstance(found, str):
        raise LookupRefused(found)
    return found


def require_purpose(purpose: str, ticket: str | None) -> None:
    """A re-identification says why (PRIVACY.md T3): a purpose the audit log can hold."""
    check_purpose(purpose, ticket)
    if len(purpose.strip()) < MIN_PURPOSE:
        msg = (
            "a lookup needs --purpose: why this person must be found, e.g. the register's "
            f"duplicate notice and its date (at least {MIN_PURPOSE} characters)"
        )
        raise LookupRefused(msg)


def normal_code(code: str) -> str:
    """Upper case, but "ß" stays "ß" (R-CODE-5): str.upper() would make it "SS"."""
    code = "".join(ch if ch == "ß" else ch.upper() for ch in code.strip())
    if not _CODE.fullmatch(code):
        # Never echoed: a mistyped code is still a code (PRIVACY.md T2, logs).
        msg = "the given --code is not a patient code (four letters, F or M, three digits)"
        raise LookupRefused(msg)
    return code


def reidentify(
    space: Workspace,
    actor: Actor,
    code: str,
    purpose: str,
    ticket: str | None,
    *,
    counted: bool = True,
) -> list[Match] | str:
    """The local patients of `code` (normal, `require_purpose` checked) in this unit of
    work, audited; a refusal (rate) as its sentence, audited too, for the caller to raise
    once the unit of work is kept. `counted=False`: the same code looked up again for a
    letter kept already, audited as `lookup.repeat`, which the hourly limit does not count
    (D-254)."""
    recent = space.audit.count(LOOKUP, actor, space.now - timedelta(hours=1))
    if counted and recent >= MAX_PER_HOUR:
        space.audit.append(
            actor, "lookup.refused", purpose=purpose, ticket=ticket, details={"reason": "rate"}
        )
        return f"{actor.name} made {recent} lookups in the last hour; try again later"
    matches = _matches(space, code)
    action = LOOKUP if counted else REPEATED
    space.audit.append(
        actor, action, purpose=purpose, ticket=ticket, details={"matches": len(matches)}
    )
    for match in matches:
        space.audit.append(
            actor, "lookup.match", mapping_id=match.mapping_id, purpose=purpose, ticket=ticket
        )
    return matches


def _matches(space: Workspace, code: str) -> list[Match]:
    """Open every readable row; a decryption failure aborts all (fail closed)."""
    rows = space.mappings.readable()
    space.keys.preload([row.dek_id for row in rows])
    matches = []
    for row in rows:
        if code in space.mappings.codes_of(row):
            reports = tuple(space.ledger.entries(mapping_ids=[row.mapping_id]))
            matches.append(
                Match(
                    row.mapping_id,
                    space.mappings.reference_of(row),
                    row.status,
                    row.first_use,
                    row.last_use,
                    reports,
                )
            )
    return matches
