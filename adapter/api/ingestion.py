"""From push to pending reports without a manual step: the debounced sync of what each
tenant pushed (issue 13, D-130).

After a write to `/fhir` the tenant's timer is (re)started; once the tenant has been quiet
for `quiet` seconds (default 2), what it pushed and sync has not read is synced
(`adapter.services.ingest.ingest_pushed`), so that an EHR pushing a day's data in a
hundred requests makes one sync, not a hundred. One run at a time per tenant (a push
during a run starts the timer again, and the next run follows that one). A failed run
leaves the resources unread for the next; it is logged (JSON, with the tenant, the
error's kind and its reason: messages carry no personal data, PRIVACY.md T2), counted and
handed to `failed` (the service shows it in GET /findings). `flush()` (on shutdown)
runs every tenant with a timer now.
A run refused as a mass end (D-48) waits for a person: `accept` runs it with their yes
to at most the ends they saw (`/sync/held`, D-181), under the same per-tenant lock.

Threads, not the event loop: a sync is blocking database work, and a timer must fire
whether or not a request comes.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from zoneinfo import ZoneInfo

from adapter.api.outcome import said
from adapter.api.tenancy import Caller
from adapter.errors import SubstregError
from adapter.services.due import sync_due
from adapter.services.held import accept_held
from adapter.services.sync import SyncResult
from adapter.services.sync_plan import SyncOptions
from adapter.store.audit import Actor

log = logging.getLogger(__name__)
BERLIN = ZoneInfo("Europe/Berlin")  # a report's day is a day in Germany (INPUT.md)
ACTOR = Actor("ingestion", "system")  # who syncs what was pushed: the service itself


def today_options(caller: Caller) -> SyncOptions:
    """Sync as of today in Berlin (by the tenant store's clock), with its configuration."""
    as_of = caller.store.clock().astimezone(BERLIN).date()
    return SyncOptions(as_of=as_of, config=caller.config, mappings=caller.mappings, service=True)


class Ingestion:
    def __init__(
        self,
        options: Callable[[Caller], SyncOptions] = today_options,
        *,
        quiet: float = 2.0,
        synced: Callable[[Caller, SyncResult], None] | None = None,
        failed: Callable[[Caller, str, str | None], None] | None = None,
    ) -> None:
        self.options = options
        self.quiet = quiet
        # told of every sync run's result (the service keeps its findings for GET /findings:
        # `RecentFindings.record(tenant, …)` with source "push")
        self.on_synced = synced
        # told of every failed run: (caller, the error's kind, its reason or None); the
        # service shows it in GET /findings and counts it in /metrics
        self.on_failed = failed
        self._guard = threading.Lock()  # over the timers and callers
        self._timers: dict[str, threading.Timer] = {}
        self._callers: dict[str, Caller] = {}
        self._running: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self.failures: defaultdict[str, int] = defaultdict(int)  # by tenant, for /metrics
        self.synced: defaultdict[str, int] = defaultdict(int)  # sync runs, by tenant
        # The results of each tenant's last run that synced, in memory only (its findings,
        # until the next run): what a `GET /findings` of the service can show.
        self.last: dict[str, list[SyncResult]] = {}

    def pushed(self, caller: Caller) -> None:
        """The tenant wrote: sync once it has been quiet for `quiet` seconds."""
        with self._guard:
            timer = self._timers.pop(caller.tenant, None)
            if timer is not None:
                timer.cancel()
            self._callers[caller.tenant] = caller
            timer = threading.Timer(self.quiet, self._quiet, args=(caller.tenant,))
            timer.daemon = True
            self._timers[caller.tenant] = timer
            timer.start()

    def waiting(self) -> list[str]:
        """The tenants whose timer runs."""
        with self._guard:
            return sorted(self._timers)

    def run(self, caller: Caller) -> list[SyncResult]:
        """Sync the tenant's unread pushes now, or with none, walk on to today when its
        last sync walked an earlier day (D-209); after a run of it that is under way."""
        with self._running[caller.tenant]:
            try:
                results = sync_due(caller.store, ACTOR, self.options(caller))
            except Exception as exc:  # any failure: logged, and the resources stay unread
                self._failed(caller, exc)
                return []
            self._took(caller, results)
            if results and results[-1].run_id is None:
                self.failures[caller.tenant] += 1
                log.warning(
                    "ingestion of tenant %s refused: the pushed data would end many "
                    "treatments at once (D-48); its pushed resources stay unread until current "
                    "data comes or a person accepts the ends (GET /sync/held, D-181)",
                    caller.tenant,
                )
                return results
            recorded = sum(len(r.recorded) for r in results)
            log.info("ingestion of tenant %s: %d report(s) recorded", caller.tenant, recorded)
            return results

    def _failed(self, caller: Caller, exc: Exception) -> None:
        """A failed run: counted, logged with its reason (an error of the tree is worded
        without personal data; any other by its kind only) and handed on."""
        kind = type(exc).__name__
        reason = said(exc) if isinstance(exc, SubstregError) else None
        self.failures[caller.tenant] += 1
        log.warning(
            "ingestion of tenant %s failed (%s): %s; its pushed resources stay unread for "
            "the next run",
            caller.tenant,
            kind,
            reason or "an unexpected error",
            extra={"tenant": caller.tenant, "error": kind, "reason": reason},
        )
        if self.on_failed is not None:
            self.on_failed(caller, kind, reason)

    def accept(self, caller: Caller, ending: int) -> list[SyncResult]:
        """A person accepts the held mass end (D-181): the unread pushes synced under the
        caller's name, at most `ending` ends; after a run of the tenant under way."""
        with self._running[caller.tenant]:
            results = accept_held(caller.store, caller.actor, self.options(caller), ending=ending)
            self._took(caller, results)
            return results

    def _took(self, caller: Caller, results: list[SyncResult]) -> None:
        """A finished run of the tenant (by the timer or by a person): counted, kept as its
        last, and handed on (the metrics and `/findings`)."""
        self.synced[caller.tenant] += len(results)
        if results:
            self.last[caller.tenant] = results
        if self.on_synced is not None:
            for result in results:
                self.on_synced(caller, result)

    def flush(self) -> None:
        """Run every tenant whose timer runs, now (on shutdown: nothing pushed waits)."""
        with self._guard:
            timers, self._timers = self._timers, {}
            callers = [self._callers[tenant] for tenant in timers]
        for timer in timers.values():
            timer.cancel()
        for caller in callers:
            self.run(caller)

    def _quiet(self, tenant: str) -> None:
        with self._guard:
            if tenant not in self._timers:
                return  # flushed, or pushed again meanwhile (a newer timer runs)
            if self._timers[tenant] is not threading.current_thread():
                return
            del self._timers[tenant]
            caller = self._callers[tenant]
        self.run(caller)
