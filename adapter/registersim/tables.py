"""The simulator's SQLite tables (SQLAlchemy Core). No patient code is stored: only its
cryptogram, an HMAC-SHA256 under the simulator's secret (R-CH-3).

    senders        the signer certificate first seen for each sender BtM number (TOFU)
    doctors        the contact data of each sending doctor, for duplicate notices (004 §10)
    submissions    idempotency key → the envelope's SHA-256 and the receipt sent, byte for byte
    reports        every report received, once: its id, kind, status, reason, cryptogram
    registrations  one patient code (cryptogram) registered by one doctor, open or closed
    duplicates     a code registered by two doctors at once, as noticed
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

# Times are UTC, written YYYY-MM-DDTHH:MM:SSZ; days YYYY-MM-DD (sqlite has no zones).
metadata = MetaData()

senders = Table(
    "senders",
    metadata,
    Column("btm_number", String(7), primary_key=True),
    Column("certificate_sha256", String(64), nullable=False),
    Column("first_seen", String(32), nullable=False),
)

doctors = Table(
    "doctors",
    metadata,
    Column("btm_number", String(7), primary_key=True),
    Column("contact", Text, nullable=False),  # name, address, phone as the last report gave
)

submissions = Table(
    "submissions",
    metadata,
    Column("idempotency_key", String(64), primary_key=True),
    Column("envelope_sha256", String(64), nullable=False),
    Column("sender_btm_number", String(7), nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("receipt", LargeBinary, nullable=False),
)

reports = Table(
    "reports",
    metadata,
    Column("report_id", String(200), primary_key=True),
    Column("batch_id", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("doctor_btm_number", String(7), nullable=False),
    Column("code_cryptogram", String(64)),  # None: a notice without a code
    Column("content_mac", String(64), nullable=False),  # keyed digest of the report's JSON
    Column("status", String(8), nullable=False),
    Column("reason", Text),
)

registrations = Table(
    "registrations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("doctor_btm_number", String(7), nullable=False),
    Column("code_cryptogram", String(64), nullable=False),
    Column("first_use", Date, nullable=False),
    Column("substance", String(20)),
    Column("opened_by", String(200), nullable=False),  # report ids
    Column("closed_on", Date),  # None: open
    Column("closed_by", String(200)),
    Index("registrations_by_code", "code_cryptogram", "closed_on"),
)

duplicates = Table(
    "duplicates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code_cryptogram", String(64), nullable=False),
    Column("first_btm_number", String(7), nullable=False),
    Column("second_btm_number", String(7), nullable=False),
    Column("report_id", String(200), nullable=False),
    Column("noticed_at", String(32), nullable=False),
)
