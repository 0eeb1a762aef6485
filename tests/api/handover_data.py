"""What the handover routes need of a test tenant: a patient synced from the demo export
(Reuter, `Patient/1001`, with Falkner's registration open) and a document to import."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import orjson

from adapter.crypto import fingerprint
from adapter.services.handover import export_handover
from adapter.settings.practice import load_config
from adapter.store.workspace import Store, Workspace
from tests.cli_helpers import CONFIG, DEMO
from tests.storage import ACTOR
from tests.sync.helpers import run_sync

PATIENT = "Patient/1001"
DAY = date(2025, 12, 31)


def synced(store: Store) -> Store:
    """The store with the demo practice synced as of `DAY` (once per store: a store that
    holds the practice's state was synced)."""
    if store.read(lambda space: space.facts.practice()) is None:
        run_sync(store, [DEMO], DAY, config=load_config(CONFIG))
    return store


def export_body(_: Store | None = None) -> dict[str, Any]:
    """The export's body for a synced store."""
    return {"patient": PATIENT, "to": "JVA Musterstadt", "on": DAY.isoformat()}


def import_body(store: Store) -> dict[str, Any]:
    """A document the store itself exported, with its signer trusted."""
    done = export_handover(synced(store), ACTOR, PATIENT, receiver="JVA", sender=None, day=DAY)
    return {"document": orjson.loads(done.document), "trust": [done.signer]}


def signer(store: Store) -> str:
    return store.read(lambda space: fingerprint(space.keys.document_public_key()))


def open_handover(store: Store) -> str:
    """The id of an open handover received by the store (a registration of code TEST)."""
    handover_id = str(uuid.uuid4())

    def record(space: Workspace) -> None:
        space.handovers.record(handover_id, "ab" * 32, "ZZTEST00", "7654321", DAY)

    store.run(ACTOR, record)
    return handover_id
