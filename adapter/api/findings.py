"""The findings of a tenant's last sync runs, for `GET /findings` (D-123).

Held in this process's memory, the newest `KEPT` runs per tenant, never in a database:
a finding names the EHR's resources (`Patient/…`) and may quote what it could not read,
which the ledger never holds in clear (PRIVACY.md). After a restart the list is empty
until the next ingestion; the next sync remakes every finding that still applies.
Every ingestion route (push, pull, import, notification) calls `remember` with its
`SyncResult`.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime

from fastapi import Request

from adapter.domain.model import Finding
from adapter.services.sync import SyncResult

KEPT = 20


@dataclass(frozen=True, slots=True)
class SyncFindings:
    run_id: str | None
    as_of: date
    at: datetime
    source: str  # push, pull, import, notification
    findings: tuple[Finding, ...]


class RecentFindings:
    def __init__(self) -> None:
        self._runs: dict[str, deque[SyncFindings]] = {}
        self._lock = threading.Lock()

    def record(self, tenant: str, found: SyncFindings) -> None:
        with self._lock:
            self._runs.setdefault(tenant, deque(maxlen=KEPT)).appendleft(found)

    def of(self, tenant: str) -> list[SyncFindings]:
        """Newest first."""
        with self._lock:
            return list(self._runs.get(tenant, ()))


def remember(request: Request, tenant: str, source: str, result: SyncResult) -> None:
    """Keep a sync's findings for `GET /findings` (the ingestion routes call this)."""
    recent: RecentFindings = request.app.state.tenancy.findings
    at = request.app.state.tenancy.clock()
    recent.record(
        tenant, SyncFindings(result.run_id, result.as_of, at, source, tuple(result.findings))
    )
