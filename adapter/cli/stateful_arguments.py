"""The stateful commands' arguments: init, sync, runs, reports, ledger, audit, keys,
lookup, duplicate, retention, inspect. Only argparse here, so that `substreg derive` starts
without loading the store; each command's handler is named, and `adapter.cli.stateful` runs it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from adapter.cli.exits import FAIL_ON
from adapter.domain.btm import is_btm_number
from adapter.domain.bulk_deceased import DECLARANTS
from adapter.domain.ledger import STATES

DEFAULT_RETENTION_YEARS = 10  # adapter.services.retention.DEFAULT_YEARS; checked by a test


_Actions = argparse._SubParsersAction  # the type argparse gives subcommand groups


def add_commands(
    commands: _Actions[Any],
    day: Callable[[str], date],
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """Add the stateful commands to the `substreg` parser."""

    def actions(parser: argparse.ArgumentParser) -> _Actions[Any]:
        return parser.add_subparsers(dest="action", required=True, parser_class=parser_class)

    commands.add_parser("init", help="create the database schema and the keyring").set_defaults(
        handler="init"
    )
    _add_sync(commands, day)
    _add_bulk(commands, day)
    runs = actions(commands.add_parser("runs", help="the sync runs; undo one not yet sent"))
    runs.add_parser("list", help="the newest sync runs").set_defaults(handler="runs_list")
    take_back = runs.add_parser("undo", help="undo the newest run (or back to RUN), if unsent")
    take_back.add_argument("run_id", nargs="?", metavar="RUN")
    take_back.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    take_back.set_defaults(handler="runs_undo")
    _add_reports(actions(commands.add_parser("reports", help="the report ledger")), day)
    _add_ledger(actions(commands.add_parser("ledger", help="the practice's record")), day)
    audit = actions(commands.add_parser("audit", help="the audit log"))
    audit.add_parser("verify", help="check the hash chain and signed checkpoints").set_defaults(
        handler="audit_verify"
    )
    listing = audit.add_parser("list", help="the entries, purposes opened (audited)")
    listing.add_argument("--action")
    listing.add_argument("--format", choices=("json", "table"), default="table")
    listing.set_defaults(handler="audit_list")
    _add_keys(actions(commands.add_parser("keys", help="rotate, migrate, status, backup, restore")))
    _add_privacy(commands, actions, day)
    _add_duplicate(actions(commands.add_parser("duplicate", help=_DUPLICATE_HELP)), day)
    inspect = actions(commands.add_parser("inspect", help="what of a row is damaged (audited)"))
    for kind, helptext in (("ledger", "a report"), ("mapping", "a patient's mapping row")):
        look = inspect.add_parser(kind, help=f"{helptext}: each sealed part ok or damaged")
        look.add_argument("row_id", metavar="ID")
        look.set_defaults(handler="inspect", kind=kind)


def _add_sync(commands: _Actions[Any], day: Callable[[str], date]) -> None:
    run = commands.add_parser("sync", help="ingest FHIR data and record the reports now due")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    run.add_argument("--as-of", type=day, metavar="YYYY-MM-DD", help="default: today (Berlin)")
    run.add_argument("--config", type=Path, metavar="practice.toml")
    run.add_argument(
        "--accept-corrections",
        action="store_true",
        help="record the correction reports that contradictions call for",
    )
    run.add_argument(
        "--rebuild", action="store_true", help="derive every patient afresh from the stored records"
    )
    run.add_argument(
        "--accept-mass-end",
        action="store_true",
        help="let an export without recent events end many treatments by the 10-day rule",
    )
    run.add_argument("--format", choices=("json", "table"), default="table")
    run.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when a finding of this severity or worse is present (for pipelines)",
    )
    run.set_defaults(handler="sync")


def _add_reports(reports: _Actions[Any], day: Callable[[str], date]) -> None:
    listing = reports.add_parser("list", help="reports with their states (no codes)")
    listing.add_argument("--state", choices=STATES)  # a misspelt state would list nothing
    listing.add_argument("--from", dest="since", type=day, metavar="YYYY-MM-DD")
    listing.add_argument("--to", dest="until", type=day, metavar="YYYY-MM-DD")
    listing.add_argument("--format", choices=("json", "table"), default="table")
    listing.set_defaults(handler="reports_list")
    show = reports.add_parser("show", help="one report as recorded, with its code (audited)")
    show.add_argument("ledger_id")
    show.set_defaults(handler="reports_show")
    for name, helptext in (("approve", "approve pending reports"), ("reject", "reject reports")):
        decide = reports.add_parser(name, help=helptext)
        decide.add_argument("ledger_ids", nargs="+", metavar="LEDGER_ID")
        decide.add_argument("--reason", required=name == "reject")
        decide.set_defaults(handler="reports_decide", decision=name)


def _add_ledger(ledger: _Actions[Any], day: Callable[[str], date]) -> None:
    export = ledger.add_parser("export", help="the reports of a period, codes in clear (audited)")
    export.add_argument("--from", dest="since", type=day, required=True, metavar="YYYY-MM-DD")
    export.add_argument("--to", dest="until", type=day, required=True, metavar="YYYY-MM-DD")
    export.add_argument("--format", choices=("csv", "pdf"), default="csv")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--force", action="store_true", help="replace an existing --out file")
    export.add_argument("--purpose", required=True)
    export.set_defaults(handler="ledger_export")


def _add_keys(keys: _Actions[Any]) -> None:
    rotate = keys.add_parser("rotate", help="a new key; nothing is lost")
    rotate.add_argument("purpose", choices=("index", "wrap", "audit"))
    rotate.add_argument(
        "--lazy",
        action="store_true",
        help="index: re-index rows as they are looked up, not all now",
    )
    rotate.set_defaults(handler="keys_rotate")
    keys.add_parser("migrate-index", help="re-index every row now").set_defaults(
        handler="keys_migrate"
    )
    keys.add_parser("status", help="keys and the rows that use them").set_defaults(
        handler="keys_status"
    )
    backup = keys.add_parser("backup", help="the keyring, encrypted under a passphrase")
    backup.add_argument("--out", type=Path, required=True)
    backup.set_defaults(handler="keys_backup")
    restore = keys.add_parser("restore", help="put a keyring backup in place")
    restore.add_argument("backup", type=Path)
    restore.set_defaults(handler="keys_restore")


_DUPLICATE_HELP = "the register's duplicate notice (004 §10): find the patient, answer"
_CONTINUES = ("us", "other", "different-people")  # adapter.domain.duplicates.OUTCOMES


def _add_duplicate(duplicate: _Actions[Any], day: Callable[[str], date]) -> None:
    read = duplicate.add_parser(
        "import", help="check a notice and find its local patient (audited lookup)"
    )
    read.add_argument("notice", type=Path, metavar="NOTICE")
    read.add_argument("--ticket")
    read.set_defaults(handler="duplicate_import")
    answer = duplicate.add_parser(
        "resolve", help="record what the doctors agreed, as a report to approve and send"
    )
    answer.add_argument("notice", type=Path, metavar="NOTICE")
    answer.add_argument("--continues", choices=_CONTINUES, required=True)
    answer.add_argument(
        "--last-use", type=day, metavar="YYYY-MM-DD", help="with `other`: the last day here"
    )
    answer.add_argument("--by", metavar="BTM", help="with `other`: who continues, of several")
    answer.add_argument("--mapping", metavar="ID", help="of several local patients, this one")
    answer.add_argument("--ticket")
    answer.set_defaults(handler="duplicate_resolve")
    listing = duplicate.add_parser(
        "list", help="the notices received: open or answered, how and when (no code)"
    )
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(handler="duplicate_list")


def _add_privacy(
    commands: _Actions[Any],
    actions: Callable[[argparse.ArgumentParser], _Actions[Any]],
    day: Callable[[str], date],
) -> None:
    find = commands.add_parser("lookup", help="which local patients have a code (audited)")
    find.add_argument("--code", required=True)
    find.add_argument("--purpose", required=True)
    find.add_argument("--ticket")
    find.set_defaults(handler="lookup")
    retention = commands.add_parser("retention", help="crypto-shredding after retention")
    apply = actions(retention).add_parser(
        "apply", help="destroy the data keys of treatments ended before the period"
    )
    apply.add_argument("--years", type=int, default=DEFAULT_RETENTION_YEARS)
    apply.add_argument("--as-of", type=day, metavar="YYYY-MM-DD")
    apply.add_argument("--dry-run", action="store_true", help="show what would be destroyed")
    apply.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    apply.add_argument(
        "--clock-checked",
        action="store_true",
        help="a person checked the clock: count from a day long after the newest synced data",
    )
    apply.set_defaults(handler="retention")


def _btm(value: str) -> str:
    """A BtM number as typed: seven digits, never repaired (R-DOC-1)."""
    if not is_btm_number(value):
        msg = f"{value!r} is not a BtM number (seven digits)"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_bulk(commands: _Actions[Any], day: Callable[[str], date]) -> None:
    """The register's bulk reports, from the ledger (R-INV-1, R-PAU-1)."""
    stock = commands.add_parser(
        "inventory", help="Inventur-Meldung: every patient held open at a key date (R-INV-1)"
    )
    stock.add_argument("--key-date", type=day, required=True, metavar="YYYY-MM-DD")
    stock.add_argument("--doctor", type=_btm, metavar="BTM", help="one doctor (default: all)")
    stock.set_defaults(handler="inventory")
    blanket = commands.add_parser(
        "blanket-deregistration",
        help="Pauschalabmeldung: a leaving doctor ends all their treatments (R-PAU-1)",
    )
    blanket.add_argument("--doctor", type=_btm, required=True, metavar="BTM")
    blanket.add_argument("--date", type=day, required=True, metavar="YYYY-MM-DD")
    blanket.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    _add_deceased(blanket, day)
    blanket.set_defaults(handler="blanket")


def _add_deceased(blanket: argparse.ArgumentParser, day: Callable[[str], date]) -> None:
    """004 §3.7: the blanket deregistration of a doctor who died, declared by another."""
    dead = blanket.add_argument_group(
        "a doctor who died (004 §3.7, D-197)",
        "the successor (or, in a justified exception, an employee) declares and signs it",
    )
    dead.add_argument("--died-on", type=day, metavar="YYYY-MM-DD", help="the date of death")
    dead.add_argument("--declared-by", metavar="NAME", help="who declares and signs")
    dead.add_argument(
        "--declarant",
        choices=DECLARANTS,
        default="successor",
        help="the (perhaps temporary) medical successor, or an employee (default: successor)",
    )
    dead.add_argument("--successor-btm", type=_btm, metavar="BTM", help="the successor's")
    dead.add_argument("--reason", metavar="TEXT", help="why an employee declares (required)")
