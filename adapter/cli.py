"""The `substreg` command line: a thin layer over `adapter.services`.

Exit codes: 0 success (findings included), 2 unusable input or usage (one line on
standard error, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

from adapter.config import ConfigError, PracticeConfig, load_config
from adapter.fhir.source import InputError
from adapter.mappings import MappingError
from adapter.output import derivation_json, derivation_table
from adapter.services import derive

EXIT_USAGE = 2


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _derive(args)
    except (InputError, ConfigError, MappingError) as exc:
        print(f"substreg: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _derive(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else PracticeConfig()
    derivation = derive(args.paths, as_of=args.as_of, config=config)
    if args.format == "table":
        sys.stdout.write(derivation_table(derivation))
    else:
        sys.stdout.buffer.write(derivation_json(derivation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
