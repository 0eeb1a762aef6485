"""The handlers of the stateful commands (arguments: `adapter.cli.stateful_arguments`). Each calls
one use case in `adapter.services` and prints the result (`adapter.cli.output`); an
error a person can fix is one line on stderr and exit 2 (`dispatch`), never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import unicodedata
from pathlib import Path
from zoneinfo import ZoneInfo

from adapter.cli import duplicate, output_bulk
from adapter.cli import output as out
from adapter.cli import output_care as care
from adapter.cli.context import context, store, today_in_berlin
from adapter.cli.destructive import DESTRUCTIVE
from adapter.cli.exits import EXIT_FOUND, fails_on
from adapter.crypto import MIN_PASSPHRASE_LENGTH
from adapter.errors import SetupError, UsageError
from adapter.export.ledger import write_export
from adapter.mappings import load_mappings
from adapter.services import bulk_reports, setup
from adapter.services import lookup as lookup_service
from adapter.services import reports as report_service
from adapter.services.audit_log import list_entries, verify_log
from adapter.services.inspect import inspect_ledger, inspect_mapping
from adapter.services.sync import SyncOptions, read_batch, sync
from adapter.services.sync_undo import list_runs
from adapter.settings.environment import PASSPHRASE_ENV, backup_passphrase
from adapter.settings.practice import PracticeConfig, load_config

_BERLIN = ZoneInfo("Europe/Berlin")


def dispatch(name: str, args: argparse.Namespace) -> int:
    """Run the handler `name`. Errors reach `adapter.cli.run`, the one place that turns a
    `SubstregError` into one line and its exit status (what the database driver refuses
    the store has made one already)."""
    if name.startswith("handover_"):  # R-HO-1: its own module (fpdf2 for the PDF)
        from adapter.cli import handover  # noqa: PLC0415

        return handover.dispatch(name, args)
    handler = DESTRUCTIVE.get(name) or globals()[f"_{name}"]
    status: int = handler(args)
    return status


# -- handlers -----------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    settings, actor, now = context()
    result = setup.init(store(settings), settings, actor, now)
    sys.stdout.write(out.init_text(result, settings))
    if result.not_sealed:
        ids = ", ".join(result.not_sealed[:5]) + (" …" if len(result.not_sealed) > 5 else "")
        print(
            f"substreg: WARNING: {len(result.not_sealed)} report(s) carry no seal and are not "
            f"as the audit log recorded them, or were never recorded by it ({ids}): changed "
            "or added outside substreg, so init does not seal them. Run `substreg audit "
            'verify` and see the README ("a damaged row").',
            file=sys.stderr,
        )
        return 1
    return 0


def _sync(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    config = load_config(args.config) if args.config else PracticeConfig()
    mappings = load_mappings()
    batch = read_batch(args.paths, mappings)  # bad input stops here: nothing is written
    options = SyncOptions(
        as_of=args.as_of or today_in_berlin(),
        config=config,
        mappings=mappings,
        accept_corrections=args.accept_corrections,
        rebuild=args.rebuild,
        accept_mass_end=args.accept_mass_end,
    )
    result = sync(store(settings), actor, batch, options)
    out.write(out.sync_json(result) if args.format == "json" else out.sync_text(result))
    # A run refused as a whole (a mass end on a stale export, D-48) kept nothing: exit 1
    # (D-55), so that a nightly job does not pass it by; --fail-on as for derive (D-66).
    kept_nothing = result.run_id is None
    return EXIT_FOUND if kept_nothing or fails_on(args.fail_on, result.findings) else 0


def _forecast_stored(args: argparse.Namespace) -> int:
    """`forecast --stored`: what sync keeps, the ledger counted (D-190, D-226)."""
    from adapter.export.forecast import forecast_json, forecast_text  # noqa: PLC0415
    from adapter.services.forecast import stored_forecast  # noqa: PLC0415

    if args.paths:
        msg = "forecast --stored reads what sync keeps: give no PATH (sync it first)"
        raise UsageError(msg)
    settings, actor, _ = context()
    config = load_config(args.config) if args.config else PracticeConfig()
    as_of = args.as_of or today_in_berlin()
    found = stored_forecast(
        store(settings), actor, as_of=as_of, days=args.days, config=config, mappings=load_mappings()
    )
    out.write(forecast_json(found) if args.format == "json" else forecast_text(found))
    return 0


def _inventory(args: argparse.Namespace) -> int:
    """R-INV-1: the Inventur-Meldungen of a key date, recorded as pending."""
    settings, actor, _ = context()
    result = bulk_reports.inventory(
        store(settings), actor, key_date=args.key_date, today=today_in_berlin(), doctor=args.doctor
    )
    sys.stdout.write(output_bulk.inventory_text(result, args.key_date))
    return 0


def _reports_list(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    listing = report_service.list_reports(
        store(settings), actor, state=args.state, since=args.since, until=args.until
    )
    if args.format == "json":
        out.write(out.entries_json(listing.entries, listing.problems))
    else:
        out.write(out.entries_text(listing.entries, listing.problems, listing.deleted))
    return 0


def _reports_show(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    out.write(out.shown_json(report_service.show(store(settings), actor, args.ledger_id)))
    return 0


def _reports_decide(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    moved = report_service.decide(
        store(settings), actor, args.ledger_ids, args.decision, reason=args.reason
    )
    out.write(out.entries_text(moved))
    return 0


def _writable_file(path: Path, what: str, *, replace: bool = True) -> None:
    """Refuse a file that cannot be written before anything is read or audited; with
    `replace` False, also one that exists (an earlier export is a record too)."""
    parent = path.parent
    if not parent.is_dir():
        problem = f"{parent} is no directory"
    elif path.is_dir():
        problem = "it is a directory"
    elif not os.access(parent, os.W_OK | os.X_OK):
        problem = f"{parent} is not writable"
    elif path.exists() and not replace:
        problem = "it exists already; choose another file, or give --force to replace it"
    else:
        return
    msg = f"Cannot write the {what} {path}: {problem}"
    raise SetupError(msg)


def _ledger_export(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    # Before the audited read: a failed write is no export, an existing file stays.
    _writable_file(args.out, "export", replace=args.force)
    found = report_service.export_period(
        store(settings),
        actor,
        since=args.since,
        until=args.until,
        purpose=args.purpose,
        fmt=args.format,
    )
    write_export(found.rows, args.out, fmt=args.format, since=args.since, until=args.until)
    sys.stdout.write(f"{len(found.rows)} report(s) written to {args.out} ({args.format}).\n")
    warnings = care.export_warnings(found)
    for warning in warnings:
        print(f"substreg: WARNING: {warning}", file=sys.stderr)
    return 1 if warnings else 0


def _audit_verify(args: argparse.Namespace) -> int:
    settings, _, _ = context()
    found = verify_log(store(settings))
    sys.stdout.write(out.verification_text(found.log, found.ledger))
    return 0 if found.ok else 1


def _audit_list(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    entries = list_entries(store(settings), actor, action=args.action)
    out.write(out.audit_json(entries) if args.format == "json" else out.audit_text(entries))
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    settings, actor, now = context()
    result = setup.rotate(
        store(settings), settings, actor, now, args.purpose, migrate=not args.lazy
    )
    sys.stdout.write(out.rotation_text(result))
    return 0


def _keys_migrate(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    sys.stdout.write(out.rotation_text(setup.migrate_index(store(settings), settings, actor)))
    return 0


def _keys_status(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    sys.stdout.write(out.key_status_text(setup.status(store(settings), actor)))
    return 0


def _passphrase(confirm: bool) -> str:
    given = backup_passphrase()
    if given:
        return _long_enough(given)
    if not sys.stdin.isatty():
        msg = f"give the backup passphrase in {PASSPHRASE_ENV}, or run this at a terminal"
        raise SetupError(msg)
    first = getpass.getpass("Backup passphrase: ")
    if confirm and getpass.getpass("Again: ") != first:
        msg = "the two passphrases differ"
        raise SetupError(msg)
    return _long_enough(first)


def _long_enough(passphrase: str) -> str:
    # adapter.crypto treats a short passphrase as the caller's mistake (ValueError, a
    # traceback here); it is the person's, so it is refused in one line, counted as there.
    if len(unicodedata.normalize("NFC", passphrase)) < MIN_PASSPHRASE_LENGTH:
        msg = f"the backup passphrase needs at least {MIN_PASSPHRASE_LENGTH} characters"
        raise SetupError(msg)
    return passphrase


def _keys_backup(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    _writable_file(args.out, "keyring backup")
    path = setup.backup(store(settings), settings, actor, args.out, _passphrase(confirm=True))
    sys.stdout.write(out.backup_text(path))
    return 0


def _keys_restore(args: argparse.Namespace) -> int:
    settings, actor, now = context()
    count = setup.restore(
        store(settings), settings, actor, now, args.backup, passphrase=_passphrase(confirm=False)
    )
    sys.stdout.write(f"Restored {count} key(s) to {settings.keyring_path}.\n")
    return 0


def _lookup(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    matches = lookup_service.lookup(store(settings), actor, args.code, args.purpose, args.ticket)
    sys.stdout.write(out.matches_text(matches))
    return 0


def _duplicate_import(args: argparse.Namespace) -> int:
    return duplicate.dispatch("duplicate_import", args)


def _duplicate_resolve(args: argparse.Namespace) -> int:
    return duplicate.dispatch("duplicate_resolve", args)


def _duplicate_list(args: argparse.Namespace) -> int:
    return duplicate.dispatch("duplicate_list", args)


def _inspect(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    look = inspect_ledger if args.kind == "ledger" else inspect_mapping
    found = look(store(settings), actor, args.row_id)
    sys.stdout.write(care.inspection_text(found))
    return 1 if found.damaged else 0


def _runs_list(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    sys.stdout.write(care.runs_text(list_runs(store(settings), actor)))
    return 0
