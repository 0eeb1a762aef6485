"""`substreg forecast` as a person and a pipeline use it: a list to read, JSON for tools,
one line and exit 2 for what cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapter.cli.main import MAX_HORIZON
from adapter.services.forecast import MAX_DAYS
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[2]
DEMO, CONFIG = ROOT / "demo", ROOT / "demo" / "practice.toml"
DEMO_ARGS = ["forecast", str(DEMO), "--config", str(CONFIG), "--as-of", "2025-12-31"]


@pytest.fixture(autouse=True)
def _no_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No database set up in this shell, whatever the runner's: the files-only note of
    D-226 would be on stderr (tests/handover/test_forecast_ledger.py tests it)."""
    for name in ("SUBSTREG_DATABASE_URL", "SUBSTREG_DATABASE_URL_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./substreg.db here


def test_the_demo_practice_sees_its_ten_day_deadlines_and_the_withheld_patient(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run([*DEMO_ARGS, "--days", "30"], capsys)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Deadlines after 2025-12-31 to 2026-01-30: 5"
    assert lines[1].startswith("  2026-01-11  Patient/1001 (THREM249): 10-day rule (R-EP-3)")
    # A patient without a code has an open phase but nothing can be reported: it says so.
    assert "Patient/1008 (no patient code: its reports are withheld, see derive)" in out
    for name, birth_date in demo_people():  # a name or a birth date never shows
        assert name not in out
        assert birth_date not in out


def demo_people() -> list[tuple[str, str]]:
    bundle = json.loads((DEMO / "patients.json").read_text())
    people = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert len(people) >= 8
    return [(p["name"][0]["family"], p["birthDate"]) for p in people]


def test_json_gives_each_deadline_with_its_report_and_each_open_phase_its_next_day(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run([*DEMO_ARGS, "--days", "14", "--format", "json"], capsys)
    assert status == 0
    document = json.loads(out)
    assert (document["as_of"], document["until"]) == ("2025-12-31", "2026-01-14")
    first = document["deadlines"][0]
    assert set(first) == {"due", "patient", "kind", "rule", "why", "report"}
    assert first["report"]["id"].startswith("abm-")
    assert first["report"]["made_on"] == first["due"] == "2026-01-11"
    by_patient = {p["patient"]: p for p in document["open_phases"]}
    assert by_patient["Patient/1001"]["next_due"] == "2026-01-11"
    assert by_patient["Patient/1008"]["next_due"] is None
    assert by_patient["Patient/1008"]["patient_code"] is None


@pytest.mark.parametrize("days", ["0", "-3", "367", "two"])
def test_a_horizon_outside_one_to_366_days_is_one_line_and_exit_2(
    days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run([*DEMO_ARGS, "--days", days], capsys)
    assert (status, out) == (2, "")
    assert f"'{days}' is not a number of days from 1 to 366" in err
    assert len(err.strip().splitlines()) <= 2  # argparse's usage line and the message


def test_a_missing_export_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["forecast", str(tmp_path / "gone.json"), "--days", "7"], capsys)
    assert (status, out) == (2, "")
    assert err.startswith("substreg: ") and "gone.json" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["forecast"], "needs a PATH of FHIR data, or --stored"),
        (["forecast", str(DEMO), "--stored"], "--stored reads what sync keeps: give no PATH"),
    ],
    ids=["neither-path-nor-stored", "path-and-stored"],
)
def test_files_or_the_store_one_of_them_else_one_line_and_exit_2(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """D-226: `forecast PATH` reads files, `forecast --stored` what sync keeps; not both."""
    status, out, err = run(argv, capsys)
    assert (status, out) == (2, "")
    assert err.startswith("substreg: ") and said in err and len(err.splitlines()) == 1


def test_the_command_line_and_the_use_case_agree_on_the_longest_horizon() -> None:
    assert MAX_HORIZON == MAX_DAYS == 366


def test_a_day_long_after_the_data_warns_instead_of_showing_nothing_due(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo (newest day 2026-01-04, a take-home's reach) forecast on 2026-12-07: the
    first line warns that the data stops 337 days before, and JSON says `stale` (D-210)."""
    args = ["forecast", str(DEMO), "--config", str(CONFIG), "--as-of", "2026-12-07"]
    status, out, err = run(args, capsys)
    assert (status, err) == (0, "")
    first = out.splitlines()[0]
    assert first.startswith("Warning: the data's newest day is 2026-01-04, 337 days before")
    assert "substreg derive … --as-of 2026-12-07" in first
    status, out, _ = run([*args, "--format", "json"], capsys)
    document = json.loads(out)
    assert (document["newest_day"], document["stale"]) == ("2026-01-04", True)


@pytest.mark.parametrize(
    ("as_of", "stale"),
    [("2026-02-04", False), ("2026-02-05", True)],
    ids=["31-days-after-the-data", "32-days-after"],
)
def test_the_warning_starts_after_the_longest_wait_the_rules_have(
    capsys: pytest.CaptureFixture[str], as_of: str, stale: bool
) -> None:
    """31 days after the newest day a report can still be ahead (R-ABS's 31st day): no
    warning; from the 32nd day the forecast warns."""
    args = ["forecast", str(DEMO), "--config", str(CONFIG), "--as-of", as_of, "--format"]
    status, out, _ = run([*args, "json"], capsys)
    assert status == 0
    assert json.loads(out)["stale"] is stale
    _, text, _ = run([*args, "text"], capsys)
    assert text.startswith("Warning:") is stale


@pytest.mark.parametrize("form", ["text", "json"])
def test_without_the_doctors_btm_numbers_the_phases_are_withheld_not_quiet(
    form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --config: derive withholds every report (R-DOC-1), so the forecast gives the same
    finding and counts those phases as withheld, never as "nothing due" (D-252)."""
    args = ["forecast", str(DEMO), "--as-of", "2025-12-20", "--days", "30", "--format", form]
    status, out, err = run(args, capsys)
    assert (status, err) == (0, "")
    if form == "text":
        assert "Open phases whose reports are withheld (no BtM number, R-DOC-1): 6" in out
        assert "error R-DOC-1: Practitioner/arzt-1 has no BtM number" in out
        assert "Open phases with nothing due by 2026-01-19: 0" in out
        return
    document = json.loads(out)
    assert {f["rule"] for f in document["findings"]} == {"R-DOC-1"}
    assert all(f["severity"] == "error" for f in document["findings"])
    assert all(p["withheld"] for p in document["open_phases"])


def test_with_the_btm_numbers_nothing_is_withheld(capsys: pytest.CaptureFixture[str]) -> None:
    """With the practice's config every doctor has a number: no finding, no withheld phase."""
    status, out, _ = run([*DEMO_ARGS, "--format", "json"], capsys)
    document = json.loads(out)
    assert status == 0
    assert document["findings"] == []
    assert not any(p["withheld"] for p in document["open_phases"])
