"""The handover documents received (R-HO-1): the registration each states, sealed.

A row's clear columns are the document's id, the signer's key fingerprint, the state
(`open`, then `released` once the sending doctor's Abmeldung is made) and times; the
registration (code, registering doctor's BtM number, since when) is sealed under a data
key of the row's own. Sync opens the open rows to hold back a second Anmeldung under the
same code (R-EP-5, D-162): few rows, opened each time, never an index of codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import orjson

from adapter.store.keys import KeyStore
from adapter.store.rows import HandoverRows

_FIELD = "registration"
_BERLIN = ZoneInfo("Europe/Berlin")
OPEN, RELEASED, RETURNED, REPLACED = "open", "released", "returned", "replaced"


@dataclass(frozen=True, slots=True)
class Incoming:
    """A handover received, with the registration it states (opened)."""

    handover_id: str
    signer: str
    state: str
    received_at: datetime
    released_on: date | None  # the day it was released or the patient returned
    code: str
    doctor_btm: str | None
    since: date
    day: date  # the handover day (day 1 of the substitute time); received_at's for old rows
    sender: str | None = None  # the sending facility as the document names it (None: older)


@dataclass(frozen=True, slots=True)
class Ended:
    """A handover that ended: its id, how, and on which day (clear columns)."""

    handover_id: str
    state: str
    ended_on: date


class IncomingHandovers:
    def __init__(self, rows: HandoverRows, keys: KeyStore, now: datetime) -> None:
        self.rows = rows
        self.keys = keys
        self.now = now

    def record(
        self,
        handover_id: str,
        signer: str,
        code: str,
        doctor_btm: str | None,
        since: date,
        *,
        day: date | None = None,
        sender: str | None = None,
    ) -> bool:
        """Keep a received registration as open; False when this document came before.
        `day`: the handover day the document states, `sender` the facility it names
        (sealed with the registration: a facility's name says where the patient was)."""
        if any(r["handover_id"] == handover_id for r in self.rows.rows()):
            return False
        dek_id = self.keys.create_data_key("handover")
        values = {
            "code": code,
            "doctor_btm": doctor_btm,
            "since": since,
            "day": day,
            "sender": sender,
        }
        plain = orjson.dumps(values)
        sealed = self.keys.seal(dek_id, handover_id, _FIELD, plain)
        row = {
            "handover_id": handover_id,
            "dek_id": dek_id,
            "signer": signer,
            "state": OPEN,
            "received_at": self.now,
            "released_on": None,
            "nonce": sealed.nonce,
            "ct": sealed.ct,
        }
        return self.rows.add(row)

    def open_of(self, code: str, other_than: str) -> str | None:
        """The id of an open handover stating `code`, other than `other_than` (a second
        copy of one registration would be a second hold, R-EP-5); None when none is."""
        found = [h for h in self.listed(OPEN) if h.code == code and h.handover_id != other_than]
        return found[0].handover_id if found else None

    def replace(self, handover_id: str, on: date) -> None:
        """Mark an open handover `replaced`: a newer copy of the same registration was
        received and holds in its place (one hold per registration, R-EP-5, D-201)."""
        self.rows.set_state(handover_id, REPLACED, on)

    def listed(self, state: str | None = None) -> list[Incoming]:
        """The handovers received (of `state`), each opened with its data key."""
        rows = self.rows.rows(state)
        self.keys.preload([row["dek_id"] for row in rows])
        found = []
        for row in rows:
            plain = self.keys.open(
                row["dek_id"], row["handover_id"], _FIELD, row["nonce"], row["ct"]
            )
            values = orjson.loads(plain)
            found.append(
                Incoming(
                    row["handover_id"],
                    row["signer"],
                    row["state"],
                    row["received_at"],
                    row["released_on"],
                    values["code"],
                    values["doctor_btm"],
                    date.fromisoformat(values["since"]),
                    _day(values.get("day"), row["received_at"]),
                    values.get("sender"),
                )
            )
        return found

    def end(self, handover_id: str, state: str, on: date) -> bool:
        """Mark an open handover `released` (the sending doctor's Abmeldung was made) or
        `returned` (the patient went back); False when there is no open one of that id."""
        if not any(r["handover_id"] == handover_id for r in self.rows.rows(OPEN)):
            return False
        return self.rows.set_state(handover_id, state, on)

    def ended_before(self, cutoff: date) -> list[Ended]:
        """The handovers released or returned before `cutoff` (clear columns only)."""
        return [
            Ended(r["handover_id"], r["state"], r["released_on"])
            for r in self.rows.rows()
            if r["state"] != OPEN and r["released_on"] is not None and r["released_on"] < cutoff
        ]

    def destroy(self, handover_id: str) -> None:
        """Retention: the row's data key goes (the registration it sealed with it), then
        the row; an open handover is never destroyed (it holds a registration back)."""
        for row in self.rows.rows():
            if row["handover_id"] == handover_id and row["state"] != OPEN:
                self.keys.destroy_data_key(row["dek_id"])
                self.rows.remove(handover_id)

    def state_of(self, handover_id: str) -> Ended | None:
        """The state of the handover of that id and the day it ended (the day it was
        received, in Berlin, while open); None when none was received (clear columns)."""
        for r in self.rows.rows():
            if r["handover_id"] == handover_id:
                day = r["released_on"] or r["received_at"].astimezone(_BERLIN).date()
                return Ended(r["handover_id"], r["state"], day)
        return None

    def ended_on(self, handover_id: str, state: str) -> date | None:
        """The day a handover of that id was ended as `state`; None when it was not."""
        found = [r for r in self.rows.rows(state) if r["handover_id"] == handover_id]
        return found[0]["released_on"] if found else None


def _day(stated: str | None, received_at: datetime) -> date:
    """The handover day sealed in the row; for a row of an older version, which kept none,
    the day it was received (in Berlin)."""
    if stated:
        return date.fromisoformat(stated)
    return received_at.astimezone(_BERLIN).date()
