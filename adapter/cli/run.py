"""Running a parsed `substreg` command: `derive` and `validate` here, `envelope` in
`adapter.cli.envelope`, `register-sim` in `adapter.cli.registersim` (FastAPI, uvicorn),
`submit` and `outbox` in `adapter.cli.submission`, the
stateful ones in `adapter.cli.stateful` (loaded only for them: SQLAlchemy, Alembic,
cryptography).

`adapter.cli.main` imports this module after parsing, so `substreg --help` and a usage error
load nothing but argparse. An error a person can fix in the input, the practice
configuration or the mapping files is one line on standard error and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import orjson

from adapter.cli.exits import EXIT_FOUND, fails_on
from adapter.errors import SubstregError, UsageError
from adapter.export.derivation import derivation_json, derivation_table, finding_json
from adapter.services import derive
from adapter.settings.practice import PracticeConfig, load_config


def run(handler: str, args: argparse.Namespace) -> int:
    """Run the command named `handler` on its parsed arguments; its exit status."""
    try:
        if handler == "derive":
            return _derive(args)
        if handler == "forecast" and not args.stored:
            return _forecast(args)
        if handler == "forecast":  # --stored: the store, as `GET /forecast` (D-226)
            handler = "forecast_stored"
        if handler == "validate":
            return _validate(args)
        return _room_of(handler)(handler, args)
    except SubstregError as exc:  # the one place an error becomes a line and a status
        print(f"substreg: {' '.join(str(exc).split())}", file=sys.stderr)
        return exc.exit_status


def _room_of(handler: str) -> Callable[[str, argparse.Namespace], int]:
    """The module that runs `handler`, imported only now: each loads what it needs."""
    if handler.startswith("envelope_"):  # cryptography and asn1crypto, not the store
        from adapter.cli import envelope  # noqa: PLC0415

        return envelope.dispatch
    if handler == "register_sim":  # FastAPI, uvicorn, the simulator's SQLite
        from adapter.cli import registersim  # noqa: PLC0415

        return lambda _, args: registersim.dispatch(args)
    if handler == "serve" or handler.startswith("tenant_"):  # the service, its registry
        from adapter.cli import service  # noqa: PLC0415

        return service.dispatch
    if handler == "submit" or handler.startswith("outbox_"):  # the store and the envelope
        from adapter.cli import submission  # noqa: PLC0415

        return submission.dispatch
    if handler in ("pull", "import"):  # httpx, PyJWT, and the store
        from adapter.cli import pull  # noqa: PLC0415

        return pull.dispatch
    from adapter.cli import stateful  # noqa: PLC0415

    return stateful.dispatch


def _derive(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else PracticeConfig()
    derivation = derive(args.paths, as_of=args.as_of, config=config)
    if args.format == "table":
        sys.stdout.write(derivation_table(derivation))
    else:
        sys.stdout.buffer.write(derivation_json(derivation))
    return EXIT_FOUND if fails_on(args.fail_on, derivation.findings) else 0


def _forecast(args: argparse.Namespace) -> int:
    from adapter.cli.context import today_in_berlin  # noqa: PLC0415  (the one clock, D-46)
    from adapter.export.forecast import forecast_json, forecast_text  # noqa: PLC0415
    from adapter.services.forecast import forecast  # noqa: PLC0415
    from adapter.settings.environment import database_configured  # noqa: PLC0415

    if not args.paths:
        msg = "forecast needs a PATH of FHIR data, or --stored for what sync keeps"
        raise UsageError(msg)
    config = load_config(args.config) if args.config else PracticeConfig()
    as_of = args.as_of or today_in_berlin()
    found = forecast(args.paths, as_of=as_of, days=args.days, config=config)
    if database_configured():  # once, on stderr: stdout stays the document (D-226)
        print(FILES_ONLY, file=sys.stderr)
    if args.format == "json":
        sys.stdout.buffer.write(forecast_json(found))
    else:
        sys.stdout.write(forecast_text(found))
    return 0


FILES_ONLY = (
    "substreg: note: this forecast reads the files only, not the ledger of the database "
    "set up here: a blanket deregistration or a handover received is not counted. "
    "`substreg forecast --stored` forecasts what sync keeps and counts them (D-226)."
)


def _validate(args: argparse.Namespace) -> int:
    # The full FHIR models (fhir.resources, pydantic) take longer to import than a small
    # derive takes to run: only the command that needs them loads them.
    from adapter.cli.context import today_in_berlin  # noqa: PLC0415  (the one clock, D-46)
    from adapter.fhir.validate import check, operation_outcome  # noqa: PLC0415

    validation = check(args.paths, today=today_in_berlin())
    if args.format == "operationoutcome":
        document = operation_outcome(validation)
    else:
        document = {"findings": [finding_json(i.finding()) for i in validation.issues]}
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return EXIT_FOUND if any(i.severity == "error" for i in validation.issues) else 0
