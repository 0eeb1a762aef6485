"""Crypto-shredding after the retention period (`substreg retention apply`).

The records of a treatment are kept for ten years after it ended (§ 630f (3) BGB, the
longest duty that applies to the practice's copy of its reports, R-CH-2; D-21). After
that, the data key of the patient's mapping row is destroyed: the code, the EHR
reference, the stored facts and the payloads of the patient's reports become
unreadable at once, in every backup too, while the ledger keeps its clear columns
(kind, dates, state) as the record that reports were made. A patient whose
registration the register still holds open is never shredded (R-EP-5, PRIVACY.md G2).
The resources sync read of the treatment keep their blind index (without digest), so that
an export that still holds the shredded patient's old events does not make them a new
patient with new reports at the next sync (`sync_retired`, D-81); no date is kept that
would hide anyone else's events.

A wrong clock or `--as-of` must not shred a treatment still inside the period (issue
9.1, D-46): a day after today is refused, and so is a day more than `TOLERANCE` after
the last sync (D-81: a clock years ahead with no `--as-of` destroyed keys with a note
only); the command shows the plan (ids and treatment dates, no identity) and asks before
it destroys, and only what it showed is destroyed. The records of received handovers
(D-194) and the register's duplicate notices (D-240, `retention_notices`) go by the same
cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from adapter.domain.register_view import RegisterView, register_order
from adapter.errors import RetentionError
from adapter.fhir.partition import load
from adapter.services.register_status import blankets_by_doctor
from adapter.services.retention_notices import (
    OldNotice,
    destroy_notices,
    notices_past,
    taken_with,
)
from adapter.services.sync_damage import UNREADABLE
from adapter.services.sync_guard import TOLERANCE
from adapter.services.sync_state import PRACTICE_FORMAT, PracticeState
from adapter.store.audit import Actor
from adapter.store.handovers import Ended
from adapter.store.mappings import MappingRow
from adapter.store.workspace import Store, Workspace

DEFAULT_YEARS = 10
CLOCK_DOUBT = timedelta(days=31)  # a last sync longer ago than this: the clock is shown
_BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True, slots=True)
class Treatment:
    """A patient whose data key retention destroys: our id and the treatment's dates only."""

    mapping_id: str
    first_use: date | None
    closed_on: date | None


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    as_of: date
    today: date  # by this machine's clock, in Berlin
    cutoff: date
    shred: tuple[Treatment, ...]
    kept_open: tuple[str, ...]  # closed in the data, but open at the register
    last_sync: date | None  # the day the last sync was made as of
    handovers: tuple[Ended, ...] = ()  # received handovers that ended before the cutoff
    notices: tuple[OldNotice, ...] = ()  # duplicate notices past the period (D-240)

    @property
    def clock_in_doubt(self) -> bool:
        """The last sync lies long before the clock's today: a wrong clock would shred
        treatments still inside the period, so the operator is shown both days."""
        return self.last_sync is not None and self.today - self.last_sync > CLOCK_DOUBT


@dataclass(frozen=True, slots=True)
class RetentionResult:
    cutoff: date
    shredded: tuple[str, ...]  # mapping ids
    kept_open: tuple[str, ...]  # closed in the data, but open at the register
    dry_run: bool
    treatments: tuple[Treatment, ...] = ()
    handovers: tuple[str, ...] = ()  # handover ids whose records were destroyed
    notices: tuple[str, ...] = ()  # duplicate notice ids destroyed (D-240)


def plan_retention(
    store: Store,
    actor: Actor,
    *,
    as_of: date | None = None,
    years: int = DEFAULT_YEARS,
    clock_checked: bool = False,
) -> RetentionPlan:
    """What `apply_retention` would destroy, to show before it is asked to (not audited:
    it shows our ids and dates only; the duplicate notices' codes are compared with those
    of the patients it shreds in memory, never shown, D-240)."""
    return store.run(actor, lambda space: _plan(space, as_of, years, clock_checked))


def apply_retention(
    store: Store,
    actor: Actor,
    *,
    as_of: date | None = None,
    years: int = DEFAULT_YEARS,
    dry_run: bool = False,
    confirmed: frozenset[str] | None = None,
    clock_checked: bool = False,
) -> RetentionResult:
    """Destroy the data keys of the treatments, the received handovers (D-194) and the
    duplicate notices (D-240) the plan names; with `confirmed` (mapping, handover and notice
    ids), only of those a person was shown (one that qualifies since is left for the next
    run)."""

    def shred(space: Workspace) -> RetentionResult:
        plan = _plan(space, as_of, years, clock_checked)
        chosen = [t for t in plan.shred if confirmed is None or t.mapping_id in confirmed]
        ended = [h for h in plan.handovers if confirmed is None or h.handover_id in confirmed]
        shown = [n for n in plan.notices if confirmed is None or n.notice_id in confirmed]
        notices = taken_with(shown, {t.mapping_id for t in chosen})
        if not dry_run:
            _destroy_handovers(space, actor, ended, plan.cutoff)
            destroy_notices(space, actor, notices, plan.cutoff)
            for treatment in chosen:
                space.mappings.shred(space.mappings.get(treatment.mapping_id))
                space.resources.forget_owned(treatment.mapping_id)  # pushed to /fhir (D-131)
                space.audit.append(
                    actor,
                    "retention.shred",
                    mapping_id=treatment.mapping_id,
                    details={"cutoff": plan.cutoff.isoformat()},
                )
        space.audit.append(
            actor,
            "retention.apply",
            details={
                "cutoff": plan.cutoff.isoformat(),
                "shredded": len(chosen),
                "kept_open": len(plan.kept_open),
                "handovers": len(ended),
                "notices": len(notices),
                "dry_run": dry_run,
            },
        )
        shredded = tuple(t.mapping_id for t in chosen)
        destroyed = tuple(h.handover_id for h in ended)
        gone = tuple(n.notice_id for n in notices)
        return RetentionResult(
            plan.cutoff, shredded, plan.kept_open, dry_run, tuple(chosen), destroyed, gone
        )

    return store.run(actor, shred)


def _plan(
    space: Workspace, as_of: date | None, years: int, clock_checked: bool = False
) -> RetentionPlan:
    if years < 1:
        msg = f"--years {years}: the retention period is at least one year"
        raise RetentionError(msg)
    today = space.now.astimezone(_BERLIN).date()
    day = as_of or today
    if day > today:
        msg = (
            f"--as-of {day.isoformat()} lies after today ({today.isoformat()} in Berlin by this "
            "machine's clock): retention destroys keys for good and only counts from a day "
            "that has come"
        )
        raise RetentionError(msg)
    last_sync = _last_sync(space)
    _refuse_far_after(day, last_sync, given=as_of is not None)
    if not clock_checked:
        synced = last_sync is not None
        _refuse_far_after_the_data(day, _newest_event(space), synced, given=as_of is not None)
    cutoff = _years_before(day, years)
    shred: list[MappingRow] = []
    kept: list[str] = []
    blankets = {d: [b.day for b in bs] for d, bs in blankets_by_doctor(space).items()}
    for mapping in space.mappings.closed_before(cutoff):
        if _open_at_register(space, mapping.mapping_id, blankets):
            kept.append(mapping.mapping_id)
        else:
            shred.append(mapping)
    return RetentionPlan(
        day,
        today,
        cutoff,
        tuple(Treatment(m.mapping_id, m.first_use, m.closed_on) for m in shred),
        tuple(kept),
        last_sync,
        tuple(space.handovers.ended_before(cutoff)),
        notices_past(space, cutoff, shred),
    )


def _destroy_handovers(space: Workspace, actor: Actor, ended: list[Ended], cutoff: date) -> None:
    """D-194: a handover received here that was released or returned before the cutoff
    loses its data key and its row (the registration it stated goes with them, R-HO-1)."""
    for handover in ended:
        space.handovers.destroy(handover.handover_id)
        space.audit.append(
            actor,
            "retention.handover",
            details={"document": handover.handover_id, "cutoff": cutoff.isoformat()},
        )


def _last_sync(space: Workspace) -> date | None:
    """The day of the last sync: the newest run kept (one that walked nobody too), or the
    furthest walk of a database older than the run journal."""
    walked = space.facts.latest_walk()
    days = [walked - timedelta(days=1)] if walked is not None else []
    days += [r.as_of for r in space.journal.runs(limit=50) if r.state == "done"][:1]
    return max(days, default=None)


def _refuse_far_after(day: date, last_sync: date | None, *, given: bool) -> None:
    """Retention counts from a day the data can mean: at most `TOLERANCE` after the last
    sync, as sync's own day may lie at most that after the data (D-47, D-81)."""
    if last_sync is None or day - last_sync <= TOLERANCE:
        return
    latest = (last_sync + TOLERANCE).isoformat()
    said = f"--as-of {day.isoformat()}" if given else f"Today by this machine's clock ({day})"
    msg = (
        f"{said} lies {(day - last_sync).days} days after the last sync (as of "
        f"{last_sync.isoformat()}): retention destroys keys for good, and a clock that far "
        "ahead would destroy treatments still inside the period. Check the clock; if it is "
        "right, sync the current export first (`substreg sync PATH`), or give --as-of a day "
        f"no later than {latest}"
    )
    raise RetentionError(msg)


def _newest_event(space: Workspace) -> date | None:
    """The newest day on which the synced data records something happening (kept with the
    practice's state, D-85); None before the first sync, for a state written by an older
    version, or when the state cannot be read."""
    try:
        stored = space.facts.practice()
        if stored is None or stored[0] != PRACTICE_FORMAT:
            return None
        return load(PracticeState, stored[1]).newest_event
    except UNREADABLE:
        return None


def _refuse_far_after_the_data(
    day: date, newest: date | None, synced: bool, *, given: bool
) -> None:
    """D-85: a sync that walks nobody is not held to the data (D-47), so under a clock
    years ahead it moves the last sync forward; retention then holds to the newest day on
    which something happened (a planned end or a supply's reach proves no time passed).
    A practice whose last substitution data really is that old says so (`--clock-checked`);
    so does one whose newest day cannot be read although it was synced."""
    said = f"--as-of {day.isoformat()}" if given else f"Today by this machine's clock ({day})"
    if newest is None:
        if not synced:
            return  # never synced: nothing it could destroy
        msg = (
            f"{said}: the newest day the synced data speaks of cannot be read (a state of an "
            "older version, or a damaged row), so nothing shows that the clock is right. Sync "
            "the current export first, or run again with --clock-checked once a person "
            "checked the clock"
        )
        raise RetentionError(msg)
    if day - newest <= TOLERANCE:
        return
    msg = (
        f"{said} lies {(day - newest).days} days after the newest day the synced data speaks "
        f"of ({newest.isoformat()}): a clock that far ahead would destroy treatments still "
        "inside the period, and nothing in the data says that much time has passed. Check "
        "the clock; if it is right and the practice has had no substitution data since, "
        "run again with --clock-checked"
    )
    raise RetentionError(msg)


def _open_at_register(space: Workspace, mapping_id: str, blankets: dict[str, list[date]]) -> bool:
    """Whether the register still holds a registration of this patient with any doctor; a
    blanket deregistration of the doctor ends what is open on its day (D-166)."""
    by_doctor: dict[str, list[tuple[str, date]]] = {}
    for entry in space.ledger.entries(mapping_ids=[mapping_id]):
        if entry.state != "rejected" and entry.origin != "waived":
            by_doctor.setdefault(entry.doctor_btm, []).append((entry.kind, entry.report_date))
    for doctor, steps in by_doctor.items():
        steps += [("pauschalabmeldung", day) for day in blankets.get(doctor, [])]
        steps.sort(key=lambda step: register_order(*step))
        view = RegisterView((kind, day, None, None) for kind, day in steps)
        if view.open_since is not None:
            return True
    return False


def _years_before(day: date, years: int) -> date:
    if years >= day.year:
        msg = (
            f"--years {years} reaches back before the year 1 from {day.isoformat()}: give the "
            f"retention period in years (at most {day.year - 1}; the law asks for "
            f"{DEFAULT_YEARS})"
        )
        raise RetentionError(msg)
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
