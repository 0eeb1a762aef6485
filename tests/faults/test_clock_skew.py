"""A clock wrong in either direction blocks nothing for good (issue 9.2).

One sync with the clock in the future recorded Abmeldungen dated after the real day, and
from then on every sync, `--rebuild` included, failed with "lies before the last sync".
Now a day more than 31 days after the newest day the data speaks of is refused, naming
that day (D-47), and a run whose reports were not sent can be undone with `substreg runs
undo` (D-49), after which the right day's sync records the right reports.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapter.errors import SyncError, UndoError
from adapter.services.sync_undo import plan_undo, undo
from adapter.store.workspace import Store
from tests.cli_helpers import CONFIG, DEMO, SYNC, Cli
from tests.storage import ACTOR, EVERY_KIND, ON_SQLITE_ONLY, Database, make_store, open_store
from tests.sync import fhir
from tests.sync.helpers import ledger, mark_sent, run_sync

START = date(2026, 3, 2)


def _practice(tmp_path: Path, last: date, name: str = "export") -> Path:
    """Two patients taking their drug daily from START to `last`."""
    return fhir.write_bundle(
        tmp_path / f"{name}.json",
        [
            fhir.doctor(),
            fhir.patient("p1"),
            fhir.patient("p2", given="Paul", family="Meier", gender="male"),
            *fhir.daily("p1", START, last),
            *fhir.daily("p2", START, last),
        ],
    )


def _held(store: Store) -> list[tuple[str, str, date, str]]:
    return sorted((h.report.kind, h.state, h.report.date, h.report.rule) for h in ledger(store))


# -- a day the data cannot mean ------------------------------------------------------------


def test_an_as_of_years_ahead_of_the_data_is_refused_naming_its_newest_day(
    db: Database, tmp_path: Path
) -> None:
    """The clock a year ahead: refused in one sentence that names the data's newest day
    and the latest day that can be synced; nothing is written."""
    store, _ = open_store(db, clock=lambda: datetime(2027, 6, 1, tzinfo=UTC))
    data = _practice(tmp_path, START + timedelta(days=9))
    with pytest.raises(SyncError) as refused:
        run_sync(store, [data], date(2027, 6, 1))
    message = str(refused.value)
    assert "newest day the data speaks of (2026-03-11" in message
    assert "give --as-of 2026-04-11 or earlier" in message
    assert ledger(store) == []


@ON_SQLITE_ONLY
def test_a_clock_in_the_future_stops_the_command_in_one_line(cli: Cli) -> None:
    """`substreg sync` without --as-of on a clock two years ahead: exit 2, one line."""
    cli.ok("init")
    cli.set_clock(datetime(2027, 12, 30, 9, 0, tzinfo=UTC))
    line = cli.refused("sync", str(DEMO), "--config", str(CONFIG))
    assert "--as-of 2027-12-30 lies" in line and "the clock or --as-of is wrong" in line
    assert cli.ledger_ids() == []


def test_a_depot_lets_the_day_reach_as_far_as_its_effect(db: Database, tmp_path: Path) -> None:
    """R-DATE-2: a Sixmo implant covers six months; the day may lie 31 days past its end,
    and the R-EP-3 Abmeldung after the implant is recorded."""
    store, _ = open_store(db, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    implant = fhir.administration("implant", "p1", START, "r1")
    implant["medicationCodeableConcept"] = {
        "coding": [{"system": "http://fhir.de/CodeSystem/bfarm/atc", "code": "N07BC01"}],
        "text": "Sixmo 74,2 mg Implantat",
    }
    data = fhir.write_bundle(
        tmp_path / "a.json",
        [fhir.doctor(), fhir.patient(), fhir.request("r1", "p1", START), implant],
    )
    result = run_sync(store, [data], date(2026, 9, 20))  # 202 days after the implant
    assert sorted(r.report.kind for r in result.recorded) == ["abmeldung", "anmeldung"]
    later, _ = make_store(f"sqlite:///{tmp_path / 'later.db'}")
    with pytest.raises(SyncError, match="newest day the data speaks of \\(2026-09-01"):
        run_sync(later, [data], date(2026, 10, 3))  # the implant's last day + 32


@ON_SQLITE_ONLY
def test_a_clock_gone_back_is_refused_and_names_the_undo(cli: Cli) -> None:
    """The clock a week behind the last sync: refused, and the refusal names the way out."""
    cli.synced()
    cli.set_clock(datetime(2025, 12, 20, 9, 0, tzinfo=UTC))
    line = cli.refused("sync", str(DEMO), "--config", str(CONFIG))
    assert "lies before the last sync (2025-12-31)" in line
    assert "`substreg runs undo`" in line


# -- a run under a wrong clock, taken back ----------------------------------------------------


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_run_under_a_wrong_clock_is_undone_and_the_right_day_syncs(
    db: Database, tmp_path: Path
) -> None:
    """The clock 20 days ahead records the two patients' Abmeldungen; the right day's sync
    is refused; undone, it syncs, and when they really stop, the same Abmeldungen (same
    slots) are recorded."""
    last = START + timedelta(days=9)
    store, _ = open_store(db)
    run_sync(store, [_practice(tmp_path, last)], last)
    wrong = run_sync(store, [_practice(tmp_path, last)], last + timedelta(days=20))
    assert [r.report.kind for r in wrong.recorded] == ["abmeldung", "abmeldung"]
    newer = _practice(tmp_path, last + timedelta(days=3), "newer")
    with pytest.raises(SyncError, match="lies before the last sync"):
        run_sync(store, [newer], last + timedelta(days=3))

    plan = plan_undo(store, ACTOR)
    assert [r.run_id for r in plan.runs] == [wrong.run_id]
    assert [e.kind for e in plan.withdraw] == ["abmeldung", "abmeldung"]
    assert plan.last_sync == last
    undo(store, ACTOR, (str(wrong.run_id),))

    right = run_sync(store, [newer], last + timedelta(days=3))
    assert right.recorded == []  # they came on: nothing ends
    stopped = run_sync(store, [newer], last + timedelta(days=3 + 11))
    assert [(r.report.kind, r.report.date) for r in stopped.recorded] == [
        ("abmeldung", last + timedelta(days=3))
    ] * 2
    assert _held(store).count(("abmeldung", "rejected", last, "R-EP-3")) == 2  # the withdrawn


def test_the_same_report_is_recorded_again_in_its_freed_slot(db: Database, tmp_path: Path) -> None:
    """Undone, and no new data: the Abmeldung dated the same day is due again and recorded
    (its slot was freed), the withdrawn one stays as a record."""
    last = START + timedelta(days=9)
    store, _ = open_store(db)
    data = _practice(tmp_path, last)
    run_sync(store, [data], last)
    wrong = run_sync(store, [data], last + timedelta(days=25))
    undo(store, ACTOR, (str(wrong.run_id),))
    again = run_sync(store, [data], last + timedelta(days=11))
    assert [(r.report.kind, r.report.date) for r in again.recorded] == [("abmeldung", last)] * 2
    states = [s for kind, s, day, _ in _held(store) if kind == "abmeldung"]
    assert sorted(states) == ["pending", "pending", "rejected", "rejected"]


def test_a_run_with_a_sent_report_cannot_be_undone(db: Database, tmp_path: Path) -> None:
    """A report that may have reached the register: refused, naming it; nothing changes."""
    last = START + timedelta(days=9)
    store, _ = open_store(db)
    data = _practice(tmp_path, last)
    run_sync(store, [data], last)
    run_sync(store, [data], last + timedelta(days=20))
    mark_sent(store)
    before = ledger(store)
    with pytest.raises(UndoError, match=r"were queued or sent .*\(sent\)"):
        plan_undo(store, ACTOR)
    assert ledger(store) == before


def test_undo_goes_back_over_several_runs_newest_first(db: Database, tmp_path: Path) -> None:
    """Three runs under a wrong clock: undoing back to the first takes back all three."""
    last = START + timedelta(days=9)
    store, _ = open_store(db)
    data = _practice(tmp_path, last)
    run_sync(store, [data], last)
    runs = [run_sync(store, [data], last + timedelta(days=d)).run_id for d in (12, 16, 20)]
    plan = plan_undo(store, ACTOR, runs[0])
    assert [r.run_id for r in plan.runs] == list(reversed(runs))
    undo(store, ACTOR, tuple(r.run_id for r in plan.runs))
    assert run_sync(store, [data], last + timedelta(days=2)).recorded == []
    with pytest.raises(UndoError, match=r"no sync run .* that can be undone"):
        plan_undo(store, ACTOR, runs[1])


# -- the command -----------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_runs_undo_shows_asks_and_is_audited(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """`runs undo` without a terminal needs --yes; at one it shows the run and the reports
    it withdraws; "no" keeps everything, --yes undoes it and the ledger still verifies."""
    cli.synced()
    stale = [*SYNC[:-1], "2026-01-20", "--accept-mass-end", "--format", "json"]
    assert len(cli.json(*stale)["recorded"]) == 5
    line = cli.refused("runs", "undo")
    assert "undoing would withdraw 5 unsent report(s) of 1 sync run(s)" in line
    monkeypatch.setattr("sys.stdin", _Terminal("no\n"))
    before = cli.tables()
    shown = cli.run("runs", "undo")
    assert shown.status == 2 and "Withdrawn, never sent (5;" in shown.out
    assert cli.tables() == before
    cli.ok("runs", "undo", "--yes")
    assert [e["details"] for e in cli.audit("sync.undo")]
    assert "OK: the chain is whole" in cli.ok("audit", "verify")
    listed = cli.ok("runs", "list")
    assert "undone" in listed
    cli.ok(*SYNC[:-1], "2026-01-05")  # the right day syncs again
