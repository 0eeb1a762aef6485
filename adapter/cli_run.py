"""Running a parsed `substreg` command: `derive` and `validate` here, the stateful ones in
`adapter.cli_commands` (loaded only for them: SQLAlchemy, Alembic, cryptography).

`adapter.cli` imports this module after parsing, so `substreg --help` and a usage error
load nothing but argparse. An error a person can fix in the input, the practice
configuration or the mapping files is one line on standard error and exit 2.
"""

from __future__ import annotations

import argparse
import sys

import orjson

from adapter.cli import EXIT_USAGE
from adapter.config import ConfigError, PracticeConfig, load_config
from adapter.fhir.source import InputError
from adapter.mappings import MappingError
from adapter.output import derivation_json, derivation_table, finding_json
from adapter.services import derive


def run(handler: str, args: argparse.Namespace) -> int:
    """Run the command named `handler` on its parsed arguments; its exit status."""
    try:
        if handler == "derive":
            return _derive(args)
        if handler == "validate":
            return _validate(args)
        from adapter import cli_commands  # noqa: PLC0415

        return cli_commands.dispatch(handler, args)
    except (InputError, ConfigError, MappingError) as exc:
        print(f"substreg: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE


def _derive(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else PracticeConfig()
    derivation = derive(args.paths, as_of=args.as_of, config=config)
    if args.format == "table":
        sys.stdout.write(derivation_table(derivation))
    else:
        sys.stdout.buffer.write(derivation_json(derivation))
    return 0


def _validate(args: argparse.Namespace) -> int:
    # The full FHIR models (fhir.resources, pydantic) take longer to import than a small
    # derive takes to run: only the command that needs them loads them.
    from adapter.fhir.validate import validate_paths  # noqa: PLC0415

    findings = list(validate_paths(args.paths))
    sys.stdout.buffer.write(
        orjson.dumps({"findings": [finding_json(f) for f in findings]}, option=orjson.OPT_INDENT_2)
        + b"\n"
    )
    return 1 if findings else 0
