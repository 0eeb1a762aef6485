"""Fixtures shared by the test packages."""

from __future__ import annotations

from tests.storage import database

__all__ = ["database"]
