"""The commands that destroy or take back: `retention apply`, `runs undo` and
`blanket-deregistration` (it ends every open registration of a doctor). Each shows what it
will do, then asks (adapter.cli.context.confirm)."""

from __future__ import annotations

import argparse
import sys

from adapter.cli import output_bulk as bulk
from adapter.cli import output_care as care
from adapter.cli.context import confirm, context, store, today_in_berlin
from adapter.errors import UsageError
from adapter.services.bulk_reports import (
    Deceased,
    blanket_deregistration,
    check_deceased,
    plan_blanket,
)
from adapter.services.retention import apply_retention, plan_retention
from adapter.services.sync_undo import plan_undo, undo


def handle_retention(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    installation = store(settings)
    checked = args.clock_checked
    plan = plan_retention(
        installation, actor, as_of=args.as_of, years=args.years, clock_checked=checked
    )
    as_of = plan.as_of  # the clock's day when none was given: plan and apply count alike
    shown = care.retention_plan_text(plan)
    if args.dry_run:
        result = apply_retention(
            installation, actor, as_of=as_of, years=args.years, dry_run=True, clock_checked=checked
        )
        sys.stdout.write(shown + care.retention_text(result))
        return 0
    if plan.shred or plan.handovers or plan.notices:
        count = f"the data keys of {len(plan.shred)} patient(s)"
        if plan.handovers:
            count += f" and {len(plan.handovers)} handover record(s)"
        if plan.notices:
            count += f" and {len(plan.notices)} duplicate notice(s)"
        confirm(
            f"retention would destroy {count} whose treatment ended before "
            f"{plan.cutoff.isoformat()}, which cannot be undone",
            f"{shown}Destroy {count}?",
            yes=args.yes,
        )
    result = apply_retention(
        installation,
        actor,
        as_of=as_of,
        years=args.years,
        confirmed=frozenset(
            [t.mapping_id for t in plan.shred]
            + [h.handover_id for h in plan.handovers]
            + [n.notice_id for n in plan.notices]
        ),
        clock_checked=checked,
    )
    if not (plan.shred or plan.handovers or plan.notices) or args.yes:
        sys.stdout.write(shown)  # on a terminal it was shown with the question
    sys.stdout.write(care.retention_text(result))
    return 0


def handle_runs_undo(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    installation = store(settings)
    plan = plan_undo(installation, actor, args.run_id)
    shown = care.undo_plan_text(plan)
    confirm(
        f"undoing would withdraw {len(plan.withdraw)} unsent report(s) of "
        f"{len(plan.runs)} sync run(s)",
        f"{shown}Undo {len(plan.runs)} sync run(s)?",
        yes=args.yes,
    )
    undo(installation, actor, tuple(r.run_id for r in plan.runs))
    if args.yes:
        sys.stdout.write(shown)  # on a terminal it was shown with the question
    sys.stdout.write("Undone. Sync again with the right day: `substreg sync PATH --as-of DAY`.\n")
    return 0


def handle_blanket(args: argparse.Namespace) -> int:
    """R-PAU-1: show how many registrations the blanket deregistration ends, then ask."""
    settings, actor, _ = context()
    installation = store(settings)
    today = today_in_berlin()
    deceased = _deceased(args)
    check_deceased(deceased, doctor=args.doctor, day=args.date, today=today)
    plan = plan_blanket(
        installation, actor, doctor=args.doctor, day=args.date, today=today, deceased=deceased
    )
    shown = bulk.blanket_plan_text(plan)
    if not plan.made_already:
        confirm(
            f"the blanket deregistration would end {len(plan.ends)} open registration(s) of "
            f"doctor {args.doctor}",
            f"{shown}Record the blanket deregistration?",
            yes=args.yes,
        )
    result = blanket_deregistration(
        installation, actor, doctor=args.doctor, day=args.date, today=today, deceased=deceased
    )
    if plan.made_already or args.yes:
        sys.stdout.write(shown)  # on a terminal it was shown with the question
    sys.stdout.write(bulk.blanket_text(result))
    return 0


def _deceased(args: argparse.Namespace) -> Deceased | None:
    """The declaration for a doctor who died (004 §3.7), or None for the doctor's own."""
    given = [args.declared_by, args.successor_btm, args.reason]
    if args.died_on is None:
        if any(value is not None for value in given):
            msg = (
                "blanket-deregistration: --declared-by, --successor-btm and --reason go "
                "with --died-on"
            )
            raise UsageError(msg)
        return None
    if not args.declared_by:
        raise UsageError("blanket-deregistration: --died-on needs --declared-by NAME (who signs)")
    return Deceased(
        died_on=args.died_on,
        declared_by=args.declared_by,
        declarant=args.declarant,
        successor_btm=args.successor_btm,
        reason=args.reason,
    )


DESTRUCTIVE = {
    "retention": handle_retention,
    "runs_undo": handle_runs_undo,
    "blanket": handle_blanket,
}
