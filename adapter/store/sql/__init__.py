"""The store's row stores on SQLAlchemy Core: SQLite and PostgreSQL."""
