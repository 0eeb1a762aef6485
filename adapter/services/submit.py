"""`substreg submit`: the approved reports that are due, sealed into the outbox per doctor
(docs/SUBMISSION.md "The path of a report", step 1).

In one transaction: the reports' payloads are opened, each doctor's reports become a
batch (adapter/domain/submission.py), each batch is signed with the practice's key and
encrypted to the register's pinned certificate, stored with its envelope, and its reports
move `approved → queued`. Nothing is sent before that transaction commits. An
Inventur-Meldung whose patient's single reports up to its key date the register has not had
yet stays approved, with a note, until they were sent (D-196): it is sealed by a later
`submit`.

Fail closed: the signer's key and certificate and the register's certificate are checked
before anything is sealed, and every payload must open. When one cannot be used nothing is
batched, the reports stay approved, and the reason is written on each of them (their
note) and in the audit log; `SubmissionRefused` then says it in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from adapter.crypto.envelope import (
    Certificate,
    Recipient,
    Signer,
    check_recipient,
    load_certificate,
    load_private_key,
    seal,
    signer,
    valid_at,
)
from adapter.domain.batch import Batch, batch_bytes
from adapter.domain.bulk import INVENTORY, inventory_waits_for
from adapter.domain.model import Report
from adapter.domain.submission import Waiting, batch_id, due_today, plan_batches
from adapter.errors import (
    BatchError,
    CryptoError,
    KeyMaterialError,
    RecipientCertificateError,
    StoreError,
    SubmissionRefused,
    SubstregError,
)
from adapter.services.inventory_rests import listed
from adapter.store.audit import Actor
from adapter.store.ledger_entry import Entry
from adapter.store.outbox import OutboxBatch
from adapter.store.workspace import Store, Workspace

BERLIN = ZoneInfo("Europe/Berlin")
HELD_MARK = "Held back (D-196)"  # how a held report's note begins
HELD_NOTE = HELD_MARK + (
    ": an Inventur-Meldung goes to the register only after the reports of "
    "its patient up to its key date, lest the register refuse their Anmeldung as a second "
    "one (R-EP-4). Waiting for: {ids}. `substreg submit` seals it once they were sent."
)


@dataclass(frozen=True, slots=True)
class Sealing:
    """What sealing needs, as the configuration names it; the files are read when used."""

    signer_key: Path
    signer_certificate: Path
    register_certificate: Path
    pinned_sha256: str | None  # [register] certificate_sha256
    passphrase: str | None  # of an encrypted signer key
    transport: str  # the name stored with each batch
    max_reports: int = 200
    bundle_weekdays: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SealingKeys:
    signer: Signer
    recipient: Recipient


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What `submit` sealed: its batches, or why the approved reports still wait."""

    batches: list[OutboxBatch]
    waiting: int  # approved reports not sealed (not a bundle day)
    today: str  # the weekday in Berlin
    due: bool
    held: tuple[str, ...] = ()  # approved inventory reports held back (D-196), ledger ids
    released: tuple[str, ...] = ()  # of those held, sealed later in the same run (D-232)


def sealing_keys(sealing: Sealing, now: datetime) -> SealingKeys:
    """The signer and the register's certificate, checked (fail closed); SubmissionRefused
    naming what cannot be used otherwise."""
    key = _read(sealing.signer_key, "signer", "the signer key")
    own = _certificate(sealing.signer_certificate, "signer", "the signer certificate")
    try:
        practice = signer(load_private_key(key, passphrase=_bytes(sealing.passphrase)), own)
    except KeyMaterialError as exc:
        raise SubmissionRefused(str(exc), reason="signer") from None
    if not valid_at(practice.certificate, now):
        msg = f"the signer certificate {sealing.signer_certificate} is not valid now: renew it"
        raise SubmissionRefused(msg, reason="signer_expired")
    return SealingKeys(practice, register_recipient(sealing, now))


def register_recipient(sealing: Sealing, now: datetime) -> Recipient:
    """The register's certificate, once it is the pinned one, valid now and fit (D-72)."""
    certificate = _certificate(sealing.register_certificate, "register", "the register certificate")
    try:
        return check_recipient(certificate, now=now, pinned_sha256=sealing.pinned_sha256)
    except RecipientCertificateError as exc:
        raise SubmissionRefused(str(exc), reason=exc.reason) from None


def _read(path: Path, reason: str, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        msg = f"{what} {path} cannot be read ({exc.strerror or type(exc).__name__})"
        raise SubmissionRefused(msg, reason=reason) from None


def _certificate(path: Path, reason: str, what: str) -> Certificate:
    data = _read(path, reason, what)
    try:
        return load_certificate(data, what=f"{what} {path}")
    except KeyMaterialError as exc:
        raise SubmissionRefused(str(exc), reason=reason) from None


def _bytes(text: str | None) -> bytes | None:
    return text.encode() if text else None


def submit(
    store: Store, actor: Actor, sealing: Sealing, *, held_only: bool = False
) -> SubmitResult:
    """Seal the approved reports that are due into the outbox (one transaction), or
    refuse: then nothing is batched and the reason is on each report. `held_only`: only
    the inventory reports an earlier `submit` held back (D-196), now that the reports they
    waited for may have been sent (D-232: the same run's delivery, a worker's round)."""
    try:
        return store.run(actor, lambda space: _seal_due(space, actor, sealing, held_only))
    except SubmissionRefused as refused:
        reason = refused

        def note(space: Workspace) -> None:
            _note_refusal(space, actor, sealing, reason)

        store.run(actor, note)
        raise


def _seal_due(
    space: Workspace, actor: Actor, sealing: Sealing, held_only: bool = False
) -> SubmitResult:
    today = space.now.astimezone(BERLIN).date()
    entries = space.ledger.entries(state="approved")
    if held_only:
        entries = [e for e in entries if e.kind == INVENTORY and _was_held(space, e)]
    weekday = f"{today:%A}".lower()
    due = due_today(today, sealing.bundle_weekdays)
    if not entries or not due:
        return SubmitResult([], len(entries), weekday, due)
    entries, held = _hold_inventories(space, entries)
    if not entries:
        return SubmitResult([], 0, weekday, due=True, held=held)
    keys = sealing_keys(sealing, space.now)
    waiting = [Waiting(e.ledger_id, e.doctor_btm) for e in entries]
    sealed = []
    for planned in plan_batches(waiting, max_reports=sealing.max_reports):
        reports = [payload_of(space, ledger_id) for ledger_id in planned.ledger_ids]
        ids = list(planned.ledger_ids)
        batch = seal_batch(
            space,
            actor,
            keys=keys,
            transport=sealing.transport,
            doctor_btm=planned.doctor_btm,
            reports=reports,
            ledger_ids=ids,
        )
        for ledger_id in planned.ledger_ids:
            space.ledger.move(ledger_id, "queued")
        sealed.append(batch)
    return SubmitResult(sealed, 0, weekday, due=True, held=held)


def _hold_inventories(
    space: Workspace, approved: list[Entry]
) -> tuple[list[Entry], tuple[str, ...]]:
    """D-196: the approved reports that go now, and the inventory reports held back (each
    with a note naming what it waits for, written once)."""
    waiting = inventories_waiting(space, approved)
    going: list[Entry] = []
    held: list[str] = []
    for entry in approved:
        waits = waiting.get(entry.ledger_id)
        if not waits:
            going.append(entry)
            continue
        held.append(entry.ledger_id)
        _note_once(space, entry, HELD_NOTE.format(ids=", ".join(waits)))
    return going, tuple(held)


def inventories_waiting(space: Workspace, entries: list[Entry]) -> dict[str, tuple[str, ...]]:
    """D-196: of `entries`, each inventory report that may not be sealed yet, with the
    single reports it waits for; `submit` and `outbox resend` both ask this."""
    if not any(e.kind == INVENTORY for e in entries):
        return {}
    ledger = [listed(e) for e in space.ledger.entries()]
    found = {e.ledger_id: inventory_waits_for(listed(e), ledger) for e in entries}
    return {ledger_id: waits for ledger_id, waits in found.items() if waits}


def _was_held(space: Workspace, entry: Entry) -> bool:
    """Whether a `submit` held this approved inventory report back (its note says so):
    a person asked for it to be sent, and only D-196 kept it."""
    return HELD_MARK in (space.ledger.note(entry) or "")


def _note_once(space: Workspace, entry: Entry, line: str) -> None:
    """Add `line` to the report's note unless it says so already."""
    if line not in (space.ledger.note(entry) or ""):
        space.ledger.annotate(entry.ledger_id, line)


def seal_batch(
    space: Workspace,
    actor: Actor,
    *,
    keys: SealingKeys,
    transport: str,
    doctor_btm: str,
    reports: list[Report],
    ledger_ids: list[str],
    replaces: str | None = None,
) -> OutboxBatch:
    """One doctor's reports as a batch, signed, encrypted and stored in the outbox (audited)."""
    created = space.now
    identifier = batch_id(doctor_btm, created, ledger_ids, replaces=replaces or "")
    try:
        batch = Batch(identifier, doctor_btm, created, tuple(reports))
    except BatchError as exc:
        raise SubmissionRefused(str(exc), reason="batch") from None
    envelope = seal(
        batch_bytes(batch), signer=keys.signer, recipient=keys.recipient, signing_time=created
    )
    stored = space.outbox.add(
        batch_id=identifier,
        doctor_btm=doctor_btm,
        transport=transport,
        envelope=envelope,
        created_at=created,
        reports=[(ledger_id, r.id) for ledger_id, r in zip(ledger_ids, reports, strict=True)],
        replaces=replaces,
    )
    details = {"batch_id": identifier, "reports": len(reports), "transport": transport}
    space.audit.append(actor, "outbox.sealed", details=details | _replacing(replaces))
    return stored


def _replacing(replaces: str | None) -> dict[str, object]:
    return {"replaces": replaces} if replaces else {}


def payload_of(space: Workspace, ledger_id: str) -> Report:
    """A report's payload as recorded; SubmissionRefused when it cannot be opened."""
    try:
        entry = space.ledger.entry(ledger_id)
        space.ledger.require_intact(entry, chained=True)
        return space.ledger.payload(entry)
    except (StoreError, CryptoError) as exc:
        msg = f"the payload of report {ledger_id} cannot be opened: {exc}"
        raise SubmissionRefused(msg, reason="payload") from None


def _note_refusal(
    space: Workspace, actor: Actor, sealing: Sealing, refused: SubmissionRefused
) -> None:
    """The reason on each approved report that was due, and in the audit log. A report
    whose note cannot be written (its own data key is the problem) is counted."""
    entries = space.ledger.entries(state="approved")
    line = f"Not sent on {space.now.astimezone(BERLIN):%Y-%m-%d %H:%M %Z}: {refused}"
    unwritten = 0
    for entry in entries:
        try:
            space.ledger.annotate(entry.ledger_id, line)
        except SubstregError:
            unwritten += 1
    details: dict[str, object] = {"reason": refused.reason, "reports": len(entries)}
    if unwritten:
        details["notes_not_written"] = unwritten
    space.audit.append(actor, "submit.refused", details=details | {"transport": sealing.transport})
