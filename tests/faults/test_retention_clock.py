"""Retention under a wrong clock or `--as-of` (issue 9.1).

`retention apply` trusted a future `--as-of` or clock: it shredded the keys of patients
still inside the ten years, and stored a cutoff in the future, after which every sync
dropped all earlier data without a finding. Now a day after today is refused, the
command shows what it will destroy (ids and treatment dates) and asks, and a stored
cutoff never lies in the future (D-46).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapter.errors import RetentionError
from adapter.services.retention import apply_retention, plan_retention
from adapter.store.schema import data_key, resource_seen, retention_mark
from adapter.store.workspace import Workspace
from tests.cli_helpers import CONFIG, DEMO, Cli
from tests.storage import ACTOR, EVERY_KIND, NOW, ON_SQLITE_ONLY, Database, open_store
from tests.store.helpers import delete, insert, raw_rows
from tests.sync import fhir
from tests.sync.helpers import run_sync

IN_2036 = datetime(2036, 12, 31, 9, 0, tzinfo=UTC)
IN_2037 = datetime(2037, 6, 1, 10, 0, tzinfo=UTC)
MAPPING = re.compile(r"mapping ([0-9a-f-]{36})  treatment (\S+) – (\S+)")
DEMO_CODES = ("THREM249", "KAWOF315", "OLMÜM522", "MAVOM407")
SHREDDED = 11  # every demo patient with a drug: all treatments ended by 2026


class _Terminal(io.StringIO):
    """Standard input at a terminal, with a person's answer typed in."""

    def isatty(self) -> bool:
        return True


def _destroyed(cli: Cli) -> int:
    columns = cli.columns("data_key")
    rows = [dict(zip(columns, row, strict=True)) for row in cli.tables()["data_key"]]
    return sum(1 for row in rows if row["wrapped"] is None)


@ON_SQLITE_ONLY
def test_an_as_of_after_today_is_refused_and_destroys_nothing(cli: Cli) -> None:
    """`--as-of` ten years ahead on a correct clock: exit 2, one line, no key destroyed."""
    cli.synced()
    before = cli.tables()
    line = cli.refused("retention", "apply", "--as-of", "2036-12-31", "--yes")
    assert "--as-of 2036-12-31 lies after today" in line
    assert cli.tables() == before
    assert _destroyed(cli) == 0


def _ten_years_on(cli: Cli) -> None:
    """The demo synced; its export stopped, so the open treatments ended by R-EP-3 (a sync
    with --accept-mass-end); the practice's syncs went on, and it is 2036 now."""
    cli.synced()
    cli.ok("sync", str(DEMO), "--config", str(CONFIG), "--as-of", "2026-01-31", "--accept-mass-end")
    cli.set_clock(IN_2036)
    cli.ok("sync", str(DEMO), "--config", str(CONFIG), "--as-of", "2036-12-31")


@ON_SQLITE_ONLY
@pytest.mark.parametrize(
    "as_of", [None, "2037-06-01"], ids=["by-the-clock", "as-of-the-wrong-clocks-day"]
)
def test_a_clock_years_after_the_last_sync_is_refused_and_destroys_nothing(
    cli: Cli, as_of: str | None
) -> None:
    """The review's case: `retention apply --yes` under a clock 4,170 days after the last
    sync destroyed the keys of treatments inside the ten years, with a note only. A day
    more than 31 days after the last sync (D-47's tolerance) is refused in one line, the
    clock's or an --as-of (D-81)."""
    cli.synced()
    cli.set_clock(IN_2037)
    before = cli.tables()
    argv = ["--as-of", as_of] if as_of else []
    line = cli.refused("retention", "apply", *argv, "--yes")
    assert "lies 4170 days after the last sync (as of 2025-12-31)" in line
    assert "Check the clock" in line
    assert "--as-of a day no later than 2026-01-31" in line
    assert cli.tables() == before
    assert _destroyed(cli) == 0


@ON_SQLITE_ONLY
def test_an_as_of_near_the_last_sync_under_a_wrong_clock_shows_the_clock_in_doubt(
    cli: Cli,
) -> None:
    """With the clock still wrong, --as-of a day near the last sync is taken; the plan
    shows the last sync and the clock's today, and nothing is ten years old."""
    cli.synced()
    cli.set_clock(IN_2037)
    out = cli.ok("retention", "apply", "--as-of", "2026-01-15", "--dry-run")
    assert "the last sync was as of 2025-12-31, 4170 days before" in out
    assert _destroyed(cli) == 0


@ON_SQLITE_ONLY
def test_without_a_terminal_and_without_yes_nothing_is_destroyed(cli: Cli) -> None:
    """A script (no terminal) that forgot --yes: one line saying what would be destroyed."""
    _ten_years_on(cli)
    before = cli.tables()
    line = cli.refused("retention", "apply", "--clock-checked")
    assert f"retention would destroy the data keys of {SHREDDED} patient(s)" in line
    assert "give --yes" in line
    assert cli.tables() == before


@ON_SQLITE_ONLY
def test_at_a_terminal_it_shows_the_plan_and_no_keeps_everything(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan names mapping ids and treatment dates, no code, and "no" destroys nothing."""
    _ten_years_on(cli)
    monkeypatch.setattr("sys.stdin", _Terminal("no\n"))
    before = cli.tables()
    result = cli.run("retention", "apply", "--clock-checked")
    assert result.status == 2
    assert "not confirmed: nothing was changed" in result.err
    assert len(MAPPING.findall(result.out)) == SHREDDED
    assert f"Destroy the data keys of {SHREDDED} patient(s)? Type yes to go on:" in result.out
    assert not any(code in result.out for code in DEMO_CODES)
    assert cli.tables() == before


def test_at_a_terminal_yes_destroys_what_was_shown(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confirmed: exactly the mapping ids shown are shredded."""
    _ten_years_on(cli)
    monkeypatch.setattr("sys.stdin", _Terminal("yes\n"))
    result = cli.run("retention", "apply", "--clock-checked")
    assert result.status == 0, result.err
    shown = {m[0] for m in MAPPING.findall(result.out)}
    columns = cli.columns("patient_mapping")
    rows = [dict(zip(columns, r, strict=True)) for r in cli.tables()["patient_mapping"]]
    assert {r["mapping_id"] for r in rows if r["status"] == "shredded"} == shown
    assert _destroyed(cli) == len(shown) == SHREDDED


def test_only_what_was_shown_is_destroyed(db: Database, tmp_path: Path) -> None:
    """A treatment that qualifies after the plan was shown is left for the next run."""
    store, _ = open_store(db, clock=lambda: IN_2036)
    start = date(2020, 3, 2)
    for patient in ("p1", "p2"):
        data = fhir.write_bundle(
            tmp_path / f"{patient}.json",
            [fhir.doctor(), fhir.patient(patient), *fhir.daily(patient, start, start)],
        )
        run_sync(store, [data], start + timedelta(days=20))
    run_sync(store, [data], IN_2036.date())  # the syncs went on; nobody walked (D-47)
    plan = plan_retention(store, ACTOR, years=1, clock_checked=True)
    shown = frozenset({plan.shred[0].mapping_id})
    result = apply_retention(store, ACTOR, years=1, confirmed=shown, clock_checked=True)
    assert set(result.shredded) == shown
    assert len(plan_retention(store, ACTOR, years=1, clock_checked=True).shred) == 1


def test_a_database_never_synced_has_no_last_sync_to_bound_the_day(db: Database) -> None:
    """Nothing synced, nothing to destroy: retention as of today plans nothing, keeps no
    cutoff, and is not refused for want of a last sync."""
    store, _ = open_store(db, clock=lambda: IN_2037)
    result = apply_retention(store, ACTOR, clock_checked=True)
    assert (result.shredded, result.cutoff) == ((), date(2027, 6, 1))
    assert raw_rows(store, retention_mark) == []
    with pytest.raises(RetentionError, match="lies after today"):
        plan_retention(store, ACTOR, as_of=date(2037, 6, 2))


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_cutoff_left_in_the_future_is_repaired_and_new_patients_are_reported(
    db: Database, tmp_path: Path
) -> None:
    """A mark of 2036 (an older version under a wrong clock) once hid every event from
    sync: it is taken back, audited, and a new patient is reported."""
    store, _ = open_store(db)
    insert(store, retention_mark, mark_id=1, cutoff=date(2026, 12, 31), applied_at=NOW)
    day = NOW.date() - timedelta(days=20)
    data = fhir.write_bundle(
        tmp_path / "a.json", [fhir.doctor(), fhir.patient(), *fhir.daily("p1", day, day)]
    )
    result = run_sync(store, [data], NOW.date())
    assert [r.report.kind for r in result.recorded] == ["anmeldung", "abmeldung"]
    assert [f.severity for f in result.findings if "retention mark lay" in f.message] == ["warning"]
    assert raw_rows(store, retention_mark) == []
    assert raw_rows(store, data_key)  # nothing was destroyed by the repair


def test_a_repaired_mark_lies_no_later_than_today_and_the_warning_says_what_is_read(
    db: Database, tmp_path: Path
) -> None:
    """An earlier version's retention under a clock years ahead shredded p1 (ended
    2026-11-10) and kept the mark 2036-12-31. The next sync takes it back to the day after
    the last shredded treatment ended (today at the latest), says which events stay
    ignored, and the sync after it says nothing of a repair (D-46)."""
    store, _ = open_store(db)
    day = NOW.date() - timedelta(days=21)
    data = fhir.write_bundle(
        tmp_path / "a.json", [fhir.doctor(), fhir.patient(), *fhir.daily("p1", day, day)]
    )
    run_sync(store, [data], NOW.date())

    def as_the_earlier_version_left_it(space: Workspace) -> None:
        [mapping] = space.mappings.readable()
        space.mappings.shred(mapping)
        space.retention.rows.put(date(2036, 12, 31), NOW)

    store.run(ACTOR, as_the_earlier_version_left_it)
    delete(store, resource_seen)  # it kept nothing of the resources read
    first = run_sync(store, [data], NOW.date())
    [warning] = [f for f in first.findings if "retention mark lay" in f.message]
    after = (day + timedelta(days=1)).isoformat()
    assert f"It is now {after}" in warning.message
    assert f"events dated from {after} on are read again" in warning.message
    assert f"those before {after} stay ignored" in warning.message
    assert [r["cutoff"] for r in raw_rows(store, retention_mark)] == [day + timedelta(days=1)]
    again = run_sync(store, [data], NOW.date())
    assert not [f for f in again.findings if "retention mark lay" in f.message]
    assert again.recorded == []


@ON_SQLITE_ONLY
@pytest.mark.parametrize("years", ["2025", "1000000"], ids=["the-year-itself", "a-million"])
def test_a_retention_period_reaching_before_the_year_one_is_refused_in_one_line(
    cli: Cli, years: str
) -> None:
    """`--years 2025 --as-of 2025-12-31` gave `ValueError: year 0 is out of range`."""
    cli.synced()
    line = cli.refused("retention", "apply", "--years", years, "--as-of", "2025-12-31", "--dry-run")
    assert f"--years {years} reaches back before the year 1 from 2025-12-31" in line


def test_a_sync_that_walks_nobody_under_a_wrong_clock_does_not_open_the_way(cli: Cli) -> None:
    """Every treatment ended; a sync under a clock eleven years ahead walks nobody and is
    let through (D-47). Retention under that clock is still refused: it counts from the
    newest day the data speaks of (D-85), and destroys nothing; a person who checked the
    clock says so with --clock-checked."""
    config = ("--config", str(CONFIG))
    cli.set_clock(datetime(2026, 2, 10, 9, 0, tzinfo=UTC))
    cli.ok("init")
    cli.run("sync", str(DEMO), *config, "--as-of", "2025-12-31")
    ended = cli.run("sync", str(DEMO), *config, "--as-of", "2026-02-04", "--accept-mass-end")
    assert ended.status == 0, ended.err
    cli.set_clock(datetime(2037, 6, 1, 9, 0, tzinfo=UTC))
    walked = cli.run("sync", str(DEMO), *config)
    assert walked.status == 0, walked.err
    before = cli.tables()
    line = cli.refused("retention", "apply", "--yes")
    assert "newest day the synced data speaks of" in line
    assert "Today by this machine's clock (2037-06-01)" in line
    assert "--clock-checked" in line
    assert cli.tables() == before
    checked = cli.run("retention", "apply", "--yes", "--clock-checked")
    assert checked.status == 0, checked.err
    assert "shredded" in checked.out.lower() or "destroy" in checked.out.lower()


def _ended_everything(cli: Cli, folder: Path = DEMO) -> None:
    """The demo synced, then every treatment ended (R-EP-3), under a right clock."""
    config = ("--config", str(CONFIG))
    cli.set_clock(datetime(2026, 2, 10, 9, 0, tzinfo=UTC))
    cli.ok("init")
    cli.run("sync", str(folder), *config, "--as-of", "2025-12-31")
    ended = cli.run("sync", str(folder), *config, "--as-of", "2026-02-04", "--accept-mass-end")
    assert ended.status == 0, ended.err


@ON_SQLITE_ONLY
def test_a_planned_episode_end_far_ahead_proves_no_time_passed(cli: Cli, tmp_path: Path) -> None:
    """A planned end (an EpisodeOfCare period ending in 2035) is no event: under a clock
    in 2036 the data's newest event is still 2026, and retention is refused (D-85)."""
    folder = tmp_path / "export"
    shutil.copytree(DEMO, folder)
    patients = folder / "patients.json"
    text = patients.read_text()
    bundle = json.loads(text)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "EpisodeOfCare" and resource["id"] == "eoc-1006":
            resource["period"]["end"] = "2035-12-31"
    patients.write_text(json.dumps(bundle))
    _ended_everything(cli, folder)
    cli.set_clock(datetime(2036, 1, 20, 9, 0, tzinfo=UTC))
    cli.run("sync", str(folder), "--config", str(CONFIG))
    before = cli.tables()
    line = cli.refused("retention", "apply", "--yes")
    assert re.search(r"newest day the synced data speaks of \(202[56]-", line), line
    assert cli.tables() == before


def test_an_unreadable_newest_day_makes_retention_ask_for_a_checked_clock(cli: Cli) -> None:
    """A synced database whose practice state cannot be read shows nothing about the
    clock: retention is refused unless a person says the clock was checked (D-85)."""
    _ended_everything(cli)
    cli.execute("UPDATE practice_state SET format = 0")
    before = cli.tables()
    line = cli.refused("retention", "apply", "--yes", "--as-of", "2026-02-10")
    assert "cannot be read" in line and "--clock-checked" in line
    assert cli.tables() == before
    assert cli.run("retention", "apply", "--yes", "--clock-checked").status == 0
