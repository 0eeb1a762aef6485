"""The tables of the store: one logical schema for SQLite and PostgreSQL (PRIVACY.md).

Nothing here holds a name, a birth date, an EHR id or a patient code in clear:
identities are HMAC blind indexes (`patient_index`), secrets are AES-GCM ciphertexts
under a per-row data key (`data_key`), and everything else is our own random ids,
dates, kinds and states. The Alembic migrations in `migrations/versions/` create
exactly these tables; `tests/store/test_migrations.py` keeps the two in step.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    cast,
)


class Bytes(TypeDecorator[bytes]):
    """A BLOB read back as bytes whatever the database holds in it. SQLite keeps any value
    in any column: a ciphertext overwritten in SQL with text came back as a `str`, and one
    that is no UTF-8 stopped the driver, and with it every sync ("Could not decode to UTF-8
    column 'codes_ct'"). Read as its bytes, it fails authentication like any damaged
    ciphertext: its patient's `error` finding, the others synced (D-45, D-84)."""

    impl = LargeBinary
    cache_ok = True

    def column_expression(self, colexpr: ColumnElement[Any]) -> ColumnElement[bytes]:
        return cast(colexpr, LargeBinary)


# Stable constraint names, so that migrations can refer to them on both databases.
metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

UUID_LEN = 36
KEY_ID_LEN = 64

key_registry = Table(
    "key_registry",
    metadata,
    Column("key_id", String(KEY_ID_LEN), primary_key=True),  # purpose-vN-fingerprint
    Column("purpose", String(16), nullable=False),  # index, wrap, audit
    Column("version", Integer, nullable=False),
    Column("algorithm", String(32), nullable=False),
    Column("state", String(16), nullable=False),  # active, decrypt-only, retired, destroyed
    Column("public_key", Bytes, nullable=True),  # audit keys: Ed25519 public key
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

data_key = Table(
    "data_key",
    metadata,
    Column("dek_id", String(UUID_LEN), primary_key=True),
    Column("kek_id", String(KEY_ID_LEN), ForeignKey("key_registry.key_id"), nullable=False),
    Column("wrapped", Bytes, nullable=True),  # NULL once destroyed (crypto-shredding)
    Column("owner", String(16), nullable=False),  # patient, practice
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("destroyed_at", DateTime(timezone=True), nullable=True),
    Index("ix_data_key_kek_id", "kek_id"),
)

patient_mapping = Table(
    "patient_mapping",
    metadata,
    Column("mapping_id", String(UUID_LEN), primary_key=True),  # random, never from identity
    Column("dek_id", String(UUID_LEN), ForeignKey("data_key.dek_id"), nullable=False),
    Column("subject_nonce", Bytes, nullable=True),
    Column("subject_ct", Bytes, nullable=True),  # the canonical EHR reference
    Column("codes_nonce", Bytes, nullable=True),
    Column("codes_ct", Bytes, nullable=True),  # every code reported, latest last
    Column("status", String(16), nullable=False),  # active, closed, shredded
    Column("first_use", Date, nullable=True),
    Column("last_use", Date, nullable=True),
    Column("closed_on", Date, nullable=True),
    Column("row_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

patient_index = Table(
    "patient_index",
    metadata,
    Column("subject_idx", Bytes(32), nullable=False),  # HMAC(K_idx[v], reference)
    Column("idx_ver", Integer, nullable=False),
    Column(
        "mapping_id", String(UUID_LEN), ForeignKey("patient_mapping.mapping_id"), nullable=False
    ),
    # UNIQUE(subject_idx, idx_ver): one mapping per person, even under parallel syncs.
    PrimaryKeyConstraint("subject_idx", "idx_ver"),
    Index("ix_patient_index_mapping_id", "mapping_id"),
)

report = Table(
    "report",
    metadata,
    Column("ledger_id", String(UUID_LEN), primary_key=True),
    # kind|mapping_id|btm|date: the database makes each report exactly once.
    Column("slot_key", String(160), nullable=False, unique=True),
    Column("mapping_id", String(UUID_LEN), ForeignKey("patient_mapping.mapping_id"), nullable=True),
    Column("kind", String(24), nullable=False),
    Column("doctor_btm", String(7), nullable=False),
    Column("report_date", Date, nullable=False),
    Column("made_on", Date, nullable=False),
    Column("rule", String(16), nullable=False),
    Column("origin", String(16), nullable=False),  # derived, correction, waived
    Column("superseded", Boolean, nullable=False),
    Column("state", String(16), nullable=False),
    Column("dek_id", String(UUID_LEN), ForeignKey("data_key.dek_id"), nullable=False),
    Column("payload_nonce", Bytes, nullable=False),
    Column("payload_ct", Bytes, nullable=False),  # the exact report JSON
    Column("payload_digest", Bytes(32), nullable=False),  # SHA-256 of the ciphertext
    Column("note_nonce", Bytes, nullable=True),
    Column("note_ct", Bytes, nullable=True),  # a person's reason (may name anyone)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # revision 0004: HMAC over the row's columns under a key of the audit key (D-44), so
    # that a change made in SQL is found; NULL only before `substreg init` sealed old rows.
    Column("row_mac", Bytes(32), nullable=True),
    Column("mac_key", String(KEY_ID_LEN), nullable=True),  # the audit key id it was made with
    Index("ix_report_mapping_id", "mapping_id"),
    Index("ix_report_state", "state"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(48), nullable=False),
    Column("mapping_id", String(UUID_LEN), nullable=True),  # no FK: outlives shredding
    Column("ledger_id", String(UUID_LEN), nullable=True),
    Column("purpose", Text, nullable=True),
    Column("ticket", Text, nullable=True),  # sealed (D-31): longer than the ticket itself
    Column("details", Text, nullable=False),  # canonical JSON, counts and ids only
    Column("prev_hash", Bytes(32), nullable=False),
    Column("entry_hash", Bytes(32), nullable=False),
    # revision 0007: a row's chained records read alone, not by a scan of the log (D-118)
    Index("ix_audit_log_ledger_id", "ledger_id", "seq"),
    # revision 0011: the chain records of some patients (and the notices) read alone (D-199)
    Index("ix_audit_log_action_mapping_id", "action", "mapping_id", "seq"),
)

audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("entry_hash", Bytes(32), nullable=False),
    Column("key_id", String(KEY_ID_LEN), ForeignKey("key_registry.key_id"), nullable=False),
    Column("signature", Bytes(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# -- revision 0002: what incremental sync keeps ---------------------------------------

patient_state = Table(
    "patient_state",
    metadata,
    Column(
        "mapping_id", String(UUID_LEN), ForeignKey("patient_mapping.mapping_id"), primary_key=True
    ),
    Column("format", Integer, nullable=False),
    Column("nonce", Bytes, nullable=False),
    Column("ct", Bytes, nullable=False),  # facts in use and the walk's checkpoint
    Column("walked_to", Date, nullable=True),
    Column("live", Boolean, nullable=False),  # must be walked on every sync
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_patient_state_live", "live"),
)

patient_archive = Table(
    "patient_archive",
    metadata,
    Column(
        "mapping_id", String(UUID_LEN), ForeignKey("patient_mapping.mapping_id"), nullable=False
    ),
    Column("seq", Integer, nullable=False),
    Column("format", Integer, nullable=False),
    Column("nonce", Bytes, nullable=False),
    Column("ct", Bytes, nullable=False),  # one batch of the patient's records
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("mapping_id", "seq"),
)

practice_state = Table(
    "practice_state",
    metadata,
    Column("state_id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("dek_id", String(UUID_LEN), ForeignKey("data_key.dek_id"), nullable=False),
    Column("format", Integer, nullable=False),
    Column("nonce", Bytes, nullable=False),
    Column("ct", Bytes, nullable=False),  # doctors, organisations, medications …
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

resource_seen = Table(
    "resource_seen",
    metadata,
    Column("resource_idx", Bytes(32), nullable=False),  # HMAC of Type/id
    Column("idx_ver", Integer, nullable=False),
    Column("mapping_id", String(UUID_LEN), nullable=True),  # owner; NULL: practice-wide
    Column("digest", Bytes(32), nullable=False),  # HMAC of the record as read
    PrimaryKeyConstraint("resource_idx", "idx_ver"),
)

# -- revision 0003: what retention has shredded ------------------------------------------

retention_mark = Table(
    "retention_mark",
    metadata,
    # One row: events dated before `cutoff` belong to treatments shredded after the
    # retention period; sync ignores them when an export sends them again.
    Column("mark_id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("cutoff", Date, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

# -- revision 0005: sync runs, so that a run whose reports were not sent can be undone -------

sync_run = Table(
    "sync_run",
    metadata,
    Column("run_id", String(UUID_LEN), primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),  # the order the runs were made in
    Column("as_of", Date, nullable=False),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("recorded", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # done, undone
    Column("undone_at", DateTime(timezone=True), nullable=True),
)

sync_run_change = Table(
    "sync_run_change",
    metadata,
    # What a run changed, with the columns before it (ciphertexts stay ciphertexts), so that
    # `runs undo` can take it back; kept for the newest runs only (adapter/store/runs.py).
    Column("run_id", String(UUID_LEN), ForeignKey("sync_run.run_id"), nullable=False),
    Column("item", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # recorded, report, mapping, state
    Column("row_id", String(UUID_LEN), nullable=False),  # a ledger id or a mapping id
    Column("before", Text, nullable=True),  # canonical JSON; NULL: the row is new
    PrimaryKeyConstraint("run_id", "item"),
)

# -- revision 0006: the outbox, what is sealed for the register and what came back ---------

BATCH_ID_LEN = 64

outbox_batch = Table(
    "outbox_batch",
    metadata,
    # One sealed batch (docs/SUBMISSION.md): the envelope is encrypted to the register, so
    # a stolen database does not open it; the batch's clear JSON is never stored.
    Column("batch_id", String(BATCH_ID_LEN), primary_key=True),  # also the idempotency key
    Column("doctor_btm", String(7), nullable=False),
    Column("transport", String(16), nullable=False),  # http, folder, paper
    Column("state", String(16), nullable=False),  # sealed, sending, sent, acknowledged …
    Column("envelope", LargeBinary, nullable=False),  # the DER sent, byte for byte, every time
    Column("envelope_sha256", String(64), nullable=False),
    Column("report_count", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),  # deliveries that failed
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),  # NULL: not due again
    Column("claimed_by", String(64), nullable=True),  # the worker holding it while sending
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),  # kind and status only, never a code or name
    Column("proof", Text, nullable=True),  # how it went: a file name, a URL, a print date
    # The register's answer: the receipt document as received and, for a batch refused as
    # a whole, its reason; both sealed under the practice's data key (they may quote anything).
    Column("dek_id", String(UUID_LEN), ForeignKey("data_key.dek_id"), nullable=True),
    Column("receipt_nonce", LargeBinary, nullable=True),
    Column("receipt_ct", LargeBinary, nullable=True),
    Column("receipt_sha256", String(64), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=True),  # the receipt's time
    Column("reason_nonce", LargeBinary, nullable=True),
    Column("reason_ct", LargeBinary, nullable=True),
    Column("replaces", String(BATCH_ID_LEN), nullable=True),  # `outbox resend`: the old one
    Column("replaced_by", String(BATCH_ID_LEN), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),  # the batch's created_at
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("acknowledged_at", DateTime(timezone=True), nullable=True),  # the receipt stored
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_outbox_batch_state", "state", "next_attempt_at"),
)

outbox_report = Table(
    "outbox_report",
    metadata,
    # The reports of a batch, in the batch's order: the ledger row, and its id in the batch
    # (the receipt's report_id), and what the receipt said of it.
    Column("batch_id", String(BATCH_ID_LEN), ForeignKey("outbox_batch.batch_id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("ledger_id", String(UUID_LEN), ForeignKey("report.ledger_id"), nullable=False),
    Column("report_id", String(64), nullable=False),
    Column("result", String(16), nullable=True),  # accepted, rejected, missing
    PrimaryKeyConstraint("batch_id", "position"),
    Index("ix_outbox_report_ledger_id", "ledger_id"),
)

# -- revision 0007: the resources pushed to /fhir, every version, sealed ------------------

fhir_resource = Table(
    "fhir_resource",
    metadata,
    # One logical resource pushed to `/fhir` (issue 13). Its logical id may be the EHR's
    # own (an update-as-create): it is kept only as a blind index of `Type/id`; the body,
    # id included, is sealed in `fhir_resource_version` under the resource's data key.
    Column("resource_id", String(UUID_LEN), primary_key=True),  # ours, random
    Column("resource_type", String(64), nullable=False),  # Patient, MedicationAdministration …
    Column("id_idx", Bytes(32), nullable=False),  # HMAC(K_idx[v], "fhir-resource|Type/id")
    Column("idx_ver", Integer, nullable=False),
    Column("dek_id", String(UUID_LEN), ForeignKey("data_key.dek_id"), nullable=False),
    Column("version", Integer, nullable=False),  # the current version id: 1, 2, …
    Column("deleted", Boolean, nullable=False),  # the current version is a DELETE
    Column("last_updated", DateTime(timezone=True), nullable=False),
    # The patient the resource's record belongs to, as sync filed it (our mapping id; NULL:
    # the practice's, or not synced yet): retention forgets it with the patient (D-131).
    Column("owner", String(UUID_LEN), nullable=True),
    # UNIQUE(id_idx, idx_ver): one row per logical id, even when two pushes race.
    UniqueConstraint("id_idx", "idx_ver"),
    Index("ix_fhir_resource_owner", "owner"),
)

fhir_resource_version = Table(
    "fhir_resource_version",
    metadata,
    Column(
        "resource_id", String(UUID_LEN), ForeignKey("fhir_resource.resource_id"), nullable=False
    ),
    Column("version", Integer, nullable=False),
    Column("last_updated", DateTime(timezone=True), nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("nonce", Bytes, nullable=False),
    Column("ct", Bytes, nullable=False),  # the JSON as served, meta set (a DELETE: type and id)
    Column("ingested_at", DateTime(timezone=True), nullable=True),  # NULL: sync has not read it
    # revision 0012: POST, PUT or DELETE, as `_history` shows it (NULL: written before, D-238)
    Column("method", String(6), nullable=True),
    PrimaryKeyConstraint("resource_id", "version"),
    Index("ix_fhir_resource_version_ingested_at", "ingested_at"),
)

fhir_identifier_index = Table(
    "fhir_identifier_index",
    metadata,
    # The business identifiers of each resource's current version, for a conditional
    # create (`If-None-Exist: identifier=system|value`): HMAC of "Type|system|value".
    Column("identifier_idx", Bytes(32), nullable=False),
    Column("idx_ver", Integer, nullable=False),
    Column(
        "resource_id", String(UUID_LEN), ForeignKey("fhir_resource.resource_id"), nullable=False
    ),
    PrimaryKeyConstraint("identifier_idx", "idx_ver", "resource_id"),
    Index("ix_fhir_identifier_index_resource_id", "resource_id"),
)


# -- revision 0008: what the pull connector has read, and the EHR's subscriptions ---------

SERVER_LEN = 500

pull_checkpoint = Table(
    "pull_checkpoint",
    metadata,
    # Per FHIR server and resource type, the newest `meta.lastUpdated` up to which every
    # resource was synced: the next pull searches `_lastUpdated=gt<this>` (D-133). The
    # server's base URL and a type name are no personal data; the instant is the server's
    # own text, kept as it was sent (its precision and offset), never re-rendered.
    Column("server", String(SERVER_LEN), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("last_updated", String(40), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("server", "resource_type"),
)

subscription_seen = Table(
    "subscription_seen",
    metadata,
    # The last notification of each of the EHR's subscriptions (handshake, heartbeat,
    # event): the Subscription's reference and topic URL, the status type and event
    # number, and when. No focus reference (an EHR id) and no resource is kept (D-137).
    Column("subscription", String(SERVER_LEN), primary_key=True),
    Column("topic", String(SERVER_LEN), nullable=True),
    Column("last_type", String(32), nullable=False),
    Column("events_since_start", Integer, nullable=True),
    Column("notifications", Integer, nullable=False),  # received in all
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)

handover_in = Table(
    "handover_in",
    metadata,
    # A handover document received (`substreg handover import`, R-HO-1): the registration
    # it states (code, registering doctor, since when) is sealed under a data key of its
    # own; in clear only our id (the document's), the signer's key fingerprint, the state
    # (open → released once the sending doctor's Abmeldung is made) and times. While open,
    # sync holds back a second Anmeldung under the code (R-EP-5, D-162).
    Column("handover_id", String(UUID_LEN), primary_key=True),
    Column("dek_id", String(UUID_LEN), ForeignKey("data_key.dek_id"), nullable=False),
    Column("signer", String(KEY_ID_LEN + 16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("released_on", Date, nullable=True),
    Column("nonce", Bytes, nullable=False),
    Column("ct", Bytes, nullable=False),
)

duplicate_notice = Table(
    "duplicate_notice",
    metadata,
    # A duplicate notice of the register (004 §10) as typed in (`substreg duplicate
    # import`, D-233): the letter itself (reference, patient code, the other doctors) is
    # sealed under a data key of its own, never an index of the code (PRIVACY.md). In
    # clear only our random id, the doctor written to (a BtM number, as in `report`), the
    # letter's day, the state (open → answered), the answer (`--continues`), the ledger id
    # of the agreement report, and times.
    Column("notice_id", String(UUID_LEN), primary_key=True),
    Column("dek_id", String(UUID_LEN), ForeignKey("data_key.dek_id"), nullable=False),
    Column("doctor_btm", String(7), nullable=False),
    Column("letter_date", Date, nullable=False),
    Column("state", String(16), nullable=False),
    Column("answer", String(24), nullable=True),
    Column("ledger_id", String(UUID_LEN), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=True),
    Column("nonce", Bytes, nullable=False),
    Column("ct", Bytes, nullable=False),
)
