"""Sync runs, and what each changed, so that one whose reports were not sent can be undone
(issue 9.2, D-49).

A run writes its row and, as it goes, what it is about to change with the columns as
they were: the reports it recorded (new rows), the ledger rows it superseded or withdrew,
the mapping rows and patient states it updated. Ciphertexts are kept as they were (hex in
canonical JSON), never opened. Only the newest `KEPT_RUNS` runs keep their changes: an
undo goes back from the newest run, and older ones have long been built on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from adapter.store.rows import Row, RunRows

KEPT_RUNS = 30
_REPORT = ("state", "superseded", "note_nonce", "note_ct", "slot_key")
_MAPPING = ("status", "first_use", "last_use", "closed_on", "codes_nonce", "codes_ct")


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    seq: int
    as_of: date
    made_at: datetime
    actor: str
    recorded: int
    state: str
    undoable: bool  # its changes are still kept


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # recorded, report, mapping, state
    row_id: str
    before: dict[str, Any] | None  # a report's also says `by`: supersede or withdraw


def _json(values: dict[str, Any]) -> str:
    def plain(value: object) -> object:
        if isinstance(value, bytes | memoryview):
            return bytes(value).hex()
        if isinstance(value, date):
            return value.isoformat()
        return value

    return orjson.dumps(
        {str(k): plain(v) for k, v in values.items()}, option=orjson.OPT_SORT_KEYS
    ).decode()


class RunJournal:
    """One run's journal, written at its end (`finish`); and the runs kept, with what each
    changed, taken back by `runs undo` (`runs`, `changes`, `restore`, `mark_undone`)."""

    def __init__(self, rows: RunRows, now: datetime) -> None:
        self.rows = rows
        self.now = now
        self.run_id = str(uuid.uuid4())
        self._changes: list[tuple[str, str, str | None]] = []
        self._seen: set[tuple[str, str]] = set()

    # -- what the run changes -------------------------------------------------------------

    def recorded(self, ledger_ids: list[str]) -> None:
        self._changes += [("recorded", i, None) for i in ledger_ids]

    def reports_before(self, ledger_ids: list[str], action: str) -> None:
        """Ledger rows the run is about to supersede or withdraw (`action`), as they were:
        an undo takes back only that (the mark, the withdrawal), never a later state."""
        self._before("report", ledger_ids, _REPORT, by=action)

    def mappings_before(self, mapping_ids: list[str]) -> None:
        self._before("mapping", mapping_ids, _MAPPING)

    def states_before(self, mapping_ids: list[str]) -> None:
        """Where each patient's walk stood before (a patient new to the run: missing)."""
        found = self._before("state", mapping_ids, ("walked_to", "live"))
        for mapping_id in set(mapping_ids) - found:
            self._note("state", mapping_id, _json({"missing": True}))

    def _before(
        self, kind: str, ids: list[str], columns: tuple[str, ...], **extra: str
    ) -> set[str]:
        wanted = [i for i in dict.fromkeys(ids) if (kind, i) not in self._seen]
        found = self.rows.columns(kind, wanted, columns)
        for row_id in wanted:
            if row_id in found:
                self._note(kind, row_id, _json(found[row_id] | extra))
        return set(found)

    def _note(self, kind: str, row_id: str, before: str | None) -> None:
        if (kind, row_id) not in self._seen:  # the first state of a row in the run counts
            self._seen.add((kind, row_id))
            self._changes.append((kind, row_id, before))

    # -- the run's row --------------------------------------------------------------------

    def finish(self, as_of: date, actor: str, recorded: int) -> str:
        """Write the run and its changes; drop the changes of runs older than KEPT_RUNS."""
        seq = self.rows.newest_seq() + 1
        self.rows.add_run(
            {
                "run_id": self.run_id,
                "seq": seq,
                "as_of": as_of,
                "made_at": self.now,
                "actor": actor,
                "recorded": recorded,
                "state": "done",
            }
        )
        self.rows.add_changes(
            [
                {"run_id": self.run_id, "item": n, "kind": k, "row_id": r, "before": b}
                for n, (k, r, b) in enumerate(self._changes, start=1)
            ]
        )
        self.rows.drop_changes_through(seq - KEPT_RUNS)
        return self.run_id

    # -- the runs kept, and taking one back -----------------------------------------------

    def runs(self, limit: int = 20) -> list[Run]:
        """The newest runs first, with whether their changes are still kept."""
        newest = self.rows.newest_seq()
        rows = self.rows.runs(limit)
        with_changes = self.rows.with_changes()
        return [
            Run(
                r["run_id"],
                r["seq"],
                r["as_of"],
                r["made_at"],
                r["actor"],
                r["recorded"],
                r["state"],
                r["state"] == "done"
                and (r["run_id"] in with_changes or r["seq"] > newest - KEPT_RUNS),
            )
            for r in rows
        ]

    def changes(self, run_id: str) -> list[Change]:
        return [
            Change(r["kind"], r["row_id"], orjson.loads(r["before"]) if r["before"] else None)
            for r in self.rows.changes(run_id)
        ]

    def restore(self, kind: str, row_id: str, values: Row) -> None:
        """Put back columns of a mapping or a patient state as the journal kept them (a
        report is put back by the ledger, which seals and chains it)."""
        self.rows.restore(kind, row_id, values, self.now)

    def mark_undone(self, run_id: str) -> None:
        self.rows.mark_undone(run_id, self.now)

    def shredded(self, mapping_ids: list[str]) -> list[str]:
        """The mappings among `mapping_ids` that retention shredded, sorted."""
        statuses = self.rows.columns("mapping", mapping_ids, ("status",))
        return sorted(i for i, row in statuses.items() if row["status"] == "shredded")

    def latest_walk_except(self, mapping_ids: list[str]) -> date | None:
        """The furthest walk of the patients other than `mapping_ids`."""
        return self.rows.latest_walk_except(mapping_ids)
