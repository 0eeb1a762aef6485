"""The forecast of what sync keeps (`stored_forecast`, `GET /forecast`, D-190) is the
forecast of the files sync read, each patient named by its pseudonym: on every worked
case, public and our own, synced as of its day, from that day and from the day before each
of its first reports (the deadlines then lie in the horizon)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from adapter.export.forecast import forecast_json
from adapter.mappings import load_mappings
from adapter.services.forecast import OTHER_CONFIG, forecast, stored_forecast
from adapter.services.stored_practice import stored_practice
from adapter.settings.practice import PracticeConfig, load_config
from tests.forecast.test_forecast_agrees_with_derive import CASES, _days_before_reports
from tests.storage import ACTOR, make_twin
from tests.sync.helpers import run_sync

MAPPINGS = load_mappings()
CONFIG = PracticeConfig()


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_the_stored_forecast_is_the_forecast_of_the_files(case: Path) -> None:
    """Byte for byte the same JSON document once the keys are renamed, but for `ledger`:
    the stored forecast counted the ledger, which on these cases settles nothing (D-226)."""
    paths = [case / "input.json"]
    as_of = date.fromisoformat(json.loads((case / "expected.json").read_text())["as_of"])
    store, _ = make_twin()
    assert run_sync(store, paths, as_of).run_id is not None
    names = store.read(lambda space: stored_practice(space, CONFIG, MAPPINGS).pseudonyms)
    for day in [*_days_before_reports(case), as_of]:
        got = stored_forecast(store, ACTOR, as_of=day, days=45, config=CONFIG, mappings=MAPPINGS)
        want = replace(forecast(paths, as_of=day, days=45).renamed(names), ledger=True)
        assert forecast_json(got) == forecast_json(want), day


def test_the_stored_forecast_without_btm_numbers_says_what_derive_withholds() -> None:
    """Synced and forecast without the doctors' BtM numbers: the R-DOC-1 finding of derive,
    each open phase withheld, none "nothing due" (D-252)."""
    demo = Path(__file__).resolve().parents[2] / "demo"
    store, _ = make_twin()
    run_sync(store, [demo], date(2025, 12, 31))
    got = stored_forecast(
        store, ACTOR, as_of=date(2025, 12, 20), days=30, config=CONFIG, mappings=MAPPINGS
    )
    assert {f.rule for f in got.findings} == {"R-DOC-1"}
    assert got.open_phases
    assert all(p.withheld for p in got.open_phases)
    assert not any("Patient/" in s for f in got.findings for s in f.sources)


def test_a_forecast_without_the_last_syncs_config_warns_that_it_differs() -> None:
    """Synced with the demo's practice.toml: forecast without it says its configuration is
    not the last sync's (only the fingerprint is kept, D-252); with it, no such warning."""
    demo = Path(__file__).resolve().parents[2] / "demo"
    config = load_config(demo / "practice.toml")
    store, _ = make_twin()
    run_sync(store, [demo], date(2025, 12, 31), config=config)
    day = date(2025, 12, 20)
    bare = stored_forecast(store, ACTOR, as_of=day, days=30, config=CONFIG, mappings=MAPPINGS)
    same = stored_forecast(store, ACTOR, as_of=day, days=30, config=config, mappings=MAPPINGS)
    assert bare.findings[0] == OTHER_CONFIG
    assert len(bare.deadlines) == 0
    assert all(p.withheld for p in bare.open_phases)
    assert same.findings == []
    assert len(same.deadlines) == 5
