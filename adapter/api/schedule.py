"""The service's own syncs, not driven by a push (issue 13, D-208, D-209): at start and
then every `interval` seconds (SUBSTREG_SYNC_INTERVAL_SECONDS, default 6 hours), each
tenant of the registry is synced by the ingestion (`Ingestion.run`, under its per-tenant
lock): what was pushed and not read (after a crash within the quiet time, D-208), and
with nothing unread, a walk on to today in Berlin, so that reports that fall due because
days pass are recorded while a practice is quiet (`adapter.services.due`, D-209).

A background thread: readiness does not wait for the start's syncs, which may take
minutes for many tenants. A tenant that fails is logged by its id and the error's kind
only (PRIVACY.md T2) and the others are synced all the same.
"""

from __future__ import annotations

import logging
import threading

from adapter.api.ingestion import ACTOR, Ingestion
from adapter.api.tenancy import Caller, Tenancy
from adapter.mappings import load_mappings
from adapter.store.registry import Role, Tenant

log = logging.getLogger(__name__)


class Schedule:
    def __init__(self, tenancy: Tenancy, ingestion: Ingestion, interval: float) -> None:
        self.tenancy = tenancy
        self.ingestion = ingestion
        self.interval = interval  # seconds between rounds; 0: only the round at start
        self.rounds = 0  # rounds finished, for tests and /metrics readers
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """A round now and then one every `interval` seconds, in a thread of its own."""
        self._thread = threading.Thread(target=self._loop, name="substreg-schedule", daemon=True)
        self._thread.start()

    def stop(self, wait: float = 5.0) -> None:
        """No further round; a tenant's run under way may finish (within `wait` seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait)

    def round(self) -> None:
        """Sync every tenant once (each after a run of it under way)."""
        for tenant in self.tenancy.registry.tenants():
            if self._stop.is_set():
                return
            try:
                self.ingestion.run(self._caller(tenant))
            except Exception as exc:  # its store or configuration: the others go on
                self.ingestion.failures[tenant.tenant_id] += 1
                log.warning(
                    "scheduled sync of tenant %s failed (%s)", tenant.tenant_id, type(exc).__name__
                )
        self.rounds += 1

    def _loop(self) -> None:
        self.round()
        while self.interval > 0 and not self._stop.wait(self.interval):
            self.round()

    def _caller(self, tenant: Tenant) -> Caller:
        """The service itself as the tenant's caller (the ingestion's actor)."""
        return Caller(
            tenant=tenant.tenant_id,
            role=Role.STAFF,  # the role that pushes: the ingestion syncs what staff push
            actor=ACTOR,
            store=self.tenancy.store(tenant.tenant_id),
            config=self.tenancy.config(tenant),
            mappings=load_mappings(),
        )
