"""`POST /submissions` behind the HTTP layer (docs/SUBMISSION.md "The register's wire
protocol"): an envelope in, an answer out.

    400  no or a malformed Idempotency-Key, not application/pkcs7-mime, an envelope that
         does not open or whose signature does not verify, or a sender whose certificate
         is not the one first seen for its BtM number (trust on first use, D-101)
    409  the idempotency key was used for another envelope
    422  the payload is not a valid batch, or not the batch the key names
    200  the signed receipt: each report accepted or rejected (`intake.take_batch`); the
         same key with the same envelope gives the same receipt document, byte for byte

Everything of one submission is written in one transaction, and submissions are taken
one at a time (a lock; the envelope is opened before it): a batch is registered once or
not at all. Logs name the batch and counts, never a report's content.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from adapter.crypto.envelope import certificate_fingerprint, open_envelope
from adapter.crypto.envelope.receipt import sign_receipt
from adapter.domain.batch import Batch, batch_from_bytes
from adapter.domain.codes import is_patient_code
from adapter.domain.duplicate_notice import DuplicateNotice
from adapter.domain.model import RegisterDoctor
from adapter.domain.payload import report_bytes
from adapter.domain.receipt import Receipt
from adapter.errors import BatchError, EnvelopeError
from adapter.registersim.identity import RegisterIdentity
from adapter.registersim.intake import take_batch
from adapter.registersim.letters import NO_NAME, write_letters
from adapter.registersim.state import Books, RegisterState, StoredSubmission

__all__ = ["ENVELOPE_TYPE", "Answer", "Office"]

ENVELOPE_TYPE = "application/pkcs7-mime"
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # a batch id (adapter/domain/batch.py)
_BERLIN = ZoneInfo("Europe/Berlin")  # the register's day
_log = logging.getLogger("substreg.registersim")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def refusal(status: int, reason: str) -> Answer:
    """An answer with body {"reason": …}."""
    return Answer(status, orjson.dumps({"reason": reason}))


class Office:
    """Takes submissions for one simulator: its identity, its state, its clock."""

    def __init__(
        self,
        identity: RegisterIdentity,
        state: RegisterState,
        clock: Callable[[], datetime],
        letters: Path | None = None,
    ) -> None:
        self.identity = identity
        self.state = state
        self.clock = clock
        self.letters = letters  # where the duplicate letters go (D-172); None: nowhere
        self._one_at_a_time = threading.Lock()

    def submit(self, key: str | None, content_type: str | None, envelope: bytes) -> Answer:
        """The answer to `POST /submissions`."""
        refused = _header_refusal(key, content_type)
        if refused is not None or key is None:
            return refused or refusal(400, "Idempotency-Key missing")
        digest = hashlib.sha256(envelope).hexdigest()
        again = self._again(key, digest, self.state.submission(key))
        if again is not None:
            return again
        opened = self._open(key, envelope)
        if isinstance(opened, Answer):
            return opened
        batch, signer = opened
        with self._one_at_a_time:
            return self._register(key, digest, batch, signer)

    def _open(self, key: str, envelope: bytes) -> tuple[Batch, str] | Answer:
        """The batch in the envelope and its signer's fingerprint, or the refusal."""
        try:
            opened = open_envelope(envelope, key=self.identity.key)
        except EnvelopeError as exc:
            _log.info("submission %s refused: 400 (envelope)", key)
            return refusal(400, f"The envelope cannot be opened: {exc}")
        try:
            batch = batch_from_bytes(opened.payload)
        except BatchError as exc:
            _log.info("submission %s refused: 422 (batch)", key)
            return refusal(422, f"Not a valid batch: {exc}")
        if batch.batch_id != key:
            _log.info("submission %s refused: 422 (key is not the batch id)", key)
            return refusal(422, "The Idempotency-Key is not the id of the batch in the envelope.")
        return batch, certificate_fingerprint(opened.signer)

    def _register(self, key: str, digest: str, batch: Batch, signer: str) -> Answer:
        now = self.clock()
        with self.state.transaction(now) as books:
            again = self._again(key, digest, books.submission(key))  # sent twice at once
            if again is not None:
                return again
            trusted = books.sender_certificate(batch.sender_btm_number)
            if trusted is not None and trusted != signer:
                _log.info("submission %s refused: 400 (not the sender's certificate)", key)
                return refusal(
                    400,
                    f"The envelope is signed with a certificate (sha256 {signer}) other than "
                    f"the one first seen for BtM number {batch.sender_btm_number} (sha256 "
                    f"{trusted}); the simulator trusts a sender's first certificate only.",
                )
            if trusted is None:
                books.trust_sender(batch.sender_btm_number, signer)
            document, letters = self._take(books, key, digest, batch, now)
        if self.letters is not None:  # once the batch is kept: a letter of what was taken
            write_letters(self.letters, letters)
        return Answer(200, document)

    def _take(
        self, books: Books, key: str, digest: str, batch: Batch, now: datetime
    ) -> tuple[bytes, list[DuplicateNotice]]:
        books.keep_doctor(batch.sender_btm_number, _contact(batch.reports[0].doctor))
        codes = {r.patient_code for r in batch.reports if is_patient_code(r.patient_code)}
        holdings = books.load(
            {self.identity.cryptogram(code) for code in codes}, {r.id for r in batch.reports}
        )
        intake = take_batch(
            batch,
            holdings,
            today=self.today(now),
            cryptogram=self.identity.cryptogram,
            content_mac=lambda report: self.identity.mac(report_bytes(report)),
        )
        books.apply(batch.batch_id, holdings.changes, intake.taken)
        receipt = Receipt(
            batch_id=batch.batch_id,
            envelope_sha256=digest,
            received_at=now,
            results=tuple(intake.results),
            notices=tuple(intake.notices),
        )
        document = sign_receipt(receipt, self.identity.key)
        books.keep_submission(key, digest, batch.sender_btm_number, document)
        accepted = sum(result.status == "accepted" for result in intake.results)
        _log.info(
            "submission %s: %d accepted, %d rejected, %d notice(s)",
            key,
            accepted,
            len(intake.results) - accepted,
            len(intake.notices),
        )
        return document, intake.letters

    def _again(self, key: str, digest: str, stored: StoredSubmission | None) -> Answer | None:
        if stored is None:
            return None
        if stored.envelope_sha256 != digest:
            _log.info("submission %s refused: 409 (key used for another envelope)", key)
            return refusal(409, f"The Idempotency-Key {key} was used for another envelope before.")
        _log.info("submission %s: the same envelope again, the same receipt", key)
        return Answer(200, stored.receipt)

    @staticmethod
    def today(now: datetime) -> date:
        """The register's day at `now` (Europe/Berlin)."""
        return now.astimezone(_BERLIN).date()


def _header_refusal(key: str | None, content_type: str | None) -> Answer | None:
    if key is None or not _KEY.fullmatch(key):
        _log.info("submission refused: 400 (no usable Idempotency-Key)")
        return refusal(400, "Idempotency-Key: the batch id (1 to 64 of A-Z a-z 0-9 . _ -)")
    if (content_type or "").split(";")[0].strip().lower() != ENVELOPE_TYPE:
        _log.info("submission %s refused: 400 (content type)", key)
        return refusal(400, f"Content-Type must be {ENVELOPE_TYPE} (authEnveloped-data)")
    return None


def _contact(doctor: RegisterDoctor) -> str:
    """The doctor's name, address and phone, as a duplicate notice gives them (004 §10)."""
    name = " ".join(part for part in (doctor.given_name, doctor.family_name) if part)
    # The name always first, so that a letter tells it from the address (D-251).
    parts = [name or NO_NAME]
    if doctor.address is not None:
        place = " ".join(p for p in (doctor.address.postal_code, doctor.address.city) if p)
        parts += [*doctor.address.line, place] if place else list(doctor.address.line)
    if doctor.phone:
        parts.append(f"Tel. {doctor.phone}")
    return ", ".join(parts)
