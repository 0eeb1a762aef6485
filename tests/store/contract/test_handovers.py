"""The handover rows' contract (`HandoverRows`) and the received handovers on them, on every
backend: the registration is stored sealed, opens again, and is released (R-HO-1, D-162)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapter.crypto import generate_keyring
from adapter.store.handovers import OPEN, RELEASED, IncomingHandovers
from adapter.store.keys import KeyStore
from adapter.store.workspace import Database
from tests.storage import NOW

BERLIN = ZoneInfo("Europe/Berlin")

RING = generate_keyring(NOW.isoformat())
DOC = "0b7f3c9e-8a51-4c2e-9d7a-1f2e3d4c5b6a"
OTHER = "6d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"


def _handovers(rows: Any, now: Any = NOW) -> IncomingHandovers:
    return IncomingHandovers(rows.handovers, KeyStore(rows.keys, RING, now), now)


def test_a_received_registration_is_sealed_and_opens_again(backend_db: Database) -> None:
    """The code is nowhere in the row in clear; listed, it opens with its data key."""
    with backend_db.transaction() as rows:
        assert _handovers(rows).record(DOC, "ab12 cd34", "THREM249", "3990101", date(2025, 1, 7))
    with backend_db.transaction(write=False) as rows:
        [stored] = rows.handovers.rows()
        assert b"THREM249" not in stored["ct"]
        assert "THREM249" not in repr(stored)
        [found] = _handovers(rows).listed()
    assert (found.handover_id, found.state, found.code) == (DOC, OPEN, "THREM249")
    assert (found.doctor_btm, found.since, found.signer) == (
        "3990101",
        date(2025, 1, 7),
        "ab12 cd34",
    )


def test_the_same_document_is_recorded_once(backend_db: Database) -> None:
    """A document imported twice keeps its first row and says so."""
    with backend_db.transaction() as rows:
        assert _handovers(rows).record(DOC, "s", "THREM249", "3990101", date(2025, 1, 7))
    with backend_db.transaction() as rows:
        assert not _handovers(rows).record(DOC, "s", "THREM249", "3990101", date(2025, 1, 7))
        assert len(rows.handovers.rows()) == 1


def test_a_released_handover_is_no_longer_open(backend_db: Database) -> None:
    """`end` moves one row to released with its day; the others stay open."""
    with backend_db.transaction() as rows:
        _handovers(rows).record(DOC, "s", "THREM249", "3990101", date(2025, 1, 7))
        _handovers(rows, NOW + timedelta(minutes=1)).record(
            OTHER, "s", "CLBUF919", "3800101", date(2025, 9, 1)
        )
    with backend_db.transaction() as rows:
        assert _handovers(rows).end(DOC, RELEASED, date(2026, 1, 12))
        assert not _handovers(rows).end(DOC, RELEASED, date(2026, 1, 13))  # no longer open
        assert not _handovers(rows).end("no-such-document", RELEASED, date(2026, 1, 12))
    with backend_db.transaction(write=False) as rows:
        assert [h.code for h in _handovers(rows).listed(OPEN)] == ["CLBUF919"]
        [released] = _handovers(rows).listed(RELEASED)
    assert (released.handover_id, released.released_on) == (DOC, date(2026, 1, 12))


def test_a_replaced_handover_stops_being_open_and_keeps_its_day(backend_db: Database) -> None:
    """The handover day sealed with the registration opens again (received_at's day for a
    row without one); `replace` ends the older one as `replaced` (D-201, D-202)."""
    with backend_db.transaction() as rows:
        handovers = _handovers(rows)
        handovers.record(DOC, "s", "THREM249", "3990101", date(2025, 1, 7))
        handovers.record(OTHER, "s", "THREM249", "3990101", date(2025, 1, 7), day=date(2025, 5, 15))
        assert handovers.open_of("THREM249", OTHER) == DOC
        handovers.replace(DOC, date(2025, 5, 16))
        assert handovers.open_of("THREM249", OTHER) is None
    with backend_db.transaction(write=False) as rows:
        found = {h.handover_id: h for h in _handovers(rows).listed()}
    assert (found[DOC].state, found[DOC].released_on) == ("replaced", date(2025, 5, 16))
    assert found[DOC].day == found[DOC].received_at.astimezone(BERLIN).date()
    assert (found[OTHER].state, found[OTHER].day) == (OPEN, date(2025, 5, 15))


def test_the_sender_is_sealed_and_the_state_of_a_document_is_told(backend_db: Database) -> None:
    """D-247: the sending facility is kept sealed with the registration (None for a row
    of an older version); `state_of` tells a document's state and day, or None."""
    with backend_db.transaction() as rows:
        handovers = _handovers(rows)
        handovers.record(DOC, "s", "THREM249", "3990101", date(2025, 1, 7))
        handovers.record(OTHER, "s", "THREM249", "3990101", date(2025, 1, 7), sender="JVA Waldheim")
        handovers.replace(DOC, date(2025, 5, 16))
    with backend_db.transaction(write=False) as rows:
        [stored] = [r for r in rows.handovers.rows() if r["handover_id"] == OTHER]
        assert "Waldheim" not in repr(stored)
        handovers = _handovers(rows)
        found = {h.handover_id: h.sender for h in handovers.listed()}
        assert found == {DOC: None, OTHER: "JVA Waldheim"}
        replaced, opened = handovers.state_of(DOC), handovers.state_of(OTHER)
        assert handovers.state_of("no-such-document") is None
    assert replaced is not None and (replaced.state, replaced.ended_on) == (
        "replaced",
        date(2025, 5, 16),
    )
    assert opened is not None and (opened.state, opened.ended_on) == (
        OPEN,
        NOW.astimezone(BERLIN).date(),
    )
