"""What the pull tests share: clients of the test server, the ledger in a comparable form."""

from __future__ import annotations

from datetime import date

from adapter.connect.auth import Authorisation
from adapter.connect.client import FhirClient
from adapter.connect.pacing import Pacer
from adapter.mappings import load_mappings
from adapter.services.sync import SyncOptions
from adapter.settings.practice import load_config
from adapter.store.workspace import Store, Workspace
from tests.cli_helpers import CONFIG

AS_OF = date(2025, 12, 31)


def options() -> SyncOptions:
    return SyncOptions(as_of=AS_OF, config=load_config(CONFIG), mappings=load_mappings())


def client(
    base: str,
    auth: Authorisation | None = None,
    *,
    rate: float = 1000.0,
    attempts: int = 3,
    max_wait: float = 5.0,
) -> FhirClient:
    return FhirClient(base, auth=auth, pacer=Pacer(rate), attempts=attempts, max_wait=max_wait)


def ledger(store: Store) -> list[str]:
    """The ledger without its ids and times: each row's clear columns and its opened
    report (codes, days, doctor), in a stable order."""

    def read(space: Workspace) -> list[str]:
        return sorted(
            repr(
                (
                    e.kind,
                    e.state,
                    e.superseded,
                    e.made_on,
                    e.report_date,
                    e.rule,
                    e.origin,
                    space.ledger.payload(e),
                )
            )
            for e in space.ledger.entries(state=None, since=None, until=None)
        )

    return store.read(read)
