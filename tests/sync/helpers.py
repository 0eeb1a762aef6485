"""Building sync inputs and reading what sync recorded, for the sync tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from adapter.domain.model import Report
from adapter.mappings import load_mappings
from adapter.services.sync import SyncOptions, SyncResult, read_batch, sync
from adapter.settings.practice import PracticeConfig
from adapter.store.mappings import canonical_reference
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR

SR = "https://fhir.substreg.dev"
ATC = "http://fhir.de/CodeSystem/bfarm/atc"


def run_sync(
    store: Store,
    paths: list[Path],
    as_of: date,
    *,
    config: PracticeConfig | None = None,
    accept_corrections: bool = False,
    rebuild: bool = False,
    accept_mass_end: bool = False,
) -> SyncResult:
    """What `substreg sync PATH … --as-of DAY` does, in this process."""
    mappings = load_mappings()
    options = SyncOptions(
        as_of=as_of,
        config=config or PracticeConfig(),
        mappings=mappings,
        accept_corrections=accept_corrections,
        rebuild=rebuild,
        accept_mass_end=accept_mass_end,
    )
    return sync(store, ACTOR, read_batch(paths, mappings), options)


@dataclass(frozen=True)
class Held:
    """A ledger entry with its payload, as a test compares it."""

    ledger_id: str
    state: str
    origin: str
    superseded: bool
    report: Report


def ledger(store: Store) -> list[Held]:
    def read(space: Workspace) -> list[Held]:
        return [
            Held(e.ledger_id, e.state, e.origin, e.superseded, space.ledger.payload(e))
            for e in space.ledger.entries()
        ]

    return store.run(ACTOR, read)


def mapping_of(store: Store, patient: str, base_url: str = "urn:substreg:ehr") -> str:
    """The mapping id of `Patient/<patient>` (looked up as sync does)."""

    def find(space: Workspace) -> str:
        found = space.mappings.find(canonical_reference(base_url, patient))
        assert found is not None
        return found.mapping_id

    return store.run(ACTOR, find)


def report_key(report: Report) -> tuple[str, date, str | None, str | None, str | None]:
    return (
        report.kind,
        report.date,
        report.patient_code,
        report.doctor.btm_number,
        report.consultant.btm_number if report.consultant else None,
    )


def keys_of(reports: Iterable[Report]) -> list[tuple[Any, ...]]:
    return sorted(report_key(r) for r in reports)


# -- scenario batches ------------------------------------------------------------------


def _event_day(resource: dict[str, Any]) -> str | None:
    for field in ("effectiveDateTime", "whenHandedOver", "authoredOn"):
        if field in resource:
            return str(resource[field])[:10]
    if "effectivePeriod" in resource:
        return str(resource["effectivePeriod"]["start"])[:10]
    return None


def relative_bundle(path: Path) -> dict[str, Any]:
    """A scenario bundle whose references name `Type/id` instead of `urn:uuid:` fullUrls:
    a later batch cannot resolve an earlier batch's fullUrls, as in an NDJSON export."""
    bundle = json.loads(path.read_text(encoding="utf-8"))
    aliases = {
        e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle["entry"]
        if "fullUrl" in e and "id" in e["resource"]
    }
    text = json.dumps(bundle)
    for url, key in aliases.items():
        text = text.replace(json.dumps(url), json.dumps(key))
    result: dict[str, Any] = json.loads(text)
    for entry in result["entry"]:
        entry.pop("fullUrl", None)
    return result


def batches_by_day(source: Path, cuts: list[date], folder: Path) -> list[Path]:
    """One file per cut: the events up to that day not sent before, with every resource
    that has no event day (patients, doctors, episodes …) sent again each time."""
    bundle = relative_bundle(source)
    files, previous = [], None
    for n, cut in enumerate(cuts):
        chosen = []
        for entry in bundle["entry"]:
            day = _event_day(entry["resource"])
            if day is None or (day <= cut.isoformat() and (previous is None or day > previous)):
                chosen.append(entry)
        path = folder / f"batch-{n}.json"
        path.write_text(json.dumps({**bundle, "entry": chosen}), encoding="utf-8")
        files.append(path)
        previous = cut.isoformat()
    return files


def cuts_before(as_of: date, days_back: Iterable[int]) -> list[date]:
    return sorted({as_of - timedelta(days=d) for d in days_back} | {as_of})


def mark_sent(store: Store) -> None:
    """Every pending report approved, queued and sent, as the submission stage would."""

    def send(space: Workspace) -> None:
        for entry in space.ledger.entries(state="pending"):
            for state in ("approved", "queued", "sent"):
                space.ledger.move(entry.ledger_id, state)

    store.run(ACTOR, send)


def sync_practice(
    store: Store, path: Path, events: list[dict[str, Any]], as_of: date, **options: Any
) -> SyncResult:
    """Sync the test practice (its doctor and patient p1) with `events`, written to `path`."""
    from tests.sync import fhir

    bundle = fhir.write_bundle(path, [fhir.doctor(), fhir.patient(), *events])
    return run_sync(store, [bundle], as_of, **options)
