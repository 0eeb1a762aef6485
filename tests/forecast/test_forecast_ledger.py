"""The forecast of stored data counts the ledger (N7, D-226): an Abmeldung a blanket
deregistration ended is no deadline but settled, naming the Pauschalabmeldung (R-PAU-1,
D-166); a blanket a person rejects ends nothing, and the deadline is back. On the demo
practice synced as of 2025-12-31, on the twin, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from adapter.domain.duplicate_notice import DuplicateNotice, OtherDoctor
from adapter.domain.forecast import Forecast
from adapter.export.forecast import forecast_text
from adapter.mappings import load_mappings
from adapter.services.bulk_reports import blanket_deregistration
from adapter.services.duplicates import resolve
from adapter.services.forecast import stored_forecast
from adapter.services.reports import decide
from adapter.settings.practice import load_config
from adapter.store.workspace import Store
from tests.cli_helpers import CONFIG, DEMO, REUTER
from tests.storage import ACTOR, Database, make_store, make_twin
from tests.sync.helpers import run_sync

AS_OF = date(2025, 12, 31)
FALKNER = "3990101"  # the demo's doctor with four patients open on 2025-12-31


def _forecast(store: Store) -> Forecast:
    config = load_config(CONFIG)
    return stored_forecast(
        store, ACTOR, as_of=AS_OF, days=30, config=config, mappings=load_mappings()
    )


def _synced(store: Store) -> Store:
    run_sync(store, [DEMO], AS_OF, config=load_config(CONFIG))
    return store


def _falkner(found: Forecast) -> list[str]:
    """The codes of Falkner's Abmeldungen among the deadlines."""
    return sorted(
        d.report.patient_code or ""
        for d in found.deadlines
        if d.report.kind == "abmeldung" and d.report.doctor.btm_number == FALKNER
    )


def _blanket_settles_falkner_s_abmeldungen(store: Store) -> None:
    before = _forecast(store)
    ended = _falkner(before)
    assert len(ended) == 4 and REUTER in ended and before.settled == []
    [blanket] = blanket_deregistration(
        store, ACTOR, doctor=FALKNER, day=AS_OF, today=date(2026, 1, 2)
    ).recorded[FALKNER]
    after = _forecast(store)
    assert _falkner(after) == [] and len(after.deadlines) == len(before.deadlines) - 4
    assert sorted(s.report.patient_code or "" for s in after.settled) == ended
    for settled in after.settled:
        assert "ended by the Pauschalabmeldung of 2025-12-31 (pending)" in settled.why
        assert f"BtM {FALKNER} (R-PAU-1)" in settled.why
    text = forecast_text(after)
    assert "Not made, as the ledger stands: 4" in text
    assert all(f"({code})" not in text.split("Open phases")[1] for code in ended)

    decide(store, ACTOR, [blanket], "reject", reason="sent by mistake")
    again = _forecast(store)
    assert _falkner(again) == ended and again.settled == []


def test_a_blanket_deregistration_settles_the_abmeldungen_it_ended() -> None:
    """On the twin: Falkner's four 10-day Abmeldungen leave the deadlines for `settled`,
    each naming the Pauschalabmeldung and its state; rejected, they are due again."""
    _blanket_settles_falkner_s_abmeldungen(_synced(make_twin()[0]))


def test_a_blanket_deregistration_settles_the_abmeldungen_on_sql(database: Database) -> None:
    """The same through the SQL rows of the ledger."""
    _blanket_settles_falkner_s_abmeldungen(_synced(make_store(database.url)[0]))


@pytest.mark.parametrize(
    "last_use", [AS_OF, date(2025, 12, 20)], ids=["the-data-s-day", "an-earlier-day"]
)
def test_an_abmeldung_the_doctors_agreed_settles_the_data_s_abmeldung(last_use: date) -> None:
    """A duplicate notice answered `--continues other` records an Abmeldung of origin
    agreement; sync makes no 10-day Abmeldung of the data beside it (D-171), so the forecast
    lists that under `settled`, naming the agreement, not as a deadline (D-253)."""
    store = _synced(make_twin()[0])
    other = OtherDoctor("Dr. Anna Beispiel", "7654321", "Hauptstr. 1, 10115 Berlin", AS_OF)
    notice = DuplicateNotice("Az. 2026-0042", date(2026, 1, 2), FALKNER, REUTER, (other,))
    done = resolve(store, ACTOR, notice, "other", today=date(2026, 1, 2), last_use=last_use)
    found = _forecast(store)
    assert REUTER not in _falkner(found)
    [settled] = [s for s in found.settled if s.report.patient_code == REUTER]
    assert "the doctors' agreement on a duplicate notice" in settled.why
    assert f"report {done.ledger_id}" in settled.why
    assert len(found.deadlines) == len(_forecast(_synced(make_twin()[0])).deadlines) - 1
