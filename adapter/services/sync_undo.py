"""`substreg runs undo [RUN]`: take back sync runs whose reports were not sent (D-49).

A sync under a wrong clock records Abmeldungen dated after the real day and walks every
patient into the future, after which every later sync is refused ("lies before the last
sync"). Undoing it, and every run after it (newest first):
- its recorded reports that were never queued are withdrawn (rejected, with a note) and
  their slots freed, so that the next sync can record what is really due, even the same
  report on the same day;
- of the reports it superseded, the mark is taken back, and a state they reached since
  (sent, acknowledged) stays; reports it withdrew are unsent and final (rejected), and
  get back the state and note they had;
- mapping rows get back their codes, dates and status;
- each patient it walked is set to be derived afresh from its stored records, and its
  walk back to where it stood, so the last sync's day is the one before the run.
What the run read (the archived records, the digests of resources) stays: it is the
EHR's data, not the run's conclusion. A run one of whose reports was ever queued or sent
may have reached the register and cannot be undone: what it said is corrected with
`sync --accept-corrections` (D-20); nor can a run whose patient retention shredded
since. Every step is audited and chained (D-44).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson

from adapter.domain.ledger import is_freed
from adapter.domain.reconcile import PRACTICE, slot_key
from adapter.errors import UndoError
from adapter.store.audit import Actor
from adapter.store.ledger import Entry
from adapter.store.ledger_seal import CHAIN_ACTION
from adapter.store.runs import Change, Run
from adapter.store.workspace import Store, Workspace

_SENT = frozenset({"queued", "sent", "acknowledged"})


@dataclass(frozen=True, slots=True)
class UndoPlan:
    runs: tuple[Run, ...]  # newest first
    withdraw: tuple[Entry, ...]  # the runs' reports, none ever sent
    unmark: int  # reports the runs superseded: the mark taken back, their state kept
    unwithdraw: int  # reports the runs withdrew: their state before put back
    patients: int  # patients whose walk is taken back
    last_sync: date | None  # the last sync's day once undone


def list_runs(store: Store, actor: Actor) -> list[Run]:
    """The newest sync runs first (ids, days, counts: nothing personal)."""
    return store.run(actor, lambda space: space.journal.runs())


def plan_undo(store: Store, actor: Actor, run_id: str | None = None) -> UndoPlan:
    """What `undo` would do: the newest run, or every run back to `run_id`."""
    return store.run(actor, lambda space: _plan(space, run_id))


def undo(store: Store, actor: Actor, run_ids: tuple[str, ...]) -> UndoPlan:
    """Undo exactly the runs a person was shown (newest first), in one transaction."""

    def take_back(space: Workspace) -> UndoPlan:
        plan = _plan(space, run_ids[-1] if run_ids else None)
        if tuple(r.run_id for r in plan.runs) != run_ids:
            msg = "the sync runs changed since they were shown; run `substreg runs undo` again"
            raise UndoError(msg)
        for run in plan.runs:
            for change in reversed(space.journal.changes(run.run_id)):
                _take_back(space, run.run_id, change)
            space.journal.mark_undone(run.run_id)
            space.audit.append(
                actor,
                "sync.undo",
                details={
                    "run": run.run_id,
                    "as_of": run.as_of.isoformat(),
                    "recorded": run.recorded,
                },
            )
        return plan

    return store.run(actor, take_back)


def _plan(space: Workspace, run_id: str | None) -> UndoPlan:
    chosen = _chosen(space, run_id)
    kept = [c for run in chosen for c in space.journal.changes(run.run_id)]
    entries = [space.ledger.entry(c.row_id) for c in kept if c.kind == "recorded"]
    _refuse_sent(space, entries)
    _refuse_shredded(space, chosen, kept, entries)
    actions = [_report_action(space, c) for c in kept if c.kind == "report"]
    walked = {c.row_id: c.before for c in kept if c.kind == "state"}  # the oldest run's last
    return UndoPlan(
        runs=tuple(chosen),
        withdraw=tuple(entries),
        unmark=actions.count("supersede"),
        unwithdraw=actions.count("withdraw"),
        patients=len(walked),
        last_sync=_last_sync_after(space, walked),
    )


def _chosen(space: Workspace, run_id: str | None) -> list[Run]:
    done = [r for r in space.journal.runs(limit=1000) if r.state == "done"]
    if not done:
        msg = "there is no sync run to undo (`substreg runs list`)"
        raise UndoError(msg)
    ids = [r.run_id for r in done]
    if run_id is not None and run_id not in ids:
        msg = f"there is no sync run {run_id} that can be undone (`substreg runs list`)"
        raise UndoError(msg)
    chosen = done[: ids.index(run_id) + 1] if run_id is not None else done[:1]
    lost = [r.run_id for r in chosen if not r.undoable]
    if lost:
        msg = (
            f"the sync run {lost[-1]} is older than the runs whose changes are kept: it cannot "
            "be undone; correct what it recorded with `sync --accept-corrections`"
        )
        raise UndoError(msg)
    return chosen


def _refuse_sent(space: Workspace, entries: list[Entry]) -> None:
    """A report that was ever queued or sent may have reached the register (D-49)."""
    ids = [e.ledger_id for e in entries]
    ever: dict[str, str] = {e.ledger_id: e.state for e in entries if e.state in _SENT}
    for row in space.audit.entries(action=CHAIN_ACTION, ledger_ids=ids):
        state = orjson.loads(row["details"]).get("state")
        if state in _SENT:
            ever.setdefault(row["ledger_id"], state)
    if ever:
        named = ", ".join(f"{i} ({s})" for i, s in sorted(ever.items())[:5])
        msg = (
            f"{len(ever)} report(s) of the run(s) were queued or sent and may have reached the "
            f"register: {named}. The run cannot be undone; correct what it said with "
            "`substreg sync --accept-corrections` (D-20)"
        )
        raise UndoError(msg)


def _refuse_shredded(
    space: Workspace, chosen: list[Run], kept: list[Change], entries: list[Entry]
) -> None:
    """A run whose patient retention shredded since cannot be taken back: the codes and
    notes it would put back or seal are under a key destroyed for good (D-46, D-49)."""
    touched = {c.row_id for c in kept if c.kind in ("mapping", "state")}
    touched |= {e.mapping_id for e in entries if e.mapping_id is not None}
    if not touched:
        return
    shredded = space.journal.shredded(sorted(touched))
    if shredded:
        runs = ", ".join(r.run_id for r in chosen)
        msg = (
            f"the sync run(s) {runs} changed the treatment of mapping {shredded[0]}"
            f"{f' and {len(shredded) - 1} more' if len(shredded) > 1 else ''}, whose data key "
            "`substreg retention apply` destroyed since: its codes, notes and stored state "
            "cannot be put back, so the run(s) cannot be undone (D-49). Reject the reports of "
            "the run(s) that must not be sent (`substreg reports reject`), and sync as of "
            "the right day"
        )
        raise UndoError(msg)


def _report_action(space: Workspace, change: Change) -> str:
    """What the run did to a ledger row: `supersede` or `withdraw` (a journal of the first
    version of issue 9 does not say: told from the row). A withdrawn row is final
    (rejected); one that is not was changed since, and is not set back (D-49)."""
    before = change.before or {}
    entry = space.ledger.entry(change.row_id)
    action = before.get("by")
    if action is None:
        marked = entry.superseded and not before.get("superseded")
        action = "supersede" if marked else "withdraw"
    if action == "withdraw" and entry.state != "rejected":
        msg = (
            f"the report {change.row_id} that a run withdrew is {entry.state} now, not "
            "rejected: it was changed since, and undoing the run would set it back "
            "against the ledger's states. Nothing was changed; run `substreg audit verify`"
        )
        raise UndoError(msg)
    return str(action)


def _last_sync_after(space: Workspace, walked: dict[str, dict[str, Any] | None]) -> date | None:
    """The last sync's day once the walked patients are back where they stood."""
    stood = [
        date.fromisoformat(b["walked_to"]) for b in walked.values() if b and b.get("walked_to")
    ]
    others = space.journal.latest_walk_except(list(walked))
    latest = max([d for d in (*stood, others) if d is not None], default=None)
    return latest - timedelta(days=1) if latest is not None else None


def _take_back(space: Workspace, run_id: str, change: Change) -> None:
    before = change.before or {}
    if change.kind == "recorded":
        entry = space.ledger.entry(change.row_id)
        _withdraw(space, run_id, entry)
    elif change.kind == "report":
        _put_back(space, change)
    elif change.kind == "mapping":
        space.journal.restore(
            "mapping",
            change.row_id,
            {
                "status": before["status"],
                "first_use": _day(before.get("first_use")),
                "last_use": _day(before.get("last_use")),
                "closed_on": _day(before.get("closed_on")),
                "codes_nonce": _bytes(before.get("codes_nonce")),
                "codes_ct": _bytes(before.get("codes_ct")),
            },
        )
    elif change.kind == "state":
        # Derived afresh at the next sync (a state of format 0 is read as none), walked
        # from where it stood before the run.
        space.journal.restore(
            "state",
            change.row_id,
            {"format": 0, "live": True, "walked_to": _day(before.get("walked_to"))},
        )


def _put_back(space: Workspace, change: Change) -> None:
    """Take back only what the run did to the row: its superseded mark (the state the row
    reached since stays: it may have been sent and acknowledged), or its withdrawal (the
    row is still rejected, as the run left it: `_report_action`)."""
    before = change.before or {}
    entry = space.ledger.entry(change.row_id)
    if _report_action(space, change) == "supersede":
        if entry.superseded:
            space.ledger.rewrite(entry, superseded=False)
        return
    space.ledger.rewrite(
        entry,
        state=before["state"],
        note_nonce=_bytes(before.get("note_nonce")),
        note_ct=_bytes(before.get("note_ct")),
        slot_key=_slot_before(entry, before),
    )


def _slot_before(entry: Entry, before: dict[str, Any]) -> str:
    """The slot a withdrawn report had (D-80): as the journal kept it; a journal of an
    older version does not say, and its withdrawal kept the slot, unless a later sync freed
    it (`sync_withdrawn`): then it is the slot of the report's own kind, patient, doctor
    and date (a notice is never withdrawn)."""
    kept = before.get("slot_key")
    if kept is not None:
        return str(kept)
    if not is_freed(entry.slot_key):
        return entry.slot_key
    return slot_key(entry.kind, entry.mapping_id or PRACTICE, entry.doctor_btm, entry.report_date)


def _withdraw(space: Workspace, run_id: str, entry: Entry) -> None:
    """The report is kept as a record, rejected with a note, and its slot freed (D-80)."""
    note = f"withdrawn by `substreg runs undo` of the sync run {run_id}"
    space.ledger.withdraw(entry.ledger_id, by="undone", run_id=run_id, note=note)


def _bytes(value: str | None) -> bytes | None:
    return bytes.fromhex(value) if value is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


__all__ = ["UndoError", "UndoPlan", "list_runs", "plan_undo", "undo"]
