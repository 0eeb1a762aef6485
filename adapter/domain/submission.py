"""Submitting approved reports to the register (docs/SUBMISSION.md): which go now and in
which batches, under which id, what the register's receipt means for each report, and
when a delivery that failed for now is tried again.

    due_today       every day, or only on the practice's two bundle weekdays (R-DATE-4)
    plan_batches    one doctor's reports per batch (R-EP-1, D-74), at most N each
    batch_id        stable, unique, ASCII: the idempotency key and the file name
    read_receipt    accepted → acknowledged, rejected → rejected (the register's reason),
                    missing → stays sent, with an error finding
    next_attempt    exponential backoff with jitter, a cap, then `failed`
    ledger_path     the ledger moves that bring a report to where its batch went

Pure: the day, the time and the random draw of the jitter come in as arguments.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal

from adapter.domain.ledger import TRANSITIONS, State
from adapter.domain.model import Finding
from adapter.domain.receipt import Receipt

WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# -- what goes now, in which batches ---------------------------------------------------------


def due_today(today: date, bundle_weekdays: Sequence[str]) -> bool:
    """Whether approved reports go out today: every day when no bundle weekdays are set
    ("unverzüglich"), else only on those days (R-DATE-4, 004 §2.2)."""
    unknown = [day for day in bundle_weekdays if day not in WEEKDAYS]
    if unknown:
        msg = f"not a weekday: {unknown[0]!r}"
        raise ValueError(msg)
    return not bundle_weekdays or WEEKDAYS[today.weekday()] in bundle_weekdays


@dataclass(frozen=True, slots=True)
class Waiting:
    """An approved report waiting to go: its ledger id and its doctor's BtM number."""

    ledger_id: str
    doctor_btm: str


@dataclass(frozen=True, slots=True)
class Planned:
    """One batch to seal: a doctor's reports, in the order of the ledger."""

    doctor_btm: str
    ledger_ids: tuple[str, ...]


def plan_batches(waiting: Iterable[Waiting], *, max_reports: int) -> list[Planned]:
    """The batches of the waiting reports: per doctor (a doctor's key signs only their own
    reports), doctors by BtM number, each doctor's reports in the order given and cut
    into batches of at most `max_reports`. A report given twice goes once."""
    if max_reports < 1:
        msg = "max_reports must be at least 1"
        raise ValueError(msg)
    by_doctor: dict[str, list[str]] = {}
    seen: set[str] = set()
    for report in waiting:
        if report.ledger_id not in seen:
            seen.add(report.ledger_id)
            by_doctor.setdefault(report.doctor_btm, []).append(report.ledger_id)
    return [
        Planned(doctor, tuple(ids[start : start + max_reports]))
        for doctor, ids in sorted(by_doctor.items())
        for start in range(0, len(ids), max_reports)
    ]


def batch_id(
    doctor_btm: str, created_at: datetime, ledger_ids: Sequence[str], *, replaces: str = ""
) -> str:
    """The id of a batch: `sr-<BtM>-<UTC time>-<16 hex>`, the hex a SHA-256 over the time,
    the ledger ids in order and the batch it replaces (a resend). The same batch gets the
    same id; another set of reports, another time or a resend another one. ASCII, at most
    44 characters: the register's idempotency key and the envelope's file name."""
    if created_at.utcoffset() is None:
        msg = "created_at must be an aware datetime"
        raise ValueError(msg)
    moment = created_at.astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256(
        "\n".join((moment.isoformat(), replaces, *ledger_ids)).encode()
    ).hexdigest()
    return f"sr-{doctor_btm}-{stamp}-{digest[:16]}"


# -- what the receipt means ----------------------------------------------------------------

Outcome = Literal["acknowledged", "rejected", "missing"]


@dataclass(frozen=True, slots=True)
class Item:
    """A report of a batch: its ledger id and its id in the batch (the receipt's)."""

    ledger_id: str
    report_id: str


@dataclass(frozen=True, slots=True)
class Reading:
    """What a verified receipt says of each report of the batch, by ledger id, and the
    findings it gives (missing or contradictory results, notices)."""

    outcomes: dict[str, tuple[Outcome, str | None]]  # ledger id → (outcome, register's reason)
    findings: tuple[Finding, ...]


def read_receipt(receipt: Receipt, batch: str, items: Sequence[Item]) -> Reading:
    """Each report of the batch: `acknowledged` when the register accepted it, `rejected`
    with its reason, `missing` (it stays sent, an `error` finding) when the receipt says
    nothing of it or says two things. Results for reports the batch did not hold and the
    register's notices are findings too; no finding repeats the register's free text."""
    by_id: dict[str, list[tuple[str, str | None]]] = {}
    for result in receipt.results:
        by_id.setdefault(result.report_id, []).append((result.status, result.reason))
    outcomes: dict[str, tuple[Outcome, str | None]] = {}
    findings: list[Finding] = []
    for item in items:
        said = set(by_id.get(item.report_id, ()))
        if len(said) == 1:
            status, reason = said.pop()
            outcomes[item.ledger_id] = (
                ("acknowledged", None) if status == "accepted" else ("rejected", reason)
            )
            continue
        outcomes[item.ledger_id] = ("missing", None)
        findings.append(_missing(batch, item, contradictory=len(said) > 1))
    held = {item.report_id for item in items}
    findings += [_stranger(batch, report_id) for report_id in by_id if report_id not in held]
    ledger_of = {item.report_id: item.ledger_id for item in items}
    findings += [
        _notice(batch, notice.kind, ledger_of.get(notice.report_id, notice.report_id))
        for notice in receipt.notices
    ]
    return Reading(outcomes, tuple(findings))


def _missing(batch: str, item: Item, *, contradictory: bool) -> Finding:
    said = "says two different things of" if contradictory else "says nothing of"
    return Finding(
        "error",
        "R-CH-2",
        f"The register's receipt for batch {batch} {said} report {item.ledger_id}: it stays "
        "sent, without proof that the register took it. Ask the register about it "
        f"(`substreg outbox show {batch}`).",
        (item.ledger_id,),
    )


def _stranger(batch: str, report_id: str) -> Finding:
    return Finding(
        "warning",
        "R-CH-2",
        f"The register's receipt for batch {batch} names a report {report_id} that the batch "
        "did not hold; it is kept with the receipt and changes nothing.",
        (report_id,),
    )


def _notice(batch: str, kind: str, subject: str) -> Finding:
    if kind == "duplicate":
        text = (
            f"The register reports a duplicate for report {subject} (batch {batch}): the same "
            "code is registered by another doctor too (004 §10). Its letter follows; "
            f"`substreg outbox show {batch}` shows the notice, `substreg lookup` the patients."
        )
        return Finding("warning", "R-CODE-9", text, (subject,))
    return Finding(
        "warning",
        "R-CH-2",
        f"The register sent a notice ({kind}) for report {subject} (batch {batch}): "
        f"`substreg outbox show {batch}` shows it.",
        (subject,),
    )


# -- trying again -----------------------------------------------------------------------------

RETRY_AFTER_LIMIT: Final = 86_400.0  # a Retry-After longer than a day is taken as a day


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: `initial` seconds after the first failed delivery, doubling,
    never more than `maximum`; each wait stretched by up to `jitter` of itself (so workers
    that failed together do not all come back together); `attempts` deliveries in all,
    then the batch has `failed` (`substreg outbox retry` starts it again)."""

    initial: float = 30.0
    maximum: float = 3600.0
    attempts: int = 10
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum):
            msg = "0 < initial <= maximum is needed"
            raise ValueError(msg)
        if self.attempts < 1 or not (0 <= self.jitter <= 1):
            msg = "attempts >= 1 and 0 <= jitter <= 1 are needed"
            raise ValueError(msg)


def next_attempt(
    policy: RetryPolicy,
    *,
    failures: int,
    now: datetime,
    draw: float,
    retry_after: float | None = None,
) -> datetime | None:
    """When to deliver again after `failures` failed deliveries (1, 2, …), `draw` a
    random number in [0, 1); None when `failures` used up the attempts (`failed`). The
    register's `retry_after` (seconds) is honoured: never sooner, up to a day."""
    if failures < 1 or not (0 <= draw < 1):
        msg = "failures >= 1 and 0 <= draw < 1 are needed"
        raise ValueError(msg)
    if failures >= policy.attempts:
        return None
    base = min(policy.maximum, policy.initial * math.pow(2, min(failures - 1, 64)))
    wait = min(policy.maximum, base * (1 + policy.jitter * draw))
    if retry_after is not None and retry_after > 0:
        wait = max(wait, min(retry_after, RETRY_AFTER_LIMIT))
    return now + timedelta(seconds=wait)


# -- the batch's states, and the ledger moves that follow them -------------------------------

BatchState = Literal["sealed", "sending", "sent", "acknowledged", "rejected", "failed"]
BATCH_STATES: Final[tuple[BatchState, ...]] = (
    "sealed",
    "sending",
    "sent",
    "acknowledged",
    "rejected",
    "failed",
)
# sealed: stored, not yet sent; sending: claimed by a worker until its lease ends (a lease
# that ended is claimed again); sent: delivered without receipt (folder, paper), or with a
# receipt that did not verify (asked again); failed: attempts used up (`outbox retry`).
BATCH_TRANSITIONS: Final[dict[BatchState, tuple[BatchState, ...]]] = {
    "sealed": ("sending",),
    "sending": ("sending", "sealed", "sent", "acknowledged", "rejected", "failed"),
    "sent": ("sending",),
    "acknowledged": (),
    "rejected": (),
    "failed": ("sealed",),
}


def batch_move_problem(current: str, new: str) -> str | None:
    """Why a batch in state `current` cannot become `new`, or None when it can."""
    allowed = BATCH_TRANSITIONS.get(current)  # type: ignore[call-overload]
    if allowed is None:
        return f"its state '{current}' is unknown"
    if new in allowed:
        return None
    if not allowed:
        return f"it is {current}, which is final"
    return f"it is {current}; from there it can only become {' or '.join(allowed)}"


def ledger_path(current: str, target: State) -> tuple[State, ...] | None:
    """The ledger moves, in order, that bring a report from `current` to `target` (none
    when it is there); None when the ledger allows no way (a final state)."""
    if current == target:
        return ()
    paths: deque[tuple[str, tuple[State, ...]]] = deque([(current, ())])
    seen = {current}
    while paths:
        state, path = paths.popleft()
        for following in TRANSITIONS.get(state, ()):  # type: ignore[call-overload]
            if following == target:
                return (*path, following)
            if following not in seen:
                seen.add(following)
                paths.append((following, (*path, following)))
    return None
