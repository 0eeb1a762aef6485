"""The `substreg` command line: a thin layer over `adapter.services`. This module holds
only the argument parser; `adapter.cli.run` runs the parsed command.

Exit codes (adapter/cli/exits.py): 0 success (findings included, unless `--fail-on`);
1 `validate` found an error, `derive`/`sync --fail-on error|warning` found a finding of
that severity or worse (the output is printed all the same), a sync kept nothing (a
refused mass end, D-48), or `envelope open` read an envelope that does not authenticate or
whose signature does not verify (D-73); 2 unusable input or usage (one line on standard
error, never a traceback); 130 interrupted by Ctrl-C (one line, D-205); 141 standard
output's reader went away (`| head`: silent, D-235).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

from adapter.cli import stopped
from adapter.cli.envelope_arguments import add_envelope_commands
from adapter.cli.exits import EXIT_USAGE, FAIL_ON
from adapter.cli.handover_arguments import add_handover_commands
from adapter.cli.pull_arguments import add_pull_commands
from adapter.cli.registersim_arguments import add_register_sim_command
from adapter.cli.service_arguments import add_service_commands
from adapter.cli.stateful_arguments import add_commands
from adapter.cli.submission_arguments import add_submission_commands


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, exit 2: argparse would print the whole usage block first.
        self.exit(EXIT_USAGE, f"substreg: {message}\n")


def _day(value: str) -> date:
    from adapter.fhir.values import USABLE_DAYS, usable_day  # noqa: PLC0415 (argparse only)

    try:
        day = date.fromisoformat(value)
    except ValueError:
        msg = f"'{value}' is not a day (YYYY-MM-DD)"
        raise argparse.ArgumentTypeError(msg) from None
    if not usable_day(day):  # the engine counts days after it: never past the calendar
        msg = f"'{value}' is not {USABLE_DAYS}"
        raise argparse.ArgumentTypeError(msg)
    return day


def _horizon(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_HORIZON:
        msg = f"'{value}' is not a number of days from 1 to {MAX_HORIZON}"
        raise argparse.ArgumentTypeError(msg)
    return days


MAX_HORIZON = 366  # adapter.services.forecast.MAX_DAYS (not imported: --help stays light)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="substreg", description="Reports for the Substitutionsregister.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    derive_cmd = commands.add_parser(
        "derive", help="replay FHIR data and print every report due by a day"
    )
    derive_cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    derive_cmd.add_argument("--as-of", required=True, type=_day, metavar="YYYY-MM-DD")
    derive_cmd.add_argument("--config", type=Path, metavar="practice.toml")
    derive_cmd.add_argument("--format", choices=("json", "table"), default="json")
    derive_cmd.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when a finding of this severity or worse is present (for pipelines)",
    )
    validate_cmd = commands.add_parser(
        "validate",
        help="check each resource's structure and datatypes against the FHIR R4B models of "
        "fhir.resources, not profiles or invariants (exit 1 on an error)",
    )
    validate_cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    validate_cmd.add_argument(
        "--format", choices=("findings", "operationoutcome"), default="findings"
    )
    forecast_cmd = commands.add_parser(
        "forecast",
        help="what falls due in the days ahead and why, unless the data changes before",
    )
    forecast_cmd.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    forecast_cmd.add_argument(
        "--stored",
        action="store_true",
        help="forecast what sync keeps in the database instead of files, counting the "
        "ledger: blanket deregistrations, handovers received (audited, D-226)",
    )
    forecast_cmd.add_argument(
        "--as-of", type=_day, metavar="YYYY-MM-DD", help="the day to look ahead from (today)"
    )
    forecast_cmd.add_argument(
        "--days", type=_horizon, default=14, help="how many days ahead (1–366, default 14)"
    )
    forecast_cmd.add_argument("--config", type=Path, metavar="practice.toml")
    forecast_cmd.add_argument("--format", choices=("json", "text"), default="text")
    forecast_cmd.set_defaults(handler="forecast")
    derive_cmd.set_defaults(handler="derive")
    validate_cmd.set_defaults(handler="validate")
    add_commands(commands, _day, _Parser)
    add_envelope_commands(commands, _Parser)
    add_register_sim_command(commands, _Parser)
    add_submission_commands(commands, _Parser)
    add_service_commands(commands, _Parser)
    add_pull_commands(commands, _day)
    add_handover_commands(commands, _day, _Parser)
    return parser


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """The parser, built once a process: building it costs ~30 ms (argparse looks up a
    translation for every help string), which a process calling `main` many times (the
    service's tests, a script) would pay on every call. parse_args leaves it unchanged."""
    return build_parser()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status. The caller owns the process (`console` is the
    installed command; tests and the service's children call this)."""
    args = _parser().parse_args(argv)
    # Only argparse is loaded up to here, so `--help` and a usage error cost no more than
    # that; each command then loads what it uses (`derive`: neither the store nor the
    # full FHIR models).
    done = False  # the command returned: its work is done and kept (D-255)
    try:
        from adapter.cli.run import run  # noqa: PLC0415

        status = run(args.handler, args)
        done = True
        # The final output is still in the buffer of a pipe or file: written here, while an
        # interrupt or a reader gone is still ours to answer, not at the interpreter's end,
        # where Ctrl-C lost it silently and a closed pipe was "Exception ignored" (D-235).
        sys.stdout.flush()
    except KeyboardInterrupt:
        # Ctrl-C is a person's stop, not a fault: one line, never a traceback. Every
        # write is one transaction, so the one under way is rolled back (D-205); once
        # the command returned, the line says its work is done (D-255).
        return stopped.interrupted(done=done)
    except BrokenPipeError:
        if not stopped.reader_gone():
            raise  # not standard output's reader: a fault to see
        return stopped.EXIT_READER_GONE
    return status


def console() -> NoReturn:
    """The installed `substreg`: `main`, and an interrupt after its last write says that
    the work is done and keeps the command's status, never a traceback and never a silent
    130 from the interpreter's end (D-235, D-255)."""
    status: int | None = None
    try:
        status = main()
        stopped.guard_the_end(status)
    except KeyboardInterrupt:  # between main's own handlers and the guard
        status = stopped.interrupted() if status is None else stopped.finished(status)
    stopped.end(status)


if __name__ == "__main__":
    console()
