"""A sync of pushed data that is held for a person (D-181): the debounced ingestion
(`adapter.api.ingestion`, D-130) refuses a run that would end many treatments at once on
stale data (D-48) and leaves the pushed resources unread; so is the service's walk on to
a later day of no new data (its start and its timer, D-208, D-209) when it is refused so,
with nothing unread (D-237). `held` shows what is waiting and what the last refused run
would have ended (from its `sync.refused` audit entry: counts and days, never a patient);
`accept_held` is a person's yes: the unread resources are synced (with none, the walk on
to the day is made) accepting at most the number of ends that person saw, and the
acceptance is audited under their name. More ends than that are refused again (new data
came meanwhile: look again). The service offers both as `GET /sync/held` and `POST
/sync/held/accept`, the CLI as `substreg tenant held ID` and `substreg tenant accept-held
ID --ending N`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import orjson

from adapter.errors import SyncError
from adapter.services.due import sync_due
from adapter.services.sync import SyncResult
from adapter.services.sync_plan import SyncOptions
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace

__all__ = ["Held", "accept_held", "held"]


@dataclass(frozen=True, slots=True)
class Held:
    """What waits: the pushed resources sync has not read, and the held run's audit
    details (`as_of`, `ending`, `open`, `newest_event`, `resources`) when one is held."""

    pending: int
    refusal: dict[str, Any] | None

    @property
    def held(self) -> bool:
        return self.refusal is not None

    @property
    def ending(self) -> int:
        return int(self.refusal.get("ending", 0)) if self.refusal else 0


def held(store: Store) -> Held:
    """What the tenant's pushed data waits for (a read: nothing is synced or audited)."""
    return store.read(_held_in)


def _held_in(space: Workspace) -> Held:
    """Held: the last run refused as a mass end, no sync kept since, and either pushed
    resources it left unread or it was the walk on to a later day of no new data (the
    service's timer, D-209; D-237), which leaves nothing unread and is held all the same."""
    pending = space.resources.count_pending()
    refused = [r for r in space.audit.entries(action="sync.refused") if _mass_end(r)]
    if not refused:
        return Held(pending, None)
    last = refused[-1]
    synced = space.audit.entries(action="sync")
    if synced and synced[-1]["seq"] > last["seq"]:
        return Held(pending, None)  # a later run kept its sync: that refusal is past
    details = orjson.loads(last["details"])
    if not pending and details.get("resources") != 0:
        return Held(pending, None)  # a refused sync of files (the command line's own)
    return Held(pending, details)


def _mass_end(row: Any) -> bool:
    return bool(orjson.loads(row["details"]).get("reason") == "mass-end")


def accept_held(
    store: Store, actor: Actor, options: SyncOptions, *, ending: int
) -> list[SyncResult]:
    """Sync what was pushed and not read (with none, walk on to `options.as_of` as the
    timer does), accepting at most `ending` treatments ended at
    once by R-EP-3 (D-48); audited as `sync.held.accept` under `actor`. SyncError when a
    run would end more (the data changed since the person looked)."""
    if ending < 0:
        raise SyncError("the number of accepted ends must be 0 or more")
    waiting = held(store)
    details = {"ending": ending, "pending": waiting.pending, "held": waiting.ending}
    store.run(actor, lambda space: space.audit.append(actor, "sync.held.accept", details=details))
    accepting = replace(options, accept_mass_end=True, mass_end_limit=ending)
    # as the service's ingestion syncs: what was pushed, or with nothing unread the walk on
    # to the day, which is the held run when the timer's was refused (D-237)
    results = sync_due(store, actor, accepting)
    if results and results[-1].run_id is None:
        refused = held(store).ending
        msg = (
            f"the held sync would now end {refused} treatment(s), more than the {ending} "
            "accepted: data came meanwhile; look again (GET /sync/held, substreg tenant held)"
        )
        raise SyncError(msg)
    return results
