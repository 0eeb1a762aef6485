"""What the stateful commands print: short tables for people, JSON for pipelines.

Sync and listings show our own ids, kinds, dates and states, never a patient code;
codes appear only where a person asked for them and it was audited (`reports show`,
`ledger export`, `lookup`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from adapter.domain.payload import report_json
from adapter.export.derivation import finding_json
from adapter.services.audit_log import AuditEntry
from adapter.services.lookup import Match
from adapter.services.reports import ShownReport
from adapter.services.setup import InitResult, KeyStatus, RotationResult
from adapter.services.sync import Recorded, SyncResult, pending_and_waived
from adapter.settings.environment import Settings
from adapter.store.audit import Verification
from adapter.store.ledger import Entry
from adapter.store.ledger_seal import LedgerCheck


def write(data: str | bytes) -> None:
    if isinstance(data, bytes):
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data)


def _json(document: object) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


# -- init ---------------------------------------------------------------------------------


def init_text(result: InitResult, settings: Settings) -> str:
    made = "created" if result.keyring_created else "kept (it existed)"
    lines = [
        f"Database schema at revision {result.revision}.",
        f"Keyring {made}: {result.keyring_path} (mode 600).",
        "Keys: " + ", ".join(result.key_ids),
    ]
    if result.keyring_created:
        lines.append(
            "Back the keyring up now (`substreg keys backup --out FILE`) and keep the copy "
            "offline: without it every stored patient code is lost."
        )
    return "\n".join(lines) + "\n"


# -- sync -----------------------------------------------------------------------------------


def sync_json(result: SyncResult) -> bytes:
    return _json(
        {
            "as_of": result.as_of.isoformat(),
            "resources": result.resources,
            "changed": result.changed,
            "patients_walked": result.walked,
            "patients_rederived": result.rebuilt,
            "recorded": [
                {
                    "ledger_id": r.ledger_id,
                    "kind": r.report.kind,
                    "made_on": r.report.made_on.isoformat(),
                    "date": r.report.date.isoformat(),
                    "doctor_btm": r.report.doctor.btm_number,
                    "rule": r.report.rule,
                    "origin": r.origin,
                }
                for r in result.recorded
            ],
            "superseded": result.superseded,
            "findings": [finding_json(f) for f in result.findings],
            "run_id": result.run_id,  # null: nothing of the run was kept (D-48)
        }
    )


def sync_text(result: SyncResult) -> str:
    waived = [r for r in result.recorded if r.origin == "waived"]
    pending = [r for r in result.recorded if r.origin != "waived"]
    lines = [
        f"Sync as of {result.as_of.isoformat()}: {result.resources} resources read, "
        f"{result.changed} new or changed; {result.walked} patients walked "
        f"({result.rebuilt} derived afresh).",
        f"Recorded {len(pending)} report(s) as pending"
        + (f", {result.superseded} marked superseded" if result.superseded else "")
        # A heading only over a table: none was recorded, the line says so and ends (D-250).
        + (":" if pending else "."),
        *_recorded_rows(pending),
    ]
    if waived:  # rejected as they are recorded: never to be approved or sent
        lines.append(f"Recorded {len(waived)} report(s) as waived (never sent; see the findings):")
        lines += _recorded_rows(waived)
    lines.append(f"Findings: {len(result.findings)}")
    lines += [f"  {f.severity:<7} {f.rule:<9} {f.message}" for f in result.findings]
    if result.run_id is None:
        lines.append("Nothing was kept of this run (see the error above).")
        return "\n".join(lines) + "\n"
    lines.append(f"Run {result.run_id} (`substreg runs undo` takes it back while unsent).")
    lines.append("Next: `substreg reports list --state pending`, then approve or reject.")
    return "\n".join(lines) + "\n"


def _recorded_rows(recorded: Sequence[Recorded]) -> list[str]:
    rows = [
        (
            r.ledger_id,
            r.report.kind,
            r.report.made_on.isoformat(),
            r.report.date.isoformat(),
            r.report.doctor.btm_number or "–",
            r.report.rule + ("" if r.origin in ("derived", "waived") else f" ({r.origin})"),
        )
        for r in recorded
    ]
    if not rows:
        return []
    header = ("ledger id", "kind", "made on", "date", "doctor", "rule")
    return ["  " + line for line in table(header, rows)]


def recorded_summary(recorded: Sequence[Recorded]) -> str:
    """How many reports a sync recorded as pending, and the waived ones apart (never sent)."""
    pending, waived = pending_and_waived(recorded)
    text = f"Recorded {pending} report(s) as pending"
    return text + (f" and {waived} as waived (never sent)" if waived else "")


# -- ledger ---------------------------------------------------------------------------------


def _entry_json(entry: Entry, problem: str | None = None) -> dict[str, Any]:
    return {
        "ledger_id": entry.ledger_id,
        "state": entry.state,
        "kind": entry.kind,
        "made_on": entry.made_on.isoformat(),
        "date": entry.report_date.isoformat(),
        "doctor_btm": entry.doctor_btm,
        "rule": entry.rule,
        "origin": entry.origin,
        "superseded": entry.superseded,
        "mapping_id": entry.mapping_id,
        "integrity": problem,  # null: as substreg wrote it and the audit log recorded it
    }


def entries_json(entries: list[Entry], problems: Mapping[str, str] | None = None) -> bytes:
    found = problems or {}
    return _json({"reports": [_entry_json(e, found.get(e.ledger_id)) for e in entries]})


def entries_text(
    entries: list[Entry],
    problems: Mapping[str, str] | None = None,
    deleted: Sequence[str] = (),
) -> str:
    """The rows as a table; one that fails its check is marked VERÄNDERT (D-44), and rows
    the audit log recorded but the ledger lacks are named below it."""
    found = problems or {}
    rows = [
        (
            e.ledger_id,
            e.state
            + (" (superseded)" if e.superseded else "")
            + (" VERÄNDERT" if e.ledger_id in found else ""),
            e.kind,
            e.made_on.isoformat(),
            e.report_date.isoformat(),
            e.doctor_btm,
            e.rule + ("" if e.origin == "derived" else f" ({e.origin})"),
        )
        for e in entries
    ]
    header = ("ledger id", "state", "kind", "made on", "date", "doctor", "rule")
    lines = [f"{len(rows)} report(s)", *table(header, rows)]
    if found:
        lines.append(
            f"VERÄNDERT: {len(found)} report(s) fail their integrity check (changed outside "
            "substreg): run `substreg audit verify`."
        )
    if deleted:
        lines.append(
            f"Missing: {len(deleted)} report(s) the audit log recorded were deleted from the "
            f"ledger ({', '.join(deleted[:5])}{' …' if len(deleted) > 5 else ''})."
        )
    return "\n".join(lines) + "\n"


def shown_json(shown: ShownReport) -> bytes:
    return _json(
        {
            **_entry_json(shown.entry),
            "payload": report_json(shown.report) if shown.report else None,
            "shredded": shown.report is None,
            "note": shown.note,
        }
    )


# -- audit and keys -------------------------------------------------------------------------


def verification_text(result: Verification, ledger: LedgerCheck) -> str:
    lines = [
        f"Audit log: {result.entries} entries, {result.checkpoints} signed checkpoints.",
        f"Head: entry {result.head_seq}, hash {result.head_hash} "
        "(keep this line elsewhere to detect a truncated log).",
        f"Ledger: {ledger.rows} report(s) checked against their seals and the log.",
    ]
    problems = [*result.problems, *ledger.problems]
    if not problems:
        lines.append(
            "OK: the chain is whole, every checkpoint's signature is valid, and every "
            "report is as the log recorded it."
        )
    lines += [f"PROBLEM: {p}" for p in problems]
    return "\n".join(lines) + "\n"


def _audit_entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "mapping_id": entry.mapping_id,
        "ledger_id": entry.ledger_id,
        "purpose": entry.purpose,
        "ticket": entry.ticket,
        "details": entry.details,
    }


def audit_json(entries: list[AuditEntry]) -> bytes:
    return _json({"entries": [_audit_entry_json(e) for e in entries]})


def audit_text(entries: list[AuditEntry]) -> str:
    rows = [
        (
            str(e.seq),
            e.at.strftime("%Y-%m-%d %H:%M"),
            e.actor,
            e.action,
            e.ledger_id or e.mapping_id or "–",
            e.purpose or "",
        )
        for e in entries
    ]
    header = ("seq", "at (UTC)", "actor", "action", "ledger / mapping id", "purpose")
    return "\n".join([f"{len(rows)} entries", *table(header, rows)]) + "\n"


def rotation_text(result: RotationResult) -> str:
    lines = [f"Active {result.purpose} key: {result.new_key_id}."]
    if result.rewrapped:
        lines.append(f"{result.rewrapped} data key(s) wrapped again; ciphertexts unchanged.")
    if result.reindexed:
        lines.append(f"{result.reindexed} mapping row(s) re-indexed.")
    if result.retired and result.purpose == "audit":
        lines.append(
            "Retired: " + ", ".join(result.retired) + " signs nothing new; its public key "
            "stays in the key registry, so the checkpoints it signed still verify."
        )
    if result.purpose == "audit":  # the handover document key derives from it (D-160)
        lines.append(
            "Handover documents are signed under a new key from now on (`handover export` "
            "prints its fingerprint); those exported before still verify under the old one "
            "and are still known here as this installation's own (D-230)."
        )
    elif result.retired:
        lines.append("Retired (no row uses them): " + ", ".join(result.retired) + ".")
    if result.purpose == "index" and not result.retired:
        lines.append("The old index key stays decrypt-only while rows use it (`keys status`).")
    lines.append("Back the keyring up again (`substreg keys backup --out FILE`).")
    return "\n".join(lines) + "\n"


def key_status_text(keys: list[KeyStatus]) -> str:
    rows = [(k.key_id, k.purpose, str(k.version), k.state, str(k.rows), _of(k)) for k in keys]
    header = ("key id", "purpose", "version", "state", "rows", "of them")
    return "\n".join(table(header, rows)) + "\n"


def _of(key: KeyStatus) -> str:
    """An index key's rows by kind: the marks of shredded treatments hold it too (D-150)."""
    if key.index_rows is None:
        return ""
    patients, pushed, marks = key.index_rows
    return f"{patients} patients, {pushed} pushed resources, {marks} retention marks"


def backup_text(path: object) -> str:
    return (
        f"Keyring backup written to {path} (encrypted under the passphrase). Keep it offline; "
        "restore with `substreg keys restore FILE`.\n"
    )


# -- lookup and retention -------------------------------------------------------------------


def matches_text(matches: list[Match]) -> str:
    if not matches:
        return "No local patient was reported under this code.\n"
    lines = [f"{len(matches)} local patient(s) reported under this code (audited):"]
    for m in matches:
        reference = m.reference.split("|")
        lines.append(
            f"  {reference[-1] and 'Patient/' + reference[-1]} at {reference[1]}: mapping "
            f"{m.mapping_id}, {'in treatment' if m.status == 'active' else m.status}, "
            f"first reported start {m.first_use or '–'}, last reported end "
            f"{m.last_use or '–'}, {len(m.reports)} report(s)"
        )
    return "\n".join(lines) + "\n"
