"""The `substreg` command line: a thin layer over `adapter.services`.

Exit codes: 0 success (`derive`: findings included), 1 `validate` found invalid
resources (an `error` finding), 2 unusable input or usage (one line on standard error,
never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

import orjson

from adapter.cli_store import add_commands
from adapter.config import ConfigError, PracticeConfig, load_config
from adapter.fhir.source import InputError
from adapter.fhir.validate import validate_paths
from adapter.fhir.values import USABLE_DAYS, usable_day
from adapter.mappings import MappingError
from adapter.output import derivation_json, derivation_table, finding_json
from adapter.services import derive

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, exit 2: argparse would print the whole usage block first.
        self.exit(EXIT_USAGE, f"substreg: {message}\n")


def _day(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        msg = f"'{value}' is not a day (YYYY-MM-DD)"
        raise argparse.ArgumentTypeError(msg) from None
    if not usable_day(day):  # the engine counts days after it: never past the calendar
        msg = f"'{value}' is not {USABLE_DAYS}"
        raise argparse.ArgumentTypeError(msg)
    return day


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
    validate_cmd = commands.add_parser(
        "validate", help="check every resource against the FHIR R4 models (exit 1 if invalid)"
    )
    validate_cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    derive_cmd.set_defaults(handler=_derive)
    validate_cmd.set_defaults(handler=_validate)
    add_commands(commands, _day, _Parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if isinstance(args.handler, str):
            # The store (SQLAlchemy, Alembic, fpdf2) loads only for the commands that need
            # it: `derive` and `validate` start in a fraction of the time.
            from adapter import cli_commands  # noqa: PLC0415

            return cli_commands.dispatch(args.handler, args)
        status: int = args.handler(args)
    except (InputError, ConfigError, MappingError) as exc:
        print(f"substreg: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    return status


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _derive(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else PracticeConfig()
    derivation = derive(args.paths, as_of=args.as_of, config=config)
    if args.format == "table":
        sys.stdout.write(derivation_table(derivation))
    else:
        sys.stdout.buffer.write(derivation_json(derivation))
    return 0


def _validate(args: argparse.Namespace) -> int:
    findings = list(validate_paths(args.paths))
    sys.stdout.buffer.write(
        orjson.dumps({"findings": [finding_json(f) for f in findings]}, option=orjson.OPT_INDENT_2)
        + b"\n"
    )
    # Exit 1 for what makes a resource unusable; an open end read as such is only noted.
    return 1 if any(f.severity == "error" for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main())
