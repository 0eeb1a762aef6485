"""The arguments of `substreg submit` and `substreg outbox list|show|retry|resend`. Only
argparse here: `adapter.cli.submission` runs them, and loads the envelope's libraries."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from adapter.domain.submission import BATCH_STATES

_Actions = argparse._SubParsersAction  # the type argparse gives subcommand groups
_CONFIG = "[submission] names the transport, the keys and the register's certificate"


def add_submission_commands(
    commands: _Actions[Any], parser_class: type[argparse.ArgumentParser]
) -> None:
    """Add `submit` and `outbox` to the `substreg` parser."""
    submit = commands.add_parser(
        "submit",
        help="seal the approved reports that are due into the outbox and send what is due",
    )
    submit.add_argument("--config", type=Path, required=True, metavar="practice.toml", help=_CONFIG)
    submit.add_argument(
        "--worker",
        action="store_true",
        help="only deliver: loop until interrupted, sleeping until the next attempt is due",
    )
    submit.add_argument(
        "--once", action="store_true", help="with --worker: deliver what is due now, then exit"
    )
    submit.add_argument(
        "--queue-only",
        action="store_true",
        help="seal what is due and leave the sending to a worker (`submit --worker`)",
    )
    submit.add_argument("--format", choices=("json", "table"), default="table")
    submit.set_defaults(handler="submit")
    outbox = commands.add_parser("outbox", help="the sealed batches and what the register said")
    actions = outbox.add_subparsers(dest="action", required=True, parser_class=parser_class)
    listing = actions.add_parser("list", help="the batches, oldest first")
    listing.add_argument("--state", choices=BATCH_STATES)
    listing.add_argument("--format", choices=("json", "table"), default="table")
    listing.set_defaults(handler="outbox_list")
    show = actions.add_parser(
        "show", help="one batch, its reports and the register's receipt (audited)"
    )
    show.add_argument("batch_id", metavar="ID")
    show.add_argument("--format", choices=("json", "table"), default="table")
    show.set_defaults(handler="outbox_show")
    retry = actions.add_parser("retry", help="a failed batch back to sealed: the same bytes")
    retry.add_argument("batch_id", metavar="ID")
    retry.set_defaults(handler="outbox_retry")
    resend = actions.add_parser(
        "resend", help="seal a failed batch's reports again as a new batch (asks first)"
    )
    resend.add_argument("batch_id", metavar="ID")
    resend.add_argument("--config", type=Path, required=True, metavar="practice.toml", help=_CONFIG)
    resend.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    resend.set_defaults(handler="outbox_resend")
