"""What a sync settles before it reads anyone: whether the day can be synced, the retention
mark, and the practice's own stored records (doctors, organisations, medications)."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from adapter.domain.model import Finding
from adapter.errors import SyncError
from adapter.fhir.partition import PracticeRecords, load
from adapter.services.sync_damage import UNREADABLE
from adapter.services.sync_plan import SyncOptions
from adapter.services.sync_state import PRACTICE_FORMAT, PracticeState
from adapter.store.facts import Facts
from adapter.store.workspace import Workspace

BERLIN = ZoneInfo("Europe/Berlin")
_MAPPINGS_CHANGED = Finding(
    "warning",
    "INPUT",
    "The mapping files (mappings/*.json) changed since the last sync: resources read from now "
    "on use them, those read before keep the substances and depots found then. To apply the "
    "new mappings to everything, sync a full export again with --rebuild.",
)
_PRACTICE_REBUILT = Finding(
    "warning",
    "INPUT",
    "The practice's stored records (doctors, organisations, medications) could not be "
    "decrypted: they were taken from this export anew (--rebuild).",
)


def prepare(
    space: Workspace, facts: Facts, options: SyncOptions, findings: list[Finding]
) -> PracticeState:
    """The practice's stored state, with a retention mark in the future repaired; a
    SyncError when the day cannot be synced. (What retention ended is left out of the
    batch once its resources are looked up: `sync_retired`.)"""
    today = space.now.astimezone(BERLIN).date()
    _check_day(options.as_of, today, facts.latest_walk())
    _repair_retention_mark(space, today, findings)
    old = _practice(facts, options, findings)
    if old.mappings and old.mappings != options.mappings.fingerprint:
        findings.append(_MAPPINGS_CHANGED)
    base = options.config.ehr_base_url
    if old.ehr_base_url and old.ehr_base_url != base:
        msg = (
            f"ehr_base_url is {base!r} in the configuration, but this database holds the "
            f"patients of {old.ehr_base_url!r}: one installation serves one EHR (D-23); "
            "set it back, or use a database of its own for the other EHR"
        )
        raise SyncError(msg)
    return old


def _check_day(as_of: date, today: date, latest: date | None) -> None:
    if as_of > today:
        msg = (
            f"--as-of {as_of.isoformat()} lies in the future (today is {today.isoformat()} in "
            "Berlin): no report may be dated after the day it is made (R-DATE-3)"
        )
        service = (
            f"the day of this sync ({as_of.isoformat()}) lies in the future (today is "
            f"{today.isoformat()} in Berlin): no report may be dated after the day it is made "
            "(R-DATE-3); check the server's clock"
        )
        raise SyncError(msg, service=service)
    if latest is not None and as_of < latest - timedelta(days=1):
        last = (latest - timedelta(days=1)).isoformat()
        msg = (
            f"--as-of {as_of.isoformat()} lies before the last sync ({last}): the ledger "
            "already holds what was due until then. If that sync ran under a wrong clock and "
            "its reports were not sent, take it back with `substreg runs undo` (README)"
        )
        service = (
            f"the day of this sync ({as_of.isoformat()}) lies before the last sync ({last}): "
            "the server's clock went back, or a sync ran under a wrong clock. Check the "
            "server's clock; an administrator can take back a wrong sync whose reports were "
            "not sent (README: runs undo)"
        )
        raise SyncError(msg, service=service)


def _repair_retention_mark(space: Workspace, today: date, findings: list[Finding]) -> None:
    """A retention mark in the future (a retention run under a wrong clock, by a version
    without the guard) is taken back, audited, with a warning (D-46)."""
    repaired = space.retention.repair(today)
    if repaired is not None:
        old, new = repaired
        space.audit.append(
            space.actor,
            "retention.mark-repaired",
            details={"from": old.isoformat(), "to": new.isoformat() if new else None},
        )
        findings.append(_mark_repaired(old, new))


def _mark_repaired(old: date, new: date | None) -> Finding:
    if new is None:
        now = "It is taken away (no treatment was shredded): from this sync on no event is ignored"
    else:
        now = (
            f"It is now {new.isoformat()} (the day after the last shredded treatment ended, "
            f"today at the latest): events dated from {new.isoformat()} on are read again from "
            f"this sync on, those before {new.isoformat()} stay ignored"
        )
    return Finding(
        "warning",
        "INPUT",
        f"The retention mark lay in the future ({old.isoformat()}; a retention run under a wrong "
        f"clock), and earlier syncs ignored every event before it. {now}. Send the events it "
        "hid with the export; a treatment that retention shredded under the wrong clock is "
        "gone for good (D-46).",
    )


def _practice(facts: Facts, options: SyncOptions, findings: list[Finding]) -> PracticeState:
    try:
        stored = facts.practice()
        if stored is None or stored[0] != PRACTICE_FORMAT:
            return PracticeState(PracticeRecords(), engine="")
        return load(PracticeState, stored[1])
    except UNREADABLE as exc:
        if not options.rebuild:
            msg = (
                f"{exc} Nothing was synced: every patient's reports depend on them. Sync a "
                "full export with --rebuild, which takes them from the export anew."
            )
            service = (
                f"{exc} Nothing was synced: every patient's reports depend on them. An "
                "administrator rebuilds them from a full export (README: sync --rebuild)."
            )
            raise SyncError(msg, service=service) from None
        findings.append(_PRACTICE_REBUILT)
        return PracticeState(PracticeRecords(), engine="")
