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
from sqlalchemy import Connection, delete, func, select, update

from adapter.store.schema import patient_mapping, patient_state, report, sync_run, sync_run_change

KEPT_RUNS = 30
_REPORT = ("state", "superseded", "note_nonce", "note_ct")
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
    """One run's journal, written at its end (`finish`), and the runs kept."""

    def __init__(self, connection: Connection, now: datetime) -> None:
        self.connection = connection
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
        self._before("report", report, report.c.ledger_id, ledger_ids, _REPORT, by=action)

    def mappings_before(self, mapping_ids: list[str]) -> None:
        self._before(
            "mapping", patient_mapping, patient_mapping.c.mapping_id, mapping_ids, _MAPPING
        )

    def states_before(self, mapping_ids: list[str]) -> None:
        """Where each patient's walk stood before (a patient new to the run: missing)."""
        found = self._before(
            "state", patient_state, patient_state.c.mapping_id, mapping_ids, ("walked_to", "live")
        )
        for mapping_id in set(mapping_ids) - found:
            self._note("state", mapping_id, _json({"missing": True}))

    def _before(
        self,
        kind: str,
        table: Any,
        key: Any,
        ids: list[str],
        columns: tuple[str, ...],
        **extra: str,
    ) -> set[str]:
        wanted = [i for i in dict.fromkeys(ids) if (kind, i) not in self._seen]
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            rows = self.connection.execute(
                select(key, *(table.c[c] for c in columns)).where(
                    key.in_(wanted[start : start + 500])
                )
            )
            for row in rows:
                values = row._asdict()
                row_id = str(values.pop(key.name))
                found.add(row_id)
                self._note(kind, row_id, _json(values | extra))
        return found

    def _note(self, kind: str, row_id: str, before: str | None) -> None:
        if (kind, row_id) not in self._seen:  # the first state of a row in the run counts
            self._seen.add((kind, row_id))
            self._changes.append((kind, row_id, before))

    # -- the run's row --------------------------------------------------------------------

    def finish(self, as_of: date, actor: str, recorded: int) -> str:
        """Write the run and its changes; drop the changes of runs older than KEPT_RUNS."""
        seq = (
            self.connection.execute(select(func.coalesce(func.max(sync_run.c.seq), 0))).scalar_one()
            + 1
        )
        self.connection.execute(
            sync_run.insert().values(
                run_id=self.run_id,
                seq=seq,
                as_of=as_of,
                made_at=self.now,
                actor=actor,
                recorded=recorded,
                state="done",
            )
        )
        if self._changes:
            self.connection.execute(
                sync_run_change.insert(),
                [
                    {"run_id": self.run_id, "item": n, "kind": k, "row_id": r, "before": b}
                    for n, (k, r, b) in enumerate(self._changes, start=1)
                ],
            )
        old = select(sync_run.c.run_id).where(sync_run.c.seq <= seq - KEPT_RUNS)
        self.connection.execute(delete(sync_run_change).where(sync_run_change.c.run_id.in_(old)))
        return self.run_id


def runs(connection: Connection, limit: int = 20) -> list[Run]:
    """The newest runs first, with whether their changes are still kept."""
    kept = select(sync_run_change.c.run_id).distinct()
    newest = connection.execute(select(func.max(sync_run.c.seq))).scalar_one() or 0
    rows = connection.execute(select(sync_run).order_by(sync_run.c.seq.desc()).limit(limit)).all()
    with_changes = set(connection.execute(kept).scalars())
    return [
        Run(
            r.run_id,
            r.seq,
            r.as_of,
            r.made_at,
            r.actor,
            r.recorded,
            r.state,
            r.state == "done" and (r.run_id in with_changes or r.seq > newest - KEPT_RUNS),
        )
        for r in rows
    ]


def changes(connection: Connection, run_id: str) -> list[Change]:
    rows = connection.execute(
        select(sync_run_change)
        .where(sync_run_change.c.run_id == run_id)
        .order_by(sync_run_change.c.item)
    )
    return [Change(r.kind, r.row_id, orjson.loads(r.before) if r.before else None) for r in rows]


def mark_undone(connection: Connection, run_id: str, now: datetime) -> None:
    connection.execute(
        update(sync_run).where(sync_run.c.run_id == run_id).values(state="undone", undone_at=now)
    )
