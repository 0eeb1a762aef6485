"""`substreg tenant work [--once]`: one outbox worker for every tenant (D-183), over
`adapter.services.worker_tenants`. Each tenant is worked on with its own database and
keyring and the `[submission]` of its practice.toml (`tenant add --config`); a tenant
without one is named once on stderr and left out until it has one. Stops on SIGINT or
SIGTERM after the batch in hand, exit 0; `--once` delivers what is due now and exits
(1 when a batch was rejected or failed, as `submit --worker --once`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adapter import composition
from adapter.cli import context
from adapter.cli.exits import EXIT_FOUND
from adapter.cli.output_outbox import outcome_line
from adapter.cli.stopped import until_stopped
from adapter.errors import SubstregError
from adapter.services.worker_record import Outcome
from adapter.services.worker_tenants import TenantWork, run_tenants
from adapter.settings.practice import load_config
from adapter.settings.service import ServiceSettings
from adapter.store.audit import Actor


class _Tenants:
    """The tenants to work on, read from the registry each round; what is built of a
    tenant is kept while its configuration file stays the same."""

    def __init__(self, service: ServiceSettings) -> None:
        self.service = service
        self.built: dict[str, tuple[tuple[str, int], TenantWork]] = {}
        self.named: set[tuple[str, str]] = set()  # (tenant, problem) said once

    def __call__(self) -> list[TenantWork]:
        found = []
        for tenant in composition.registry(self.service).tenants():
            work = self._work(tenant.tenant_id, tenant.config_path)
            if work is not None:
                found.append(work)
        return found

    def _work(self, tenant_id: str, config_path: str | None) -> TenantWork | None:
        if config_path is None:
            self._say(tenant_id, "no practice.toml (`tenant add --config`): no [submission]")
            return None
        path = Path(config_path)
        stamp = (config_path, path.stat().st_mtime_ns if path.exists() else -1)
        held = self.built.get(tenant_id)
        if held is not None and held[0] == stamp:
            return held[1]
        try:
            config = load_config(path)
            work = TenantWork(
                tenant_id,
                composition.tenant_store(self.service, tenant_id, context.clock),
                composition.delivery(config, context.clock),
                composition.submission_of(config).poll_seconds,
                composition.sealing(config),
            )
        except SubstregError as exc:
            self._say(tenant_id, str(exc))
            return None
        self.built[tenant_id] = (stamp, work)
        return work

    def _say(self, tenant_id: str, problem: str) -> None:
        if (tenant_id, problem) not in self.named:
            self.named.add((tenant_id, problem))
            print(f"substreg: tenant {tenant_id} left out: {problem}", file=sys.stderr)


TENANTS_STOPPED = (
    "the batch in hand was finished and every outcome recorded; what is still due waits in "
    "each tenant's outbox for the next worker"
)


def handle_tenant_work(service: ServiceSettings, actor: Actor, args: argparse.Namespace) -> int:
    outcomes: list[Outcome] = []

    def seen(tenant: str, outcome: Outcome) -> None:
        outcomes.append(outcome)
        sys.stdout.write(f"{tenant}: {outcome_line(outcome)}\n")
        sys.stdout.flush()

    def failed(tenant: str, exc: Exception) -> None:
        print(f"substreg: tenant {tenant}: {type(exc).__name__}; tried again", file=sys.stderr)

    with until_stopped(TENANTS_STOPPED) as stop:
        run_tenants(_Tenants(service), actor, stop=stop, once=args.once, seen=seen, failed=failed)
    failing = any(o.state in ("rejected", "failed") for o in outcomes)
    return EXIT_FOUND if args.once and failing else 0
