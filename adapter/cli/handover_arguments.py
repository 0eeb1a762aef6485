"""The arguments of `substreg handover export|import|list|release` (R-HO-1). Only argparse
here: `adapter.cli.handover` runs them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

_Actions = argparse._SubParsersAction  # the type argparse gives subcommand groups


def add_handover_commands(
    commands: _Actions[Any],
    day: Callable[[str], date],
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """Add `handover` and its actions to the `substreg` parser."""
    handover = commands.add_parser(
        "handover", help="hand a patient over to another facility, or take one over (R-HO-1)"
    )
    actions = handover.add_subparsers(dest="action", required=True, parser_class=parser_class)
    export = actions.add_parser(
        "export", help="the signed handover document (FHIR) and its PDF, of one patient"
    )
    export.add_argument("--patient", required=True, metavar="REF", help="Patient/ID of the EHR")
    export.add_argument("--to", required=True, metavar="FACILITY", help="the receiving facility")
    export.add_argument("--from", dest="sender", metavar="FACILITY", help="this facility's name")
    export.add_argument("--out", type=Path, default=Path(), metavar="DIR", help="default: .")
    export.add_argument("--on", type=day, metavar="YYYY-MM-DD", help="handover day (today)")
    export.set_defaults(handler="handover_export")
    take = actions.add_parser(
        "import", help="verify a received handover document and record its registration"
    )
    take.add_argument("file", type=Path, metavar="FILE")
    take.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="FINGERPRINT",
        help="the sender's key fingerprint, confirmed with the sender (repeatable)",
    )
    take.set_defaults(handler="handover_import")
    actions.add_parser("list", help="the handovers received here").set_defaults(
        handler="handover_list"
    )
    for action, what, handler in (
        ("release", "the sending doctor's Abmeldung is made: register here", "handover_release"),
        (
            "return",
            "the patient went back within 30 days: nothing reported here",
            "handover_return",
        ),
    ):
        end = actions.add_parser(action, help=what)
        end.add_argument("handover_id", metavar="ID")
        end.add_argument("--on", type=day, metavar="YYYY-MM-DD", help="the day (today)")
        end.set_defaults(handler=handler)
