"""The arguments of `substreg pull` and `substreg import` (issue 13). Only argparse here:
`adapter.cli.pull` runs them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from adapter.cli.exits import FAIL_ON

_Actions = argparse._SubParsersAction  # the type argparse gives subcommand groups


def _types(value: str) -> tuple[str, ...]:
    kinds = tuple(t.strip() for t in value.split(",") if t.strip())
    if not kinds or not all(t.isalpha() and t[0].isupper() for t in kinds):
        msg = f"'{value}' is no comma-separated list of resource types, e.g. Patient,Medication"
        raise argparse.ArgumentTypeError(msg)
    return kinds


def add_pull_commands(commands: _Actions[Any], day: Callable[[str], date]) -> None:
    """Add `pull` and `import` to the `substreg` parser."""
    pull = commands.add_parser(
        "pull", help="read what changed on the EHR's FHIR server since the last pull, and sync it"
    )
    _common(pull, day)
    pull.add_argument("--server", metavar="URL", help="the FHIR base; default: [pull] server")
    pull.add_argument(
        "--since",
        metavar="INSTANT",
        help="read from this instant (FHIR instant, e.g. 2025-01-01T00:00:00Z) instead of the "
        "checkpoints",
    )
    pull.add_argument("--page-size", type=int, metavar="N", help="default: [pull] page_size")
    pull.set_defaults(handler="pull")
    imports = commands.add_parser(
        "import",
        help="sync a FHIR Bulk Data export: a folder of $export output, or --server to run one",
    )
    imports.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    _common(imports, day)
    imports.add_argument("--server", metavar="URL", help="run $export against this FHIR base")
    imports.add_argument("--since", metavar="INSTANT", help="with --server: _since of the export")
    imports.add_argument(
        "--keep", type=Path, metavar="DIR", help="with --server: keep the downloaded files here"
    )
    imports.set_defaults(handler="import")


def _common(parser: argparse.ArgumentParser, day: Callable[[str], date]) -> None:
    parser.add_argument("--config", type=Path, metavar="practice.toml")
    parser.add_argument("--as-of", type=day, metavar="YYYY-MM-DD", help="default: today (Berlin)")
    parser.add_argument("--types", type=_types, metavar="T,T", help="default: INPUT.md's types")
    parser.add_argument(
        "--token-file", type=Path, metavar="FILE", help="a bearer token (default: [pull])"
    )
    parser.add_argument(
        "--accept-mass-end",
        action="store_true",
        help="let data without recent events end many treatments by the 10-day rule",
    )
    parser.add_argument("--format", choices=("json", "table"), default="table")
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when a finding of this severity or worse is present (for pipelines)",
    )
