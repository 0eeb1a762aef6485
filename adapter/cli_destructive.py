"""The commands that destroy or take back: `retention apply` (and, later in this module,
`sync undo`). Each shows what it will do, then asks (adapter.cli_context.confirm)."""

from __future__ import annotations

import argparse
import sys

from adapter import cli_output as out
from adapter.cli_context import confirm, context, store, today_in_berlin
from adapter.services.retention import apply_retention, plan_retention


def handle_retention(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    installation = store(settings)
    as_of = args.as_of or today_in_berlin()
    plan = plan_retention(installation, actor, as_of=as_of, years=args.years)
    shown = out.retention_plan_text(plan)
    if args.dry_run:
        result = apply_retention(installation, actor, as_of=as_of, years=args.years, dry_run=True)
        sys.stdout.write(shown + out.retention_text(result))
        return 0
    if plan.shred:
        count = f"the data keys of {len(plan.shred)} patient(s)"
        confirm(
            f"retention would destroy {count} whose treatment ended before "
            f"{plan.cutoff.isoformat()}",
            f"{shown}Destroy {count}?",
            yes=args.yes,
        )
    result = apply_retention(
        installation,
        actor,
        as_of=as_of,
        years=args.years,
        confirmed=frozenset(t.mapping_id for t in plan.shred),
    )
    if not plan.shred or args.yes:
        sys.stdout.write(shown)  # on a terminal it was shown with the question
    sys.stdout.write(out.retention_text(result))
    return 0


DESTRUCTIVE = {"retention": handle_retention}
