"""The `substreg` command line: a thin layer over `adapter.services`.

Exit codes: 0 success (`derive`: findings included, unless `--fail-on`); 1 `validate`
found an error, or `derive --fail-on error|warning` found a finding of that severity
or worse (the document is printed all the same); 2 unusable input or usage (one line
on standard error, never a traceback).
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
from adapter.mappings import MappingError
from adapter.output import derivation_json, derivation_table, finding_json
from adapter.services import derive

EXIT_FOUND = 1
EXIT_USAGE = 2
# `--fail-on S` fails on findings of severity S or worse.
_FAIL_ON = {"error": {"error"}, "warning": {"error", "warning"}}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, exit 2: argparse would print the whole usage block first.
        self.exit(EXIT_USAGE, f"substreg: {message}\n")


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        msg = f"'{value}' is not a day (YYYY-MM-DD)"
        raise argparse.ArgumentTypeError(msg) from None


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
        choices=tuple(_FAIL_ON),
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
    failing = _FAIL_ON.get(args.fail_on or "", set())
    return EXIT_FOUND if any(f.severity in failing for f in derivation.findings) else 0


def _validate(args: argparse.Namespace) -> int:
    # fhir.resources loads only here: `derive` on JSON starts without it.
    from adapter.fhir.validate import check, operation_outcome  # noqa: PLC0415

    validation = check(args.paths)
    if args.format == "operationoutcome":
        document = operation_outcome(validation)
    else:
        document = {"findings": [finding_json(i.finding()) for i in validation.issues]}
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return EXIT_FOUND if any(i.severity == "error" for i in validation.issues) else 0


if __name__ == "__main__":
    sys.exit(main())
