"""What the commands that look after the store print: retention's plan and result, the
sync runs and an undo's plan, and an inspection. Ids, days and counts: nobody's identity."""

from __future__ import annotations

from adapter.cli.output import table
from adapter.services.inspect import Inspection
from adapter.services.reports import LedgerExport
from adapter.services.retention import RetentionPlan, RetentionResult
from adapter.services.retention_notices import LETTER
from adapter.services.sync_undo import UndoPlan
from adapter.store.runs import Run


def retention_plan_text(plan: RetentionPlan) -> str:
    """What retention destroys: our ids and the treatments' dates, nobody's identity."""
    lines = [
        f"Retention as of {plan.as_of.isoformat()} (today by this machine's clock: "
        f"{plan.today.isoformat()}): treatments that ended before {plan.cutoff.isoformat()}.",
        f"The data keys of {len(plan.shred)} patient(s) are destroyed, for good: their codes, "
        "references, stored records and report payloads (the ledger keeps its clear columns).",
    ]
    lines += [
        f"  mapping {t.mapping_id}  treatment {t.first_use or '?'} – {t.closed_on or '?'}"
        for t in plan.shred
    ]
    if plan.kept_open:
        lines.append(
            f"{len(plan.kept_open)} kept: the register still holds their registration open."
        )
    if plan.handovers:
        lines.append(
            f"The records of {len(plan.handovers)} handover(s) received and ended before "
            f"{plan.cutoff.isoformat()} are destroyed (the registration each stated):"
        )
        lines += [
            f"  handover {h.handover_id}  {h.state} on {h.ended_on.isoformat()}"
            for h in plan.handovers
        ]
    if plan.notices:
        lines.append(
            f"{len(plan.notices)} duplicate notice(s) of the register are destroyed (the "
            f"letter sealed, the code with it): dated before {plan.cutoff.isoformat()}, or "
            "concerning a patient shredded:"
        )
        lines += [
            f"  notice {n.notice_id}  of {n.letter_date.isoformat()}  ({_why(n.why)})"
            for n in plan.notices
        ]
    if plan.clock_in_doubt and plan.last_sync is not None:
        lines.append(
            f"Note: the last sync was as of {plan.last_sync.isoformat()}, "
            f"{(plan.today - plan.last_sync).days} days before this machine's today: check the "
            "clock before you confirm."
        )
    return "\n".join(lines) + "\n"


def retention_text(result: RetentionResult) -> str:
    verb = "would be shredded" if result.dry_run else "shredded"
    lines = [
        f"Patients whose treatment or records ended before {result.cutoff.isoformat()}: "
        f"{len(result.shredded)} {verb} (mapping ids: {', '.join(result.shredded) or '–'})."
    ]
    if result.kept_open:
        lines.append(
            f"{len(result.kept_open)} kept: the register still holds their registration open "
            "(send the Abmeldung first)."
        )
    if result.handovers:
        verb = "would be destroyed" if result.dry_run else "destroyed"
        lines.append(
            f"Handover records {verb}: {len(result.handovers)} ({', '.join(result.handovers)})."
        )
    if result.notices:
        verb = "would be destroyed" if result.dry_run else "destroyed"
        lines.append(
            f"Duplicate notices {verb}: {len(result.notices)} ({', '.join(result.notices)})."
        )
    return "\n".join(lines) + "\n"


def _why(why: str) -> str:
    """Why retention destroys a notice (D-240), in the plan's words."""
    return "letter before the cutoff" if why == LETTER else "its patient is shredded"


def inspection_text(found: Inspection) -> str:
    rows = [(c.part, c.verdict) for c in found.checks]
    lines = [f"Inspection of {found.subject} (nothing it holds is shown):"]
    lines += ["  " + line for line in table(("part", "verdict"), rows)]
    lines += [f"  {c.part}: {c.why}" for c in found.checks if c.failed and c.why]
    if found.damaged:
        lines.append(
            "Damaged: restore the database from a backup taken before the damage (README: a "
            "damaged row). Until then sync leaves this patient as it is."
        )
    else:
        lines.append("Nothing damaged.")
    return "\n".join(lines) + "\n"


def runs_text(found: list[Run]) -> str:
    rows = [
        (
            r.run_id,
            r.as_of.isoformat(),
            r.made_at.strftime("%Y-%m-%d %H:%M"),
            r.actor,
            str(r.recorded),
            r.state if r.state != "done" or r.undoable else "done (kept no longer)",
        )
        for r in found
    ]
    header = ("run", "as of", "made (UTC)", "by", "recorded", "state")
    return "\n".join([f"{len(rows)} sync run(s), newest first", *table(header, rows)]) + "\n"


def undo_plan_text(plan: UndoPlan) -> str:
    lines = [f"Undo of {len(plan.runs)} sync run(s), newest first:"]
    lines += [
        f"  run {r.run_id}  as of {r.as_of.isoformat()}, made {r.made_at:%Y-%m-%d %H:%M} UTC "
        f"by {r.actor}, {r.recorded} report(s) recorded"
        for r in plan.runs
    ]
    lines.append(
        f"Withdrawn, never sent ({len(plan.withdraw)}; kept as rejected, their slots freed):"
    )
    lines += [
        f"  {e.ledger_id}  {e.kind:<10} dated {e.report_date.isoformat()}, made on "
        f"{e.made_on.isoformat()}, {e.state}, {e.rule}"
        for e in plan.withdraw
    ]
    lines.append(
        f"Reports the runs superseded, no longer marked so: {plan.unmark} (a state they "
        "reached since stays)."
    )
    lines.append(f"Reports the runs withdrew, put back as they were: {plan.unwithdraw}.")
    lines.append(f"Patients derived afresh at the next sync: {plan.patients}.")
    if plan.last_sync is not None:
        lines.append(f"The last sync is then the one as of {plan.last_sync.isoformat()}.")
    else:
        lines.append("No earlier sync is left then: the next sync may be as of any day.")
    return "\n".join(lines) + "\n"


def _ids(ids: list[str] | tuple[str, ...]) -> str:
    return ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")


def export_warnings(found: LedgerExport) -> list[str]:
    """What the export's reader must not miss: rows changed outside substreg (marked
    VERÄNDERT), rows that cannot be read (damaged, not changed: D-45), and rows the audit
    log recorded that the ledger lacks. Each is one line; any of them makes exit 1."""
    changed = [r.entry.ledger_id for r in found.rows if r.problem is not None]
    damaged = [r.entry.ledger_id for r in found.rows if r.damaged]
    warnings = []
    if changed:
        warnings.append(
            f"{len(changed)} report(s) fail their integrity check and are marked VERÄNDERT in "
            f"the export ({_ids(changed)}); run `substreg audit verify`"
        )
    if damaged:
        warnings.append(
            f"{len(damaged)} report(s) cannot be read (a damaged data key or payload) and are "
            f"written as 'nicht lesbar (beschädigt)' ({_ids(damaged)}); see `substreg inspect "
            "ledger ID`"
        )
    if found.deleted:
        warnings.append(
            f"{len(found.deleted)} report(s) the audit log recorded are missing from the ledger "
            f"(deleted outside substreg: {_ids(found.deleted)}), so the export may lack them; "
            "run `substreg audit verify`"
        )
    return warnings
