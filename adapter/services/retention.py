"""Crypto-shredding after the retention period (`substreg retention apply`).

The records of a treatment are kept for ten years after it ended (§ 630f (3) BGB, the
longest duty that applies to the practice's copy of its reports, R-CH-2; D-21). After
that, the data key of the patient's mapping row is destroyed: the code, the EHR
reference, the stored facts and the payloads of the patient's reports become
unreadable at once, in every backup too, while the ledger keeps its clear columns
(kind, dates, state) as the record that reports were made. A patient whose
registration the register still holds open is never shredded (R-EP-5, PRIVACY.md G2).
The cutoff is kept (`retention_mark`): an export that still holds the shredded patients'
old events does not make them new patients with new reports at the next sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapter.domain.register_view import RegisterView, register_order
from adapter.store.audit import Actor
from adapter.store.facts import Facts
from adapter.store.ledger import Entry
from adapter.store.workspace import Store, Workspace

DEFAULT_YEARS = 10


class RetentionError(ValueError):
    """A retention period that cannot be meant (less than a year)."""


@dataclass(frozen=True, slots=True)
class RetentionResult:
    cutoff: date
    shredded: tuple[str, ...]  # mapping ids
    kept_open: tuple[str, ...]  # closed in the data, but open at the register
    dry_run: bool


def apply_retention(
    store: Store, actor: Actor, *, as_of: date, years: int = DEFAULT_YEARS, dry_run: bool = False
) -> RetentionResult:
    if years < 1:
        msg = f"--years {years}: the retention period is at least one year"
        raise RetentionError(msg)
    cutoff = _years_before(as_of, years)

    def shred(space: Workspace) -> RetentionResult:
        shredded, kept = [], []
        for mapping in space.mappings.closed_before(cutoff):
            if _open_at_register(space, mapping.mapping_id):
                kept.append(mapping.mapping_id)
                continue
            shredded.append(mapping.mapping_id)
            if not dry_run:
                space.mappings.shred(mapping)
                space.audit.append(
                    actor,
                    "retention.shred",
                    mapping_id=mapping.mapping_id,
                    details={"cutoff": cutoff.isoformat()},
                )
        if not dry_run:
            # An export that sends those old events again must not report them anew.
            Facts(space.connection, space.keys, space.now).mark_retention(cutoff)
        space.audit.append(
            actor,
            "retention.apply",
            details={
                "cutoff": cutoff.isoformat(),
                "shredded": len(shredded),
                "kept_open": len(kept),
                "dry_run": dry_run,
            },
        )
        return RetentionResult(cutoff, tuple(shredded), tuple(kept), dry_run)

    return store.run(actor, shred)


def _open_at_register(space: Workspace, mapping_id: str) -> bool:
    """Whether the register still holds a registration of this patient with any doctor."""
    by_doctor: dict[str, list[Entry]] = {}
    for entry in space.ledger.entries(mapping_ids=[mapping_id]):
        if entry.state != "rejected" and entry.origin != "waived":
            by_doctor.setdefault(entry.doctor_btm, []).append(entry)
    for entries in by_doctor.values():
        entries.sort(key=lambda e: register_order(e.kind, e.report_date))
        view = RegisterView((e.kind, e.report_date, None, None) for e in entries)
        if view.open_since is not None:
            return True
    return False


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
