"""Use cases: what the CLI and the API call.

`derive` replays FHIR data (stateless); the others work on the store: `setup` (init,
keys, backups), `sync` (ingest, reconcile, record), `reports` (the ledger and its
export), `bulk_reports` (the inventory report and the blanket deregistration, from the
ledger), `lookup` (re-identification) and `retention` (crypto-shredding).
"""

from __future__ import annotations

from adapter.domain.model import Derivation
from adapter.services.derive import derive

__all__ = ["Derivation", "derive"]
