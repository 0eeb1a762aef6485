"""The handlers of `substreg handover` (arguments: `adapter.cli.handover_arguments`): each
calls one use case of `adapter.services.handover` and prints what it did. The document and
its PDF name the patient: they are written mode 0600, and never printed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adapter.cli.context import context, store, today_in_berlin
from adapter.domain.handover import Handover, Step, doctor_label
from adapter.errors import HandoverRefused, InputError
from adapter.export.handover_pdf import handover_pdf
from adapter.services import handover as service
from adapter.settings.files import write_private_together


def dispatch(name: str, args: argparse.Namespace) -> int:
    """Run the handler `name` (errors become one line in `adapter.cli.run`)."""
    handlers = {
        "handover_export": _export,
        "handover_import": _import,
        "handover_list": _list,
        "handover_release": _release,
        "handover_return": _release,
    }
    return handlers[name](args)


def _export(args: argparse.Namespace) -> int:
    _folder(args.out)
    settings, actor, _ = context()
    done = service.export_handover(
        store(settings),
        actor,
        args.patient,
        receiver=args.to,
        sender=args.sender,
        day=args.on or today_in_berlin(),
        deliver=lambda exported: _write_both(args.out, exported),
    )
    json_path, pdf_path = _paths(args.out, done)
    for warning in done.warnings:  # the document is written: a warning, not a refusal
        sys.stderr.write(f"warning: {warning}\n")
    sys.stdout.write(
        f"Handover document: {json_path}\nReadable copy (PDF): {pdf_path}\n"
        f"Signed by the key with fingerprint {done.signer}\n"
        "Give the receiving facility this fingerprint by another way than the file (phone, "
        "letter): it imports with --trust '<fingerprint>'.\n"
        f"{_status(done.handover)}"
    )
    return 0


def _paths(out: Path, done: service.Exported) -> tuple[Path, Path]:
    stem = out / f"handover-{done.handover.document_id}"
    return stem.with_suffix(".json"), stem.with_suffix(".pdf")


def _write_both(out: Path, done: service.Exported) -> None:
    """The signed JSON and its PDF, both or neither (a failure or Ctrl-C leaves no file),
    in the unit of work that audits the export, which a failure here rolls back."""
    json_path, pdf_path = _paths(out, done)
    pdf = handover_pdf(done.handover, done.steps)
    write_private_together({json_path: done.document, pdf_path: pdf})


def _folder(out: Path) -> None:
    """`--out`: a missing folder is made, readable by its owner only (the files name the
    person, D-163); a file of that name is refused."""
    if out.exists() and not out.is_dir():
        msg = f"--out {out} is no directory"
        raise HandoverRefused(msg)
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"--out {out} cannot be made: {exc.strerror}"
        raise HandoverRefused(msg) from None


def _import(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        msg = f"Cannot read the handover document {args.file}: {exc.strerror}"
        raise InputError(msg) from None
    settings, actor, _ = context()
    done = service.import_handover(store(settings), actor, data, args.trust)
    kept = (
        "Registration recorded: a second Anmeldung under its code is held back while it is "
        f"open (R-EP-5); `substreg handover release {done.handover.document_id}` ends that."
        if done.recorded
        else "Nothing new recorded (no open registration, or this document came before)."
    )
    if done.ended is not None:
        kept = (
            f"This document was imported before and is {done.ended.state} here (since "
            f"{done.ended.ended_on.isoformat()}): nothing new recorded, and what it said "
            "follows no more"
            + (
                "; a newer copy of its registration holds instead (`substreg handover list`)."
                if done.ended.state == "replaced"
                else "."
            )
        )
    if done.replaced:
        kept += (
            f"\nA handover of this registration was already open ({done.replaced}): this "
            "newer copy replaces it, so one hold stands (D-201)."
        )
    if done.withdrawn:
        kept += (
            f"\nWithdrawn {len(done.withdrawn)} unsent report(s) recorded here before the import "
            "(held back by this handover, R-HO-1): the next sync holds them with a finding "
            "(D-216)."
        )
    if done.sent:
        kept += (
            f"\nReport(s) {', '.join(done.sent)} under its code were queued or sent already "
            "and cannot be taken back: the register will report a duplicate; agree with the "
            "sending doctor (004 §10)."
        )
    follows = f"What follows:\n{_steps(done.steps)}" if done.steps else ""
    sys.stdout.write(
        f"Handover {done.handover.document_id} from {sender_named(done.handover)}, signed by "
        f"{done.signer}: signature verified.\n{_status(done.handover)}{kept}\n{follows}"
    )
    return 0


def sender_named(handover: Handover) -> str:
    """The sending facility in an English sentence: its name as the document gives it, in
    quotes (a German name stays German), or that it gave none."""
    if handover.sender == service.UNNAMED_SENDER:
        return f'a sending facility that gave no name ("{service.UNNAMED_SENDER}" in the document)'
    return f'"{handover.sender}"'


def _status(handover: Handover) -> str:
    return _treatment(handover) + _register(handover)


def _treatment(h: Handover) -> str:
    days = _doses(h) if h.substance else "no substitution open"
    consultant = f"; consulting doctor {doctor_label(h.consultant)}" if h.consultant else ""
    return f"Current treatment: {h.substance or '-'}, {days}{consultant}.\n"


def _doses(h: Handover) -> str:
    """What is known of the doses: the last one, and the day they cover up to."""
    last = f"last dose {h.last_dose.isoformat()}" if h.last_dose else "no dose recorded"
    if h.covered_until is None:
        return f"{last} (no open treatment phase: how far the doses reach is not known)"
    return f"{last}, doses until {h.covered_until.isoformat()}"


def _register(handover: Handover) -> str:
    reg = handover.registration
    if reg is None and handover.ended_by_blanket is not None:
        blanket = handover.ended_by_blanket
        return (
            "Register status: no open registration: ended by the Pauschalabmeldung of "
            f"{blanket.day.isoformat()} ({blanket.state}; R-PAU-1).\n"
        )
    if reg is None:
        return "Register status: no open registration.\n"
    unsent = ""
    if reg.unsent_abmeldung is not None:  # D-256: not at the register yet, so still open
        unsent = (
            f"; Abmeldung of {reg.unsent_abmeldung.isoformat()} recorded but not yet sent "
            f"({reg.unsent_abmeldung_state}): the register still holds the registration"
        )
    return (
        f"Register status: registered by {doctor_label(reg.doctor)} since "
        f"{reg.since.isoformat()} ({reg.substance}; Anmeldung {reg.state}){unsent}.\n"
    )


def _steps(steps: tuple[Step, ...]) -> str:
    return "".join(f"  - {step.text}\n" for step in steps)


def _list(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    found = service.list_handovers(store(settings), actor)
    if not found:
        sys.stdout.write("No handover received.\n")
        return 0
    lines = [
        "handover                              state     day         received    ended on    "
        "registered by                 signer                 from"
    ]
    for h in found:
        ended = h.released_on.isoformat() if h.released_on else "-"
        holder = f"BtM {h.doctor_btm or 'unknown'} since {h.since.isoformat()}"
        received = h.received_at.astimezone(service.BERLIN).date()  # as `ended on` is
        lines.append(
            f"{h.handover_id}  {h.state:<8}  {h.day.isoformat()}  "
            f"{received.isoformat()}  {ended:<10}  {holder:<28}  "
            f"{h.signer[:19]} …  {_listed_sender(h.sender)}"
        )
    sys.stdout.write(
        "\n".join(lines) + "\n(day: the handover day; ended on: the day it was released, "
        "the patient returned, or a newer copy replaced it)\n"
    )
    return 0


def _listed_sender(sender: str | None) -> str:
    """The sending facility as the document named it; older rows kept none (D-247)."""
    if sender is None:
        return "- (not kept by an older version)"
    if sender == service.UNNAMED_SENDER:
        return "- (no name given)"
    return sender


def _release(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    on = args.on or today_in_berlin()
    how = "released" if args.handler == "handover_release" else "returned"
    on = service.end_handover(store(settings), actor, args.handover_id, how, on)
    follows = (
        "the next sync records the Anmeldung it held back, if the data still calls for it"
        if how == "released"
        else "the next sync records the reports of the stay here as waived (never sent)"
    )
    sys.stdout.write(f"Handover {args.handover_id} {how} as of {on.isoformat()}: {follows}.\n")
    return 0
