"""The report ledger: every report with its state, its exact payload (sealed) and why.

A row's clear columns are our own ids, the kind, the doctor's BtM number, dates, the
rule and the state; the payload (the report exactly as the register receives it, with
the patient code and the resources it rests on) is sealed under the patient's data
key, so that crypto-shredding a patient also shreds their reports' contents. Every row
carries a keyed seal over its columns, is checked against it and against the audit log's
last record of it before it is changed or used, and each version of it is chained into
the audit log (`ledger_integrity`, `ledger_seal`, D-44).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any

from adapter.domain.ledger import freed_slot, transition_problem
from adapter.domain.model import Report
from adapter.domain.payload import report_bytes, report_from_bytes
from adapter.domain.reconcile import PRACTICE, Planned, Reported
from adapter.errors import DamagedDataError, LedgerError, ShreddedError, UnknownReportError
from adapter.store.keys import KeyStore
from adapter.store.ledger_entry import Entry, entry_of
from adapter.store.ledger_integrity import SealedRows
from adapter.store.ledger_seal import deleted_problem, note_digest
from adapter.store.rows import LedgerRows, Row

_PAYLOAD, _NOTE = "payload", "note"

__all__ = ["Entry", "Ledger", "LedgerError"]


class Ledger(SealedRows):
    def __init__(self, rows: LedgerRows, keys: KeyStore, now: datetime) -> None:
        super().__init__(rows, keys)
        self.now = now
        # Rows `reported` could not use (ledger id → subject, why): damaged payloads, rows
        # that fail their seal or the audit log's last record of them, rows the log recorded
        # and the ledger lacks; the caller leaves their subjects alone (issue 9.6, D-44).
        self.unreadable: dict[str, tuple[str, str]] = {}
        self._practice_key: str | None = None

    # -- recording ----------------------------------------------------------------------

    def record(self, planned: Planned, dek_id: str) -> str | None:
        return self.record_many([(planned, dek_id)])[0]

    def record_many(self, items: list[tuple[Planned, str]]) -> list[str | None]:
        """Record planned reports as pending (waived ones as rejected). Each gets its
        ledger id, or None when its slot was recorded already, by this run or a parallel
        one: the UNIQUE slot decides (ON CONFLICT DO NOTHING … RETURNING)."""
        rows = [self._row(planned, dek_id) for planned, dek_id in items]
        if not rows:
            return []
        inserted = self.rows.insert_new(rows)
        for row in rows:
            if row["ledger_id"] in inserted:
                self.wrote(row)
        return [str(r["ledger_id"]) if r["ledger_id"] in inserted else None for r in rows]

    def _row(self, planned: Planned, dek_id: str) -> dict[str, object]:
        ledger_id = str(uuid.uuid4())
        sealed = self.keys.seal(dek_id, ledger_id, _PAYLOAD, report_bytes(planned.report))
        r = planned.report
        row: dict[str, object] = {
            "ledger_id": ledger_id,
            "slot_key": planned.slot,
            "mapping_id": None if planned.subject == PRACTICE else planned.subject,
            "kind": r.kind,
            "doctor_btm": r.doctor.btm_number or "",
            "report_date": r.date,
            "made_on": r.made_on,
            "rule": r.rule,
            "origin": planned.origin,
            "superseded": False,
            "state": "rejected" if planned.origin == "waived" else "pending",
            "dek_id": dek_id,
            "payload_nonce": sealed.nonce,
            "payload_ct": sealed.ct,
            "payload_digest": hashlib.sha256(sealed.nonce + sealed.ct).digest(),
            "created_at": self.now,
            "updated_at": self.now,
        }
        return row | self.seal.seal({**row, "note_digest": None})

    def supersede(self, ledger_ids: list[str]) -> None:
        for ledger_id in ledger_ids:
            self.rewrite(self.entry(ledger_id), superseded=True)

    def rewrite(self, entry: Entry, **values: object) -> Entry:
        """Change columns of a row that still matches its seal and the audit log's last
        record of it, and seal it anew; a row changed or set back outside substreg is never
        sealed over (LedgerIntegrityError)."""
        self.require_intact(entry, chained=True)
        columns = entry.columns() | values
        if "note_ct" in values:
            columns["note_digest"] = note_digest(columns["note_nonce"], columns["note_ct"])
        sealed = self.seal.seal(columns)
        # Guarded by the state and seal read: a parallel move wins, this one fails.
        changes = {**values, **sealed, "updated_at": self.now}
        if not self.rows.update_guarded(entry.ledger_id, entry.state, entry.row_mac, changes):
            msg = f"The report {entry.ledger_id} was changed by another run; look at it again."
            raise LedgerError(msg)
        changed = self.entry(entry.ledger_id)
        self.wrote(changed.columns())
        return changed

    # -- reading ------------------------------------------------------------------------

    def entries(
        self,
        *,
        state: str | None = None,
        mapping_ids: list[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[Entry]:
        rows = self.rows.rows(state=state, mapping_ids=mapping_ids, since=since, until=until)
        return [entry_of(row) for row in rows]

    def ids(self) -> list[str]:
        """Every ledger id the ledger holds."""
        return self.rows.ids()

    def entry(self, ledger_id: str) -> Entry:
        return entry_of(self._stored(ledger_id))

    def _stored(self, ledger_id: str) -> Row:
        row = self.rows.row(ledger_id)
        if row is None:
            msg = f"There is no report {ledger_id} in the ledger (`substreg reports list`)."
            raise UnknownReportError(msg)
        return row

    def payload(self, entry: Entry) -> Report:
        """The report as recorded; ShreddedError once its data key is gone."""
        nonce, ct = entry.sealed_payload or self._sealed_payload(entry.ledger_id)
        return report_from_bytes(self.keys.open(entry.dek_id, entry.ledger_id, _PAYLOAD, nonce, ct))

    def _sealed_payload(self, ledger_id: str) -> tuple[bytes, bytes]:
        row = self._stored(ledger_id)
        return row["payload_nonce"], row["payload_ct"]

    def reported(self, mapping_ids: list[str], *, notices: bool = False) -> list[Reported]:
        """The ledger as the reconciler sees it, for some patients (and the notices). A
        row that fails its seal or is not what the audit log last recorded of it (set
        back to an older version), a row the log recorded but the ledger lacks, and a
        payload that cannot be read are not used: their subjects are in `unreadable`."""
        rows = [entry_of(row) for row in self.rows.rows(mapping_ids=mapping_ids, notices=notices)]
        chained = self.chained_of(mapping_ids, notices=notices)
        problems = self.problems(rows, chained)
        self._note_deleted(chained, {e.ledger_id for e in rows}, set(mapping_ids), notices)
        self.keys.preload([e.dek_id for e in rows])
        result = []
        for entry in rows:
            subject = entry.mapping_id or PRACTICE
            if entry.ledger_id in problems:
                failed = f"report {entry.ledger_id} fails its integrity check: "
                self.unreadable[entry.ledger_id] = (subject, failed + problems[entry.ledger_id])
                continue
            try:
                payload = self._readable_payload(entry)
            except DamagedDataError as exc:
                self.unreadable[entry.ledger_id] = (subject, str(exc))
                continue
            result.append(_reported(entry, payload))
        return result

    def _note_deleted(
        self,
        chained: dict[str, dict[str, Any]],
        present: set[str],
        subjects: set[str],
        notices: bool,
    ) -> None:
        """Rows of these subjects that the audit log recorded and the ledger lacks."""
        for ledger_id, last in chained.items():
            subject = last.get("mapping_id")
            wanted = subject in subjects if subject is not None else notices
            if wanted and ledger_id not in present:
                problem = deleted_problem(ledger_id, last) + "."
                self.unreadable[ledger_id] = (subject or PRACTICE, problem)

    def _readable_payload(self, entry: Entry) -> Report | None:
        if entry.kind == "mitteilung":
            return None  # notices carry no code; the reconciler needs none of them
        try:
            return self.payload(entry)
        except ShreddedError:
            return None

    def note(self, entry: Entry) -> str | None:
        row = self._stored(entry.ledger_id)
        if row["note_ct"] is None:
            return None
        return self.keys.open(
            entry.dek_id, entry.ledger_id, _NOTE, row["note_nonce"], row["note_ct"]
        ).decode()

    # -- state changes -----------------------------------------------------------------

    def move(self, ledger_id: str, new_state: str, *, note: str | None = None) -> Entry:
        """Move a report to `new_state` (R-CH-2 ledger states); a person's note is sealed."""
        entry = self.entry(ledger_id)
        problem = transition_problem(entry.state, new_state)
        if problem is not None:
            msg = f"The report {ledger_id} cannot become {new_state}: {problem}."
            raise LedgerError(msg)
        values: dict[str, object] = {"state": new_state}
        if note:
            sealed = self.keys.seal(entry.dek_id, ledger_id, _NOTE, note.encode())
            values.update(note_nonce=sealed.nonce, note_ct=sealed.ct)
        return self.rewrite(entry, **values)

    def withdraw(self, ledger_id: str, *, by: str, run_id: str, note: str) -> Entry:
        """Take back a report not yet sent (sync, D-28; `runs undo`, D-49): it stays as the
        record, rejected with the note, and gives up its slot, so that the report is made
        again when the data calls for it again (D-80). A report rejected already (waived,
        never sent) only gives up its slot."""
        entry = self.entry(ledger_id)
        values: dict[str, object] = {"slot_key": freed_slot(by, run_id, ledger_id)}
        if entry.state != "rejected":
            problem = transition_problem(entry.state, "rejected")
            if problem is not None:
                msg = f"The report {ledger_id} cannot be withdrawn: {problem}."
                raise LedgerError(msg)
            sealed = self.keys.seal(entry.dek_id, ledger_id, _NOTE, note.encode())
            values.update(state="rejected", note_nonce=sealed.nonce, note_ct=sealed.ct)
        return self.rewrite(entry, **values)

    def annotate(self, ledger_id: str, note: str) -> Entry:
        """Add a line to a report's note (sealed) without moving it: why a submission
        left it where it is (a refused certificate, a missing receipt)."""
        entry = self.entry(ledger_id)
        earlier = self.note(entry)
        text = f"{earlier}\n{note}" if earlier else note
        sealed = self.keys.seal(entry.dek_id, ledger_id, _NOTE, text.encode())
        return self.rewrite(entry, note_nonce=sealed.nonce, note_ct=sealed.ct)

    def practice_key(self) -> str:
        """The data key of the notices (they belong to no patient); made on first use.
        Looked up once per transaction: only patients' keys are ever destroyed."""
        if self._practice_key is None:
            dek_id = self.keys.first_data_key_of("practice")
            self._practice_key = dek_id or self.keys.create_data_key("practice")
        return self._practice_key


def _reported(entry: Entry, payload: Report | None) -> Reported:
    return Reported(
        ledger_id=entry.ledger_id,
        subject=entry.mapping_id or PRACTICE,
        kind=entry.kind,
        doctor=entry.doctor_btm,
        date=entry.report_date,
        code=payload.patient_code if payload else None,
        state=entry.state,
        origin=entry.origin,  # type: ignore[arg-type]
        superseded=entry.superseded,
        report=payload,
        stored_slot=entry.slot_key,
    )
