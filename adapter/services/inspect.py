"""`substreg inspect ledger ID | mapping ID`: what of one row can be read, and what is
damaged (issue 9.6), never what it says.

Each sealed part is opened and checked, and only the verdict is shown: ok, damaged
(fails authentication: changed outside substreg), shredded (retention), missing. No code,
reference or payload is printed, so an inspection is no re-identification; it is audited
all the same, since it opens the patient's data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from adapter.errors import DamagedDataError, LedgerError, ShreddedError, StoredRecordsError
from adapter.fhir.partition import PatientRecords, load
from adapter.services.sync_state import load_state
from adapter.store.audit import Actor
from adapter.store.ledger import Entry
from adapter.store.mapping_index import index_problem
from adapter.store.mappings import MappingRow
from adapter.store.workspace import Store, Workspace

OK, DAMAGED, SHREDDED, MISSING = "ok", "damaged", "shredded", "missing"


@dataclass(frozen=True, slots=True)
class Check:
    part: str  # what was looked at: "payload", "stored state", "archive batch 2" …
    verdict: str  # ok, damaged, shredded, missing, or a plain value (a status, a count)
    why: str = ""

    @property
    def failed(self) -> bool:
        return self.verdict in (DAMAGED, MISSING)


@dataclass(frozen=True, slots=True)
class Inspection:
    subject: str  # "report <id>" or "mapping <id>"
    checks: tuple[Check, ...]

    @property
    def damaged(self) -> bool:
        return any(c.failed for c in self.checks)


def inspect_ledger(store: Store, actor: Actor, ledger_id: str) -> Inspection:
    def look(space: Workspace) -> Inspection:
        entry = space.ledger.entry(ledger_id)
        checks = [
            Check("mapping", entry.mapping_id or "– (a notice of the practice)"),
            Check("state", entry.state),
            _data_key(space, entry.dek_id),
            _seal(space, entry),
            _payload(space, entry),
            _note(space, entry),
        ]
        return _audited(space, actor, f"report {ledger_id}", checks, ledger_id=ledger_id)

    return store.run(actor, look)


def inspect_mapping(store: Store, actor: Actor, mapping_id: str) -> Inspection:
    def look(space: Workspace) -> Inspection:
        try:
            mapping = space.mappings.get(mapping_id)
        except KeyError:
            msg = f"There is no mapping {mapping_id} (mapping ids are in `substreg reports list`)."
            raise LedgerError(msg) from None
        checks = [
            Check("status", mapping.status),
            _data_key(space, mapping.dek_id),
            _opened("reference", lambda: space.mappings.reference_of(mapping)),
            _opened("codes", lambda: space.mappings.codes_of(mapping)),
            Check("index rows", str(space.mappings.index_rows_of(mapping_id))),
            _index(space, mapping),
            *_stored(space, mapping),
            *_reports(space, mapping_id),
        ]
        return _audited(space, actor, f"mapping {mapping_id}", checks, mapping_id=mapping_id)

    return store.run(actor, look)


def _audited(
    space: Workspace,
    actor: Actor,
    subject: str,
    checks: list[Check],
    *,
    mapping_id: str | None = None,
    ledger_id: str | None = None,
) -> Inspection:
    found = Inspection(subject, tuple(checks))
    space.audit.append(
        actor,
        "inspect",
        mapping_id=mapping_id,
        ledger_id=ledger_id,
        details={"damaged": sum(c.failed for c in checks)},
    )
    return found


def _opened(part: str, read: Callable[[], object]) -> Check:
    """Open one sealed part; only the verdict leaves this function."""
    try:
        read()
    except ShreddedError:
        return Check(part, SHREDDED, "its data key was destroyed after the retention period")
    except (DamagedDataError, StoredRecordsError) as exc:
        return Check(part, DAMAGED, str(exc))
    return Check(part, OK)


def _index(space: Workspace, mapping: MappingRow) -> Check:
    """Whether the patient index finds the row by its own (sealed) reference."""
    if mapping.status == SHREDDED:
        return Check("index", SHREDDED, "retention removed it with the data key")
    try:
        problem = index_problem(space.mappings, mapping)
    except (DamagedDataError, ShreddedError, StoredRecordsError) as exc:
        return Check("index", DAMAGED, f"its reference cannot be read to check it: {exc}")
    return Check("index", OK) if problem is None else Check("index", DAMAGED, problem)


def _data_key(space: Workspace, dek_id: str) -> Check:
    if not space.keys.has_data_key(dek_id):
        return Check(f"data key {dek_id}", MISSING, "deleted behind substreg's back")
    return _opened(f"data key {dek_id}", lambda: space.keys.data_key(dek_id))


def _seal(space: Workspace, entry: Entry) -> Check:
    problem = space.ledger.problem(entry, chained=True)
    return (
        Check("seal and audit log", OK)
        if problem is None
        else Check("seal and audit log", DAMAGED, problem)
    )


def _payload(space: Workspace, entry: Entry) -> Check:
    def read() -> None:
        report = space.ledger.payload(entry)
        told = (report.kind, report.date, report.made_on, report.rule)
        if told != (entry.kind, entry.report_date, entry.made_on, entry.rule):
            msg = "it does not say what the row's columns say (kind, dates, rule)"
            raise StoredRecordsError(msg)

    return _opened("payload", read)


def _note(space: Workspace, entry: Entry) -> Check:
    if entry.note_digest is None:
        return Check("note", "none")
    return _opened("note", lambda: space.ledger.note(entry))


def _stored(space: Workspace, mapping: MappingRow) -> list[Check]:
    """The stored state and each archived batch of the patient (sync's facts)."""

    def opener(
        field: str, nonce: bytes, ct: bytes, parse: Callable[[bytes], object]
    ) -> Callable[[], object]:
        return lambda: parse(space.keys.open(mapping.dek_id, mapping.mapping_id, field, nonce, ct))

    checks = []
    state, archive = space.facts.sealed_rows(mapping.mapping_id)
    if state is not None:
        parse_state = partial(load_state, int(state["format"]))
        read_state = opener("state", state["nonce"], state["ct"], parse_state)
        checks.append(_opened("stored state", read_state))
    for row in archive:
        read = opener(
            f"archive/{row['seq']}", row["nonce"], row["ct"], partial(load, PatientRecords)
        )
        checks.append(_opened(f"stored records, batch {row['seq']}", read))
    return checks


def _reports(space: Workspace, mapping_id: str) -> list[Check]:
    checks = []
    for entry in space.ledger.entries(mapping_ids=[mapping_id]):
        seal, payload = _seal(space, entry), _payload(space, entry)
        bad = next((c for c in (seal, payload) if c.failed), None)
        checks.append(
            Check(
                f"report {entry.ledger_id}",
                bad.verdict if bad else payload.verdict,
                bad.why if bad else "",
            )
        )
    return checks
