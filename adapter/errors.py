"""Every error substreg raises on purpose, drawn as one tree.

    SubstregError                   base: one line for a person, and an exit status
    ├── UsageError                  the input, configuration or mapping data cannot be used
    │   ├── InputError              a file or folder given as input (missing, not JSON/XML), or
    │   │   │                       an output file that cannot be written
    │   │   ├── BatchError          a submission batch that is not one (fields, BtM number)
    │   │   └── NoticeError         a duplicate notice of the register that is not one (D-170)
    │   │       └── NoLocalPatient  no local patient has the notice's code (HTTP 404)
    │   ├── ConfigError             practice.toml
    │   ├── FhirRequestError        a FHIR REST request that cannot be done as asked (its HTTP
    │   │                           status and OperationOutcome issues: adapter/api/fhir)
    │   └── MappingError            a mapping file (substances, products, codes, names)
    │       └── CodeTableError      codes.json (format, PZN check digit, ASK number)
    ├── RefusedError                a command refuses to run as asked; nothing was changed
    │   ├── SetupError              init, keys rotate / backup / restore
    │   ├── SyncError               a day before the last sync, after the data's newest …
    │   ├── RetentionError          a period under a year, a day still to come
    │   ├── UndoError               runs that were sent, or are not the newest
    │   ├── BulkReportError         an inventory or blanket deregistration: a day to come, a
    │   │                           doctor the ledger has no report of
    │   ├── LookupRefused           a re-identification without purpose, rate-limited …
    │   ├── NoticeAnswered          a duplicate notice answered otherwise already (409, D-204)
    │   ├── HandoverRefused         a handover: no such patient, document or open handover
    │   │   ├── HandoverUnknown     no such patient, or no open handover of that id (404)
    │   │   ├── HandoverInvalid     not a handover document, or changed after signing (422)
    │   │   └── HandoverUntrusted   signed by a key not trusted here (422)
    │   ├── NotConfirmed            a destructive command a person did not confirm
    │   ├── SubmissionRefused       submit, fail closed: a key, a certificate, a payload
    │   └── AccessError             a service request without credentials, or a role too low
    │       ├── NotAuthenticated    no credentials, or none that are valid (HTTP 401)
    │       └── Forbidden           valid credentials, a role not allowed here (HTTP 403)
    ├── CryptoError                 what adapter.crypto refuses or cannot do
    │   ├── KeyringError            the keyring file or backup is missing, unreadable, insecure
    │   ├── UnknownKeyError         a key id or version the keyring does not hold
    │   ├── DecryptionError         authentication failed: wrong key, or altered data
    │   └── EnvelopeError           a CMS envelope cannot be sealed or opened (crypto.envelope)
    │       ├── KeyMaterialError    a key or certificate: unreadable, wrong kind or size, no pair
    │       ├── RecipientCertificateError  the register's certificate is refused before sealing
    │       ├── MalformedEnvelopeError     not CMS AuthEnvelopedData / SignedData as we read them
    │       ├── NotForRecipientError       addressed to another certificate than the one given
    │       ├── EnvelopeDecryptionError    does not authenticate: altered (also a DecryptionError)
    │       ├── SignatureError      the signature does not verify (exit 1)
    │       └── ReceiptError        the register's receipt: not one, not this batch's, unsigned
    ├── TransportError              a sealed batch could not be handed over (adapter.transport)
    │   ├── TransientTransportError try again with the same bytes (refused, timeout, 429, 5xx)
    │   └── PermanentTransportError the register refused the batch as a whole (its reason)
    ├── SourceError                 the FHIR server read from (pull, bulk import, id-only
    │   │                           notifications): unreachable, refusing, after the retries
    │   └── SourceAuthError         its authorisation: the token endpoint refused, no token
    └── StoreError                  the database and what it holds
        ├── DatabaseError           cannot be opened, or not at this program's schema
        ├── AuditLogMissingError    the audit log is empty in a database that holds data
        ├── LedgerError             an unknown report, a state move not allowed
        │   └── UnknownReportError  no report with this id (HTTP 404)
        ├── OutboxError             an unknown batch, a batch move not allowed (retry, resend)
        │   └── UnknownBatchError   no batch with this id (HTTP 404)
        ├── RegistryError           the service's tenants and API keys: unknown, already there
        │   └── UnknownApiKeyError  no API key with this id (of this tenant: HTTP 404)
        ├── LedgerIntegrityError    a ledger row does not match its seal
        ├── ConcurrentUpdateError   other runs changed the same rows (retried, then said)
        ├── ShreddedError           a row's data key was destroyed by retention
        ├── StoredFormatError       stored rows of a format this version does not read
        ├── StoredRecordsError      stored records that cannot be read back
        └── DamagedDataError        rows refer to data the database does not hold
            └── DamagedRowError     a sealed field fails authentication (also a DecryptionError)

The command line catches `SubstregError` in one place and prints `substreg: <message>`
on one line with the error's `exit_status` (2: a person can fix it; 1: an envelope was read and
is not authentic, see adapter/cli).
Messages are sentences that name the file, row or key and the fix; they never carry a
secret, a plaintext, a patient id, a code or a name (PRIVACY.md T2). Outcomes that are
expected (a resource that cannot be read, a report not yet due) are findings or return
values, not exceptions; mistakes of the calling code stay ValueError / TypeError.
"""

from __future__ import annotations

__all__ = [
    "AccessError",
    "AuditLogMissingError",
    "BatchError",
    "BulkReportError",
    "CodeTableError",
    "ConcurrentUpdateError",
    "ConfigError",
    "CryptoError",
    "DamagedDataError",
    "DamagedRowError",
    "DatabaseError",
    "DecryptionError",
    "EnvelopeDecryptionError",
    "EnvelopeError",
    "FhirRequestError",
    "Forbidden",
    "HandoverInvalid",
    "HandoverRefused",
    "HandoverUnknown",
    "HandoverUntrusted",
    "InputError",
    "KeyMaterialError",
    "KeyringError",
    "LedgerError",
    "LedgerIntegrityError",
    "LookupRefused",
    "MalformedEnvelopeError",
    "MappingError",
    "NoLocalPatient",
    "NotAuthenticated",
    "NotConfirmed",
    "NotForRecipientError",
    "NoticeAnswered",
    "NoticeError",
    "OutboxError",
    "PermanentTransportError",
    "ReceiptError",
    "RecipientCertificateError",
    "RefusedError",
    "RegistryError",
    "RetentionError",
    "SetupError",
    "ShreddedError",
    "SignatureError",
    "SourceAuthError",
    "SourceError",
    "StoreError",
    "StoredFormatError",
    "StoredRecordsError",
    "SubmissionRefused",
    "SubstregError",
    "SyncError",
    "TransientTransportError",
    "TransportError",
    "UndoError",
    "UnknownApiKeyError",
    "UnknownBatchError",
    "UnknownKeyError",
    "UnknownReportError",
    "UsageError",
]


class SubstregError(Exception):
    """Base of every error substreg raises on purpose."""

    exit_status = 2  # a person can fix it: the input, a setting, a key, a confirmation


# -- the input, the configuration, the mapping data -----------------------------------


class UsageError(SubstregError):
    """What the command was given cannot be used."""


class InputError(UsageError):
    """The input cannot be used at all (missing file, not JSON or XML, not FHIR), or an
    output file cannot be written."""


class BatchError(InputError):
    """A submission batch (adapter/domain/batch.py) is malformed; the message names the field."""


class NoticeError(InputError):
    """A duplicate notice (adapter/domain/duplicates.py) is malformed, or cannot be answered
    as asked; the message names the field, never the code. `field` is the path of the
    field in the notice's JSON (`other_doctors[0].first_use`) when one is wrong, which the
    HTTP edge answers as the issue's expression (422). `service` is the same refusal worded
    by the request's JSON fields where the message names a command-line flag."""

    def __init__(
        self, message: str, *, field: str | None = None, service: str | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.service = service


class NoLocalPatient(NoticeError):
    """No local patient was reported under a duplicate notice's code (HTTP 404)."""


class ConfigError(UsageError):
    """The configuration file is missing or wrong; the message says where."""


class FhirRequestError(UsageError):
    """A FHIR REST request (`/fhir`) that cannot be done as asked: unreadable, invalid, an
    unknown resource, a stale version. It carries the HTTP status and one issue per problem
    (FHIR IssueType code, a sentence, the FHIRPath of the element or None), which the HTTP
    edge answers as an OperationOutcome. Messages name the resource by type and our ids,
    never a value of it."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        issues: list[tuple[str, str, str | None]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.issues: list[tuple[str, str, str | None]] = (
            issues if issues is not None else [("processing", message, None)]
        )


class MappingError(UsageError):
    """A mapping file is missing, unreadable or malformed; the message names file and key."""


class CodeTableError(MappingError):
    """codes.json is malformed; the message names the file and the key."""


# -- a command that refuses to run as asked ---------------------------------------------


class RefusedError(SubstregError):
    """A command refuses to run as asked; nothing was changed."""


class SetupError(RefusedError):
    """A setup step cannot be done; the message says why and what to do."""


class SyncError(RefusedError):
    """The sync cannot run as asked (a day before the last sync, or one the data cannot
    mean); nothing was written. `service` is the same refusal worded for the service's
    callers, who pass no command-line flag (the HTTP edge and its findings show it)."""

    def __init__(self, message: str, *, service: str | None = None) -> None:
        super().__init__(message)
        self.service = service


class RetentionError(RefusedError):
    """Retention cannot run as asked (a period under a year, a day still to come)."""


class UndoError(RefusedError):
    """The runs cannot be undone as asked; nothing was changed."""


class BulkReportError(RefusedError):
    """An inventory report or a blanket deregistration cannot be made as asked (R-INV-1,
    R-PAU-1); nothing was written."""


class LookupRefused(RefusedError):
    """A re-identification was refused (no purpose, a malformed code, too many)."""


class NoticeAnswered(RefusedError):
    """A duplicate notice was answered differently already, and that report stands (HTTP
    409, D-204); nothing was recorded."""


class HandoverRefused(RefusedError):
    """A handover was refused: no such patient, or a document that is not one, was
    changed after signing, or comes from a signer not trusted here (nothing stored)."""


class HandoverUnknown(HandoverRefused):
    """No patient of this installation has the reference given, or no open handover has
    the id given (HTTP 404)."""


class HandoverInvalid(HandoverRefused):
    """The document is not a handover document, or was changed after signing (HTTP 422)."""


class HandoverUntrusted(HandoverRefused):
    """The document's signer is not among the fingerprints trusted (HTTP 422, D-193)."""


class HandoverDayError(HandoverRefused):
    """An `on` day a handover cannot be told on: one still to come, one before the handover
    day, a return after day 30 (R-ABS-1, R-ABS-3), or an export on a day before the
    synced data's (HTTP 422 with the expression `on`, D-244); nothing changed."""

    field = "on"


class NotConfirmed(RefusedError):
    """A destructive command was not confirmed; nothing was changed."""


class SubmissionRefused(RefusedError):
    """`submit` stopped before anything was batched, fail closed: the signer's key or
    certificate, the register's certificate or a report's payload cannot be used. Nothing
    was sealed or sent; the reports stay approved, the reason written on each of them and
    in the audit log. `reason` is a short word for the audit log (`expired`, `signer` …)."""

    def __init__(self, message: str, *, reason: str = "refused") -> None:
        super().__init__(message)
        self.reason = reason


class AccessError(RefusedError):
    """A request to the service (adapter/api) is refused before anything is read:
    `status` is the HTTP status it answers with. Messages never name a key or token."""

    status = 403


class NotAuthenticated(AccessError):
    """No credentials, or an API key or bearer token that is not valid (unknown, revoked,
    expired, not signed by the configured issuer)."""

    status = 401


class Forbidden(AccessError):
    """Valid credentials whose role may not do this (a staff key approving a report)."""

    status = 403


# -- keys and encryption (adapter.crypto) ------------------------------------------------


class CryptoError(SubstregError):
    """Base of every error adapter.crypto raises on purpose."""


class KeyringError(CryptoError):
    """The keyring (file, backup or in memory) cannot be used; the message says why and the fix."""


class UnknownKeyError(CryptoError):
    """A key id or version is not in the keyring, or the key was destroyed."""


class DecryptionError(CryptoError):
    """Authentication failed: nothing was decrypted, not even in part."""


class EnvelopeError(CryptoError):
    """A CMS envelope for the register (PRIVACY.md "Envelope for submissions") cannot be
    sealed or opened; the message says what is wrong in one line."""


class KeyMaterialError(EnvelopeError):
    """A private key or certificate cannot be used: unreadable, not PEM or DER, a wrong
    passphrase, an algorithm or size BSI TR-02102-1 does not allow, or key and certificate
    that are not one pair."""


class RecipientCertificateError(EnvelopeError):
    """The register's certificate is refused before anything is sealed (fail closed): not
    the pinned one, outside its validity period, without keyEncipherment, not RSA ≥ 3000
    bits. `reason` is a short word for the ledger (`unpinned`, `expired` …)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class MalformedEnvelopeError(EnvelopeError):
    """Not a CMS AuthEnvelopedData around a SignedData of the algorithms we accept."""


class NotForRecipientError(EnvelopeError):
    """The envelope is addressed to another certificate than the one given to open it."""


class EnvelopeDecryptionError(EnvelopeError, DecryptionError):
    """The envelope does not authenticate (key unwrap or AES-GCM tag): it was altered.
    Nothing of it was decrypted."""

    exit_status = 1  # the envelope was read, and it is not what was sealed


class SignatureError(EnvelopeError):
    """The signature of the SignedData does not verify against the signer's certificate, or
    uses an algorithm that is not accepted. The payload is not given out."""

    exit_status = 1  # the envelope was read, and its signature is not valid


class ReceiptError(EnvelopeError):
    """The register's receipt is not a receipt, is not for this batch, or its signature
    does not verify: it is not stored, and the batch is asked for again."""


# -- the store ------------------------------------------------------------------------------


class TransportError(SubstregError):
    """A sealed batch could not be handed over; messages never carry a code or a name."""


class TransientTransportError(TransportError):
    """Try again later with the same bytes: refused connection, timeout, 429, 5xx.
    `retry_after`: the seconds the other side asked to wait, when it said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentTransportError(TransportError):
    """The other side refused the batch as a whole and will refuse it again (400, 409,
    422): `reason` is its words, shown on each report of the batch."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourceError(SubstregError):
    """The FHIR server data is read from (`pull`, `import --server`, an id-only notification)
    cannot be reached, refuses, or answers what cannot be used, after the retries. Nothing
    of the page in hand was kept; the checkpoints stand where the last synced page left them."""


class SourceAuthError(SourceError):
    """The FHIR server's authorisation: the token endpoint refused the client's assertion,
    or the server refused the token; or the key or token file cannot be used."""


class StoreError(SubstregError):
    """The database, or what it holds, cannot be used as asked."""


class DatabaseError(StoreError):
    """The database cannot be opened or is not at the schema this program needs."""


class AuditLogMissingError(StoreError):
    """The audit log is empty while the database holds keys, mappings, reports or runs: it
    was deleted outside substreg, and nothing is read or written until it is restored."""


class LedgerError(StoreError):
    """A ledger operation cannot be done (unknown id, a state move that is not allowed)."""


class UnknownReportError(LedgerError):
    """The ledger holds no report with this id (of this practice)."""


class OutboxError(StoreError):
    """An outbox operation cannot be done: an unknown batch, or a move its state does not
    allow (`outbox retry` of a batch that did not fail, `resend` of an acknowledged one)."""


class UnknownBatchError(OutboxError):
    """The outbox holds no batch with this id (of this practice)."""


class RegistryError(StoreError):
    """The service's registry of tenants and API keys cannot do this: an unknown tenant or
    key, a tenant that exists already, a tenant id that cannot be one."""


class UnknownApiKeyError(RegistryError):
    """The registry holds no API key with this id (for this tenant)."""


class LedgerIntegrityError(StoreError):
    """A ledger row does not match its seal: it was changed outside substreg."""


class ConcurrentUpdateError(StoreError):
    """Another run changed the row first (optimistic locking); the command is retried."""


class ShreddedError(StoreError):
    """The data key of a row was destroyed (retention): what it sealed is gone for good."""


class StoredFormatError(StoreError):
    """Stored rows of a format this version does not read."""


class StoredRecordsError(StoreError):
    """Stored records cannot be read back; the message names no value (they are secret)."""


class DamagedDataError(StoreError):
    """Rows refer to a data key the database does not hold: never read as 'shredded'."""


class DamagedRowError(DamagedDataError, DecryptionError):
    """A sealed field or a wrapped data key fails authentication: changed or damaged
    outside substreg. The message names the row (mapping, report, practice, audit entry)
    and the field, never a value."""

    def __init__(self, message: str, *, row_id: str, field: str) -> None:
        super().__init__(message)
        self.row_id = row_id
        self.field = field
