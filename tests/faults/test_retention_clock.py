"""Retention under a wrong clock or `--as-of` (issue 9.1).

`retention apply` trusted a future `--as-of` or clock: it shredded the keys of patients
still inside the ten years, and stored a cutoff in the future, after which every sync
dropped all earlier data without a finding. Now a day after today is refused, the
command shows what it will destroy (ids and treatment dates) and asks, and a stored
cutoff never lies in the future (D-46).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapter.errors import RetentionMarkError
from adapter.services.retention import apply_retention, plan_retention
from adapter.store.schema import data_key, retention_mark
from adapter.store.workspace import Workspace
from tests.cli_helpers import SYNC, Cli
from tests.storage import ACTOR, NOW, Database, make_store
from tests.store.helpers import raw_rows
from tests.sync import fhir
from tests.sync.helpers import run_sync

IN_2036 = datetime(2036, 12, 31, 9, 0, tzinfo=UTC)
MAPPING = re.compile(r"mapping ([0-9a-f-]{36})  treatment (\S+) – (\S+)")
DEMO_CODES = ("THREM249", "KAWOF315", "OLMÜM522", "MAVOM407")


class _Terminal(io.StringIO):
    """Standard input at a terminal, with a person's answer typed in."""

    def isatty(self) -> bool:
        return True


def _destroyed(cli: Cli) -> int:
    columns = cli.columns("data_key")
    rows = [dict(zip(columns, row, strict=True)) for row in cli.tables()["data_key"]]
    return sum(1 for row in rows if row["wrapped"] is None)


def test_an_as_of_after_today_is_refused_and_destroys_nothing(cli: Cli) -> None:
    """`--as-of` ten years ahead on a correct clock: exit 2, one line, no key destroyed."""
    cli.synced()
    before = cli.tables()
    line = cli.refused("retention", "apply", "--as-of", "2036-12-31", "--yes")
    assert "--as-of 2036-12-31 lies after today" in line
    assert cli.tables() == before
    assert _destroyed(cli) == 0


def test_without_a_terminal_and_without_yes_nothing_is_destroyed(cli: Cli) -> None:
    """A script (no terminal) that forgot --yes: one line saying what would be destroyed."""
    cli.synced()
    cli.set_clock(IN_2036)
    before = cli.tables()
    line = cli.refused("retention", "apply")
    assert "retention would destroy the data keys of 5 patient(s)" in line  # 3 named ones
    assert "give --yes" in line
    assert cli.tables() == before


def test_at_a_terminal_it_shows_the_plan_and_no_keeps_everything(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan names mapping ids and treatment dates, warns that the clock is ten years
    past the last sync, and "no" destroys nothing."""
    cli.synced()
    cli.set_clock(IN_2036)
    monkeypatch.setattr("sys.stdin", _Terminal("no\n"))
    before = cli.tables()
    result = cli.run("retention", "apply")
    assert result.status == 2
    assert "not confirmed: nothing was changed" in result.err
    assert len(MAPPING.findall(result.out)) == 5
    assert "Destroy the data keys of 5 patient(s)? Type yes to go on:" in result.out
    assert "the last sync was as of 2025-12-31, 4018 days before" in result.out
    assert not any(code in result.out for code in DEMO_CODES)
    assert cli.tables() == before


def test_at_a_terminal_yes_destroys_what_was_shown(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confirmed: exactly the mapping ids shown are shredded."""
    cli.synced()
    cli.set_clock(IN_2036)
    monkeypatch.setattr("sys.stdin", _Terminal("yes\n"))
    result = cli.run("retention", "apply")
    assert result.status == 0, result.err
    shown = {m[0] for m in MAPPING.findall(result.out)}
    columns = cli.columns("patient_mapping")
    rows = [dict(zip(columns, r, strict=True)) for r in cli.tables()["patient_mapping"]]
    assert {r["mapping_id"] for r in rows if r["status"] == "shredded"} == shown
    assert _destroyed(cli) == len(shown) == 5


def test_only_what_was_shown_is_destroyed(database: Database, tmp_path: Path) -> None:
    """A treatment that qualifies after the plan was shown is left for the next run."""
    store, _ = make_store(database.url, clock=lambda: IN_2036)
    start = date(2020, 3, 2)
    for patient in ("p1", "p2"):
        data = fhir.write_bundle(
            tmp_path / f"{patient}.json",
            [fhir.doctor(), fhir.patient(patient), *fhir.daily(patient, start, start)],
        )
        run_sync(store, [data], start + timedelta(days=20))
    plan = plan_retention(store, ACTOR, years=1)
    shown = frozenset({plan.shred[0].mapping_id})
    result = apply_retention(store, ACTOR, years=1, confirmed=shown)
    assert set(result.shredded) == shown
    assert len(plan_retention(store, ACTOR, years=1).shred) == 1


def test_the_store_never_keeps_a_cutoff_in_the_future(database: Database) -> None:
    """The guard holds below the service too: RetentionMark refuses tomorrow."""
    store, _ = make_store(database.url)

    def mark(space: Workspace) -> None:
        space.retention.advance(NOW.date() + timedelta(days=1))

    with pytest.raises(RetentionMarkError, match="lies after today"):
        store.run(ACTOR, mark)
    assert raw_rows(store, retention_mark) == []


def test_a_cutoff_left_in_the_future_is_repaired_and_new_patients_are_reported(
    database: Database, tmp_path: Path
) -> None:
    """A mark of 2036 (an older version under a wrong clock) once hid every event from
    sync: it is taken back, audited, and a new patient is reported."""
    store, _ = make_store(database.url)
    with store.engine.begin() as connection:
        connection.execute(
            retention_mark.insert().values(mark_id=1, cutoff=date(2026, 12, 31), applied_at=NOW)
        )
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
    cli: Cli,
) -> None:
    """Retention under a clock ten years ahead shredded treatments that ended up to the
    last day of the data, and left the mark in the future. The repair took it back only to
    the day after the last of them ended, still after today, so every sync repeated the
    warning; now it lies no later than today, the warning says which events stay ignored,
    and the next sync is quiet."""
    cli.synced()
    cli.set_clock(datetime(2036, 1, 10, 10, 0, tzinfo=UTC))
    cli.ok("retention", "apply", "--yes")
    cli.set_clock(datetime(2025, 12, 31, 11, 30, tzinfo=UTC))
    first = cli.json(*SYNC, "--format", "json")
    [warning] = [f for f in first["findings"] if "retention mark lay" in f["message"]]
    assert "It is now 2025-12-31" in warning["message"]
    assert "events dated from 2025-12-31 on are read again" in warning["message"]
    assert "those before 2025-12-31 stay ignored" in warning["message"]
    columns = cli.columns("retention_mark")
    [mark] = [dict(zip(columns, r, strict=True)) for r in cli.tables()["retention_mark"]]
    assert str(mark["cutoff"]) <= "2025-12-31"  # SQLite hands the day back as text
    again = cli.json(*SYNC, "--format", "json")
    assert not [f for f in again["findings"] if "retention mark" in f["message"]]


@pytest.mark.parametrize("years", ["2025", "1000000"], ids=["the-year-itself", "a-million"])
def test_a_retention_period_reaching_before_the_year_one_is_refused_in_one_line(
    cli: Cli, years: str
) -> None:
    """`--years 2025 --as-of 2025-12-31` gave `ValueError: year 0 is out of range`."""
    cli.synced()
    line = cli.refused("retention", "apply", "--years", years, "--as-of", "2025-12-31", "--dry-run")
    assert f"--years {years} reaches back before the year 1 from 2025-12-31" in line
