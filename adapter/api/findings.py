"""The findings of a tenant's last sync runs, for `GET /findings` (D-123).

Held in this process's memory, the newest `KEPT` runs per tenant, never in a database:
a finding names the EHR's resources (`Patient/…`) and may quote what it could not read,
which the ledger never holds in clear (PRIVACY.md). After a restart the list is empty
until the next ingestion; the next sync remakes every finding that still applies.
Every ingestion route (push, pull, import, notification) calls `remember` with its
`SyncResult`; a debounced push sync that fails leaves a run without id whose one finding
(rule INGESTION) is the refusal's reason (`failure_recorder`), counted in /metrics.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter

from adapter.domain.model import Finding
from adapter.services.sync import SyncResult

if TYPE_CHECKING:
    from adapter.api.tenancy import Caller

KEPT = 20
BERLIN = ZoneInfo("Europe/Berlin")
# The rule of the finding a failed ingestion leaves (no rule of RULES.md decided it).
FAILED_RULE = "INGESTION"


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


def failure_recorder(
    recent: RecentFindings, clock: Callable[[], datetime], metrics: CollectorRegistry
) -> Callable[[Caller, str, str | None], None]:
    """What the service does with a failed push sync (`Ingestion(failed=…)`): counts it by
    the error's kind (no tenant label) and keeps its reason as the tenant's newest run in
    `GET /findings`, so a refused push does not vanish without a trace."""
    failures = Counter(
        "substreg_ingestion_failures",
        "Debounced syncs of pushed data that failed, by the error's kind",
        ["kind"],
        registry=metrics,
    )

    def record(who: Caller, kind: str, reason: str | None) -> None:
        failures.labels(kind).inc()
        text = reason or f"the sync of the pushed data failed ({kind}); see the service's log"
        message = f"{text} [{kind}]"
        at = clock()
        finding = Finding("error", FAILED_RULE, message)
        recent.record(
            who.tenant, SyncFindings(None, at.astimezone(BERLIN).date(), at, "push", (finding,))
        )

    return record
