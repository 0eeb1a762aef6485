"""What `submit` and `outbox` print: batch ids, states, counts, times and the worker's
outcomes; no code and no name. `outbox show` prints the register's receipt as received
(it may quote a code: the command is audited) and its reason for a refusal."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import orjson

from adapter.cli.output import table
from adapter.export.derivation import finding_json
from adapter.services.outbox import ShownBatch
from adapter.services.submit import SubmitResult
from adapter.services.worker_record import Outcome
from adapter.store.outbox import OutboxBatch


def _json(document: object) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def json_line(document: object) -> bytes:
    """One JSON object on one line (the worker's outcomes, as they come)."""
    return orjson.dumps(document) + b"\n"


def write_bytes(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _short(moment: datetime | None) -> str:
    """A time in UTC, as the table shows it (`Z`: UTC)."""
    return f"{moment:%Y-%m-%d %H:%M:%S}Z" if moment is not None else "–"


# -- submit -------------------------------------------------------------------------------


def submit_text(result: SubmitResult | None, outcomes: list[Outcome]) -> str:
    lines = [] if result is None else _sealed_lines(result)
    lines += [outcome_line(o) for o in outcomes]
    if result is not None and not outcomes and result.batches:
        lines.append("Nothing delivered yet: the batches wait for a worker.")
    for outcome in outcomes:
        lines += [f"  {f.severity}: {f.message}" for f in outcome.findings]
    return "\n".join(lines) + "\n" if lines else ""


def _sealed_lines(result: SubmitResult) -> list[str]:
    if not result.due:
        return [
            f"Today ({result.today}) is not a bundle weekday of the practice (R-DATE-4): "
            f"{result.waiting} approved report(s) wait for the next one."
        ]
    lines = _held_lines(result.held)
    if not result.batches:
        return lines or ["No approved report waits to be sent."]
    lines += [f"Sealed {len(result.batches)} batch(es) into the outbox:"]
    rows = [(b.batch_id, b.doctor_btm, str(b.report_count), b.transport) for b in result.batches]
    lines += ["  " + line for line in table(("batch", "doctor", "reports", "transport"), rows)]
    if result.released:  # said of the batches above, so after them (D-250)
        lines.append(
            f"Of these, {len(result.released)} Inventur-Meldung(en) were sealed only after the "
            "reports they confirm had been delivered earlier in this run (D-196)."
        )
    return lines


def _held_lines(held: tuple[str, ...]) -> list[str]:
    """D-196: the inventory reports that wait for their patients' single reports."""
    if not held:
        return []
    return [
        f"Held back {len(held)} Inventur-Meldung(en) until the register has the reports of "
        "their patients up to the key date (D-196; `substreg reports show ID` names them); "
        "a worker (`submit --worker`) or the next `substreg submit` seals them once those "
        "were sent: " + ", ".join(held)
    ]


def outcome_line(outcome: Outcome) -> str:
    return f"{outcome.batch_id}: {outcome.state} – {outcome.note}"


def released_text(freed: SubmitResult) -> str:
    """A worker sealed held inventory reports that its pass freed (D-232)."""
    count = sum(b.report_count for b in freed.batches)
    ids = ", ".join(b.batch_id for b in freed.batches)
    return (
        f"Sealed {count} held Inventur-Meldung(en) as {ids}: the reports they confirm were "
        "delivered (D-196); delivered next.\n"
    )


def submit_json(result: SubmitResult | None, outcomes: list[Outcome]) -> bytes:
    document: dict[str, Any] = {"outcomes": [outcome_json(o) for o in outcomes]}
    if result is not None:
        document |= {
            "due": result.due,
            "today": result.today,
            "waiting": result.waiting,
            "held": list(result.held),
            "released": list(result.released),
            "sealed": [batch_json(b) for b in result.batches],
        }
    return _json(document)


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "batch_id": outcome.batch_id,
        "state": outcome.state,
        "reports": outcome.reports,
        "note": outcome.note,
        "next_attempt_at": _time(outcome.next_attempt_at),
        "findings": [finding_json(f) for f in outcome.findings],
    }


# -- outbox list | show -------------------------------------------------------------------


def batch_json(batch: OutboxBatch) -> dict[str, Any]:
    return {
        "batch_id": batch.batch_id,
        "doctor_btm": batch.doctor_btm,
        "transport": batch.transport,
        "state": batch.state,
        "reports": batch.report_count,
        "attempts": batch.attempts,
        "envelope_sha256": batch.envelope_sha256,
        "created_at": _time(batch.created_at),
        "next_attempt_at": _time(batch.next_attempt_at),
        "sent_at": _time(batch.sent_at),
        "acknowledged_at": _time(batch.acknowledged_at),
        "receipt_received_at": _time(batch.received_at),
        "receipt_sha256": batch.receipt_sha256,
        "proof": batch.proof,
        "last_error": batch.last_error,
        "claimed_by": batch.claimed_by,
        "lease_until": _time(batch.lease_until),
        "replaces": batch.replaces,
        "replaced_by": batch.replaced_by,
    }


def batches_json(batches: list[OutboxBatch]) -> bytes:
    return _json({"batches": [batch_json(b) for b in batches]})


def batches_text(batches: list[OutboxBatch]) -> str:
    if not batches:
        return "The outbox is empty.\n"
    rows = [
        (
            b.batch_id,
            b.state + (" (replaced)" if b.replaced_by else ""),
            b.doctor_btm,
            str(b.report_count),
            b.transport,
            str(b.attempts),
            _short(b.next_attempt_at if b.state in ("sealed", "sent") else None),
            _short(b.sent_at),
            _short(b.received_at),
        )
        for b in batches
    ]
    # "delivered": the attempt the transport saw through (an HTTP answer, a file written, a
    # form printed); an earlier attempt whose answer was lost may be the one the register
    # took, whose own time is the receipt's (D-185).
    header = (
        "batch",
        "state",
        "doctor",
        "reports",
        "via",
        "failed",
        "next",
        "delivered",
        "receipt",
    )
    return "\n".join(table(header, rows)) + "\n"


def shown_json(shown: ShownBatch) -> bytes:
    receipt = orjson.loads(shown.receipt) if shown.receipt is not None else None
    return _json(
        batch_json(shown.batch)
        | {
            "reports": [
                {
                    "position": item.position,
                    "ledger_id": item.ledger_id,
                    "report_id": item.report_id,
                    "result": item.result,
                    "ledger_state": state,
                }
                for item, state in shown.reports
            ],
            "register_reason": shown.reason,
            "receipt": receipt,  # the document as received, parsed
        }
    )


def shown_text(shown: ShownBatch) -> str:
    b = shown.batch
    lines = [
        f"Batch {b.batch_id}: {b.state}, {b.report_count} report(s) of doctor {b.doctor_btm} "
        f"via {b.transport}.",
        f"  created {_short(b.created_at)}; delivered {_short(b.sent_at)} (the attempt the "
        f"transport saw through, after {b.attempts} failed attempt(s)); the register's receipt "
        f"dated {_short(b.received_at)}",
        f"  envelope sha256 {b.envelope_sha256}",
    ]
    extra = [
        ("proof", b.proof),
        ("next attempt", _short(b.next_attempt_at) if b.next_attempt_at else None),
        ("last error", b.last_error),
        ("the register's reason", shown.reason),
        ("receipt sha256", b.receipt_sha256),
        ("replaces", b.replaces),
        ("replaced by", b.replaced_by),
    ]
    lines += [f"  {name}: {value}" for name, value in extra if value]
    rows = [
        (str(i.position), i.ledger_id, i.report_id, i.result or "–", state)
        for i, state in shown.reports
    ]
    header = ("#", "ledger id", "report id", "receipt", "ledger state")
    lines += ["  " + line for line in table(header, rows)]
    if shown.receipt is not None:
        lines += ["The register's receipt, as received:", shown.receipt.decode()]
    return "\n".join(lines) + "\n"
