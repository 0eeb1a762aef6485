"""`substreg serve` with each tenant's clock set to a day of its own (the end-to-end test).

The service syncs what is pushed as of today in Berlin by the tenant store's clock (D-130).
Each worked scenario is correct as of its own day (`expected.json` `as_of`), years before
the machine's today, and a sync as of today would be a different and refused question
(issue 9: a day far after the newest the data speaks of). So this runs the real command,
`adapter.cli.main.main(["serve", …])`, in its own process, with only the tenants' clocks
replaced: `SUBSTREG_E2E_CLOCKS` names a JSON file {tenant id: ISO instant}. A tenant not
named keeps the machine's clock. Nothing else of the service is touched.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from adapter import composition
from adapter.cli.main import main
from adapter.settings.service import ServiceSettings
from adapter.store.workspace import Store


def _fixed(clocks: dict[str, datetime]) -> None:
    real = composition.tenant_store

    def tenant_store(
        service: ServiceSettings, tenant_id: str, clock: Callable[[], datetime]
    ) -> Store:
        moment = clocks.get(tenant_id)
        return real(service, tenant_id, clock if moment is None else lambda: moment)

    composition.tenant_store = tenant_store  # type: ignore[assignment]


if __name__ == "__main__":
    named = json.loads(Path(os.environ["SUBSTREG_E2E_CLOCKS"]).read_text(encoding="utf-8"))
    _fixed({tenant: datetime.fromisoformat(at) for tenant, at in named.items()})
    sys.exit(main(["serve", *sys.argv[1:]]))
