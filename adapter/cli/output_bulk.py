"""What the bulk-report commands print (R-INV-1, R-PAU-1): our ids, days and counts only."""

from __future__ import annotations

from datetime import date

from adapter.services.bulk_reports import BlanketPlan, BulkResult

_NEXT = (
    "Review and approve them: `substreg reports list --state pending`, `substreg reports approve`."
)


def inventory_text(result: BulkResult, key_date: date) -> str:
    """How many Inventur-Meldungen were recorded, by doctor."""
    lines = [f"Inventur-Meldung zum Stichtag {key_date.strftime('%d.%m.%Y')}:"]
    lines += [
        f"  doctor {btm}: {len(ids)} report(s) recorded as pending"
        for btm, ids in sorted(result.recorded.items())
    ]
    if not result.recorded:
        lines.append("  no doctor holds a registration open on this day.")
    if result.already:
        lines.append(
            f"  {result.already} were in the ledger already for this key date: not made again."
        )
    if any(result.recorded.values()):
        lines.append(_NEXT)
    return "\n".join(lines) + "\n"


def blanket_plan_text(plan: BlanketPlan) -> str:
    """What the blanket deregistration will do: the remarks it carries as recorded (for a
    deceased doctor the successor's or employee's declaration, D-249) and the registrations
    it ends, by our ids. Made already, it ends nothing: only its remarks are shown
    (`blanket_text` says the rest)."""
    lines = [f"Pauschalabmeldung of doctor {plan.doctor}:"]
    lines += [f'  "{remark}"' for remark in plan.remarks]
    if plan.made_already:
        return "\n".join(lines) + "\n"
    lines.append(
        f"It ends {len(plan.ends)} open registration(s) on {plan.day.isoformat()}; sync sends "
        "no single Abmeldung for them, and a successor registers each patient anew (R-CHG-6)."
    )
    lines += [f"  mapping {subject}" for subject in plan.ends]
    if plan.withdraws:
        lines.append(
            f"{len(plan.withdraws)} single Abmeldung(en) not yet sent are taken back: "
            + ", ".join(plan.withdraws)
            + " (should the blanket be rejected later: `substreg sync --rebuild` makes them again)"
        )
    if plan.last_dose is not None:
        lines.append(
            f"Warning: the synced data shows doses after {plan.day.isoformat()} for "
            f"{plan.dosed_after} of these patient(s), the last on {plan.last_dose.isoformat()}: "
            "is the date the last day of treatment?"
        )
    return "\n".join(lines) + "\n"


def blanket_text(result: BulkResult) -> str:
    ids = [i for found in result.recorded.values() for i in found]
    if not ids:
        return (
            "Nothing recorded: the ledger holds this blanket deregistration already, and what "
            "it ends it ended then.\n"
        )
    return f"Recorded as pending: {ids[0]}.\n{_NEXT}\n"
