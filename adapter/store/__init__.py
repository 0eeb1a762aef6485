"""The store: SQLAlchemy Core tables and Alembic migrations on SQLite and PostgreSQL, the
pseudonymised mapping, the report ledger, the audit chain, the facts sync keeps, the keys."""
