"""`substreg duplicate import|resolve NOTICE`: the register's duplicate notice (004 §10).

The notice file is read and checked here, before the store is opened: a notice that is
not one is one line on stderr, exit 2, and nothing is looked up, audited or stored. What
is printed names the local patient as `lookup` does (an audited re-identification), never
the code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from adapter.cli import output as out
from adapter.cli.context import context, store, today_in_berlin
from adapter.cli.exits import EXIT_FOUND
from adapter.cli.output_duplicates import BERLIN, notices_text
from adapter.domain.duplicate_notice import DuplicateNotice, parse_notice, refuse_letter_to_come
from adapter.errors import NoticeError
from adapter.services.duplicate_letters import list_notices, notices_json
from adapter.services.duplicates import Examined, Found, Resolution, examine, resolve

MAX_NOTICE_BYTES = 64 * 1024  # a letter typed in, a few doctors: far less


def dispatch(name: str, args: argparse.Namespace) -> int:
    """Run `duplicate import`, `resolve` or `list`; errors reach `adapter.cli.run`."""
    if name == "duplicate_list":
        return _list(args)
    notice = read_notice(args.notice)
    refuse_letter_to_come(notice, today_in_berlin())  # before the store is opened
    if name == "duplicate_import":
        return _import(notice, args)
    return _resolve(notice, args)


def read_notice(path: Path) -> DuplicateNotice:
    """The notice in `path`, checked whole (D-170)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_NOTICE_BYTES + 1)
    except OSError as exc:
        msg = f"cannot read the duplicate notice {path}: {exc.strerror or exc}"
        raise NoticeError(msg) from None
    if len(data) > MAX_NOTICE_BYTES:
        msg = f"the duplicate notice {path} is larger than {MAX_NOTICE_BYTES} bytes"
        raise NoticeError(msg)
    return parse_notice(data)


def _import(notice: DuplicateNotice, args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    examined = examine(store(settings), actor, notice, args.ticket, today=today_in_berlin())
    out.write(found_text(notice, examined.found, args.notice) + kept_line(examined))
    return 0 if examined.found else EXIT_FOUND


def _list(args: argparse.Namespace) -> int:
    settings, _, _ = context()
    notices = list_notices(store(settings))
    if args.format == "json":
        out.write(orjson.dumps(notices_json(notices), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        out.write(notices_text(notices))
    return 0


def kept_line(examined: Examined) -> str:
    """Whether the notice was stored now or before (D-233: once per letter)."""
    kept = examined.kept
    if examined.new:
        return f"Kept as notice {kept.notice_id} (open; `substreg duplicate list`).\n"
    state = f"answered --continues {kept.answer}" if kept.answer else "open"
    received = kept.received_at.astimezone(BERLIN).date().isoformat()
    return (
        f"This notice was imported before (notice {kept.notice_id}, {received}, {state}); "
        "nothing new was stored.\n"
    )


def _resolve(notice: DuplicateNotice, args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    done = resolve(
        store(settings),
        actor,
        notice,
        args.continues,
        today=today_in_berlin(),
        ticket=args.ticket,
        mapping_id=args.mapping,
        last_use=args.last_use,
        continuing_btm=args.by,
    )
    out.write(resolution_text(done))
    return 0


def found_text(notice: DuplicateNotice, found: list[Found], path: Path) -> str:
    head = (
        f"Duplicate notice {notice.reference} of {notice.letter_date.isoformat()} to doctor "
        f"{notice.doctor_btm_number} (the lookup is audited)."
    )
    if not found:
        return f"{head}\nNo local patient was reported under the notice's code.\n"
    lines = [head, f"{len(found)} local patient(s) reported under the notice's code:"]
    for item in found:
        reference = item.match.reference.split("|")
        lines.append(
            f"  Patient/{reference[-1]} at {reference[1]}: mapping {item.match.mapping_id}"
        )
        lines.append(f"    {_registration_line(item, notice.doctor_btm_number)}")
    lines.append("The register names:")
    lines.extend(
        f"  {o.name}{f', BtM-Nr. {o.btm_number}' if o.btm_number else ''}, {o.contact}; "
        f"first use {o.first_use.isoformat()}"
        for o in notice.other_doctors
    )
    lines += [
        "Clear with them whether the code is one patient, then record the result:",
        f"  substreg duplicate resolve {path} --continues us",
        f"  substreg duplicate resolve {path} --continues other --last-use YYYY-MM-DD",
        f"  substreg duplicate resolve {path} --continues different-people",
    ]
    return "\n".join(lines) + "\n"


def _registration_line(item: Found, doctor: str) -> str:
    registration = item.registration
    if registration is None:
        return f"no Anmeldung of doctor {doctor} under this code in the ledger"
    blanket = registration.ended_by_blanket
    status = "open" if registration.open else "ended"
    if blanket is not None and not registration.open:
        status = f"ended by the Pauschalabmeldung of {blanket.day.isoformat()} ({blanket.state})"
    return (
        f"Anmeldung of doctor {doctor} since {registration.first_use.isoformat()}: "
        f"{status} (report {registration.ledger_id}, {registration.state})"
    )


def resolution_text(done: Resolution) -> str:
    report = done.report
    what = f"{report.kind.capitalize()} dated {report.date.isoformat()} ({report.rule})"
    if done.ledger_id is None:
        return f"This answer was recorded before ({what}); nothing new.\n"
    return (
        f"Recorded {what} for mapping {done.mapping_id} as report {done.ledger_id}, "
        "pending, origin agreement. Approve it (`substreg reports approve "
        f"{done.ledger_id}`), then `substreg submit`.\n"
    )
