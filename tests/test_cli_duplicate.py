"""`substreg duplicate import|resolve NOTICE` end to end on SQLite and PostgreSQL (004 §10,
D-170, D-171): a notice typed in, the patient found, the answer approved; bad notices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import REUTER, Cli

FALKNER = "3990101"  # the demo's doctor who registered Thomas Reuter (demo/README.md)


def notice(**changes: Any) -> dict[str, Any]:
    """The register's letter on Reuter's code to Falkner, as a person types it."""
    typed: dict[str, Any] = {
        "format": "substreg-duplicate-notice/1",
        "reference": "Az. 2026-0042",
        "letter_date": "2026-01-05",
        "doctor_btm_number": FALKNER,
        "patient_code": REUTER,
        "other_doctors": [
            {
                "name": "Dr. Anna Beispiel",
                "btm_number": "7654321",
                "contact": "Hauptstr. 1, 10115 Berlin, Tel. 030 123456",
                "first_use": "2025-11-03",
            }
        ],
    }
    return typed | changes


def write(cli: Cli, document: Any, name: str = "notice.json") -> Path:
    path = cli.tmp / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _holds_the_code(cli: Cli) -> bool:
    return any(REUTER in repr(rows) for rows in cli.tables().values())


def test_a_notice_is_imported_resolved_and_approved_without_the_code_in_the_database(
    cli: Cli,
) -> None:
    """import names the patient and the open registration; resolve records the Abmeldung;
    it is approved like every report; no table holds the code in clear."""
    cli.synced()
    path = write(cli, notice())
    shown = cli.ok("duplicate", "import", str(path), "--ticket", "T-7")
    assert "Patient/1001" in shown and "since 2025-01-07: open" in shown
    assert "Dr. Anna Beispiel" in shown and REUTER not in shown
    said = cli.ok(
        "duplicate", "resolve", str(path), "--continues", "other", "--last-use", "2025-12-20"
    )
    ledger_id = said.split(" as report ")[1].split(",")[0]
    assert "Abmeldung dated 2025-12-20 (R-EP-5)" in said
    cli.ok("reports", "approve", ledger_id)
    listed = cli.json("reports", "list", "--format", "json")["reports"]
    [row] = [r for r in listed if r["ledger_id"] == ledger_id]
    assert (row["kind"], row["state"], row["origin"]) == ("abmeldung", "approved", "agreement")
    shown_report = cli.json("reports", "show", ledger_id)["payload"]
    assert shown_report["patient_code"] == REUTER
    assert "Dr. Anna Beispiel" in shown_report["remarks"][0]
    assert not _holds_the_code(cli)
    audit = cli.ok("audit", "list", "--action", "duplicate.resolve")
    assert ledger_id in audit and REUTER not in audit
    assert "nothing new" in cli.ok(
        "duplicate", "resolve", str(path), "--continues", "other", "--last-use", "2025-12-20"
    )


BAD = {
    "not-json": "{",
    "unknown-field": notice(remark="x"),
    "bad-code": notice(patient_code="THREX249"),
    "bad-btm": notice(doctor_btm_number="39901"),
    "no-other-doctor": notice(other_doctors=[]),
    "letter-to-come": notice(letter_date="2999-01-01"),  # R-DATE-3
    # D-254: the other doctor is the one written to; a doctor the ledger does not know
    "self-as-other": notice(
        other_doctors=[{**notice()["other_doctors"][0], "btm_number": FALKNER}]
    ),
    "unknown-doctor": notice(doctor_btm_number="1111111"),
}


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("command", ["import", "resolve"], ids=["import", "resolve"])
def test_a_bad_notice_is_one_line_exit_2_and_nothing_stored(
    cli: Cli, bad: Any, command: str
) -> None:
    """Checked before the store is opened: no lookup, no audit entry, no report."""
    cli.synced()
    path = cli.tmp / "notice.json"
    path.write_text(bad if isinstance(bad, str) else json.dumps(bad), encoding="utf-8")
    before = cli.tables()
    extra = ["--continues", "us"] if command == "resolve" else []
    line = cli.refused("duplicate", command, str(path), *extra)
    assert "notice" in line and "THREX" not in line
    assert cli.tables() == before


def test_a_missing_notice_file_is_one_line(cli: Cli) -> None:
    """A path that is not there: exit 2 naming it."""
    cli.synced()
    assert "cannot read the duplicate notice" in cli.refused(
        "duplicate", "import", str(cli.tmp / "missing.json")
    )


def test_different_people_is_a_notice_and_other_without_a_day_is_refused(cli: Cli) -> None:
    """`different-people` records a Mitteilung; `other` without --last-use stores nothing."""
    cli.synced()
    path = write(cli, notice())
    before = cli.tables()
    assert "--last-use" in cli.refused("duplicate", "resolve", str(path), "--continues", "other")
    assert cli.tables()["report"] == before["report"]
    said = cli.ok("duplicate", "resolve", str(path), "--continues", "different-people")
    assert "Mitteilung dated" in said and "(R-NOTE-1)" in said


def test_the_example_notice_of_the_docs_is_read(cli: Cli) -> None:
    """docs/duplicate-notice.example.json is Falkner's letter on Reuter: import finds him."""
    cli.synced()
    example = Path(__file__).resolve().parents[1] / "docs" / "duplicate-notice.example.json"
    assert "Patient/1001" in cli.ok("duplicate", "import", str(example))


def test_after_the_blanket_the_status_says_so_and_no_abmeldung_is_recorded(cli: Cli) -> None:
    """R-PAU-1, D-203: after Falkner's approved blanket deregistration of 2025-12-31,
    `handover export` and `duplicate import` say the registration ended by it, and
    `resolve --continues other` is refused in one line, recording nothing."""
    cli.synced()
    cli.ok("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31", "--yes")
    listed = cli.json("reports", "list", "--format", "json")["reports"]
    [blanket] = [r["ledger_id"] for r in listed if r["kind"] == "pauschalabmeldung"]
    cli.ok("reports", "approve", blanket)
    exported = cli.ok(
        "handover", "export", "--patient", "Patient/1001", "--to", "JVA Dresden",
        "--from", "Praxis", "--on", "2025-12-31",  # named, on the day synced to (D-245, D-247)
        "--out", str(cli.tmp),
    )  # fmt: skip
    assert "ended by the Pauschalabmeldung of 2025-12-31 (approved" in exported
    assert "registered by" not in exported
    path = write(cli, notice())
    shown = cli.ok("duplicate", "import", str(path))
    assert "since 2025-01-07: ended by the Pauschalabmeldung of 2025-12-31" in shown
    before = cli.tables()["report"]
    line = cli.refused(
        "duplicate", "resolve", str(path), "--continues", "other", "--last-use", "2025-12-20"
    )
    assert "Pauschalabmeldung of 2025-12-31" in line and "R-PAU-1" in line
    assert "no Abmeldung is recorded" in line
    assert cli.tables()["report"] == before


def test_continuing_after_the_blanket_says_what_happened_and_what_to_do(cli: Cli) -> None:
    """N8: `resolve --continues us` on a registration Falkner's blanket deregistration
    ended: one line that says the doctor left and cannot continue it, that nothing was
    recorded, and the way on (the successor's new Anmeldung, R-CHG-6), not of an Abmeldung."""
    cli.synced()
    cli.ok("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31", "--yes")
    path = write(cli, notice())
    before = cli.tables()["report"]
    line = cli.refused("duplicate", "resolve", str(path), "--continues", "us")
    assert "ended by the Pauschalabmeldung of 2025-12-31 (pending)" in line
    assert "the doctor left and cannot continue it (R-PAU-1), so nothing was recorded" in line
    assert "the successor registers them anew (R-CHG-6" in line
    assert "different-people" in line and "Abmeldung is recorded" not in line
    assert cli.tables()["report"] == before


def test_a_contradicting_answer_is_one_line_and_records_nothing(cli: Cli) -> None:
    """D-204: `other`, then `us` and `different-people`: refused naming the first answer
    and its report (exit 2); the report table keeps the one answer."""
    cli.synced()
    path = write(cli, notice())
    said = cli.ok(
        "duplicate", "resolve", str(path), "--continues", "other", "--last-use", "2025-12-20"
    )
    ledger_id = said.split(" as report ")[1].split(",")[0]
    before = cli.tables()["report"]
    for outcome in ("us", "different-people"):
        line = cli.refused("duplicate", "resolve", str(path), "--continues", outcome)
        assert f"--continues other already (report {ledger_id}, pending)" in line
    assert cli.tables()["report"] == before


def test_imported_notices_are_kept_once_and_listed_open_then_answered(cli: Cli) -> None:
    """D-233: the notice is kept at import (sealed: no table holds the code), once per
    letter; `duplicate list` shows it open, then answered with `--continues other`, the
    report's ledger id and day; rejecting that report opens it again."""
    cli.synced()
    assert cli.ok("duplicate", "list") == "No duplicate notice received.\n"
    path = write(cli, notice())
    first = cli.ok("duplicate", "import", str(path), "--ticket", "T-7")
    notice_id = first.split("Kept as notice ", 1)[1].split(" ", 1)[0]
    again = cli.ok("duplicate", "import", str(path), "--ticket", "T-7")
    assert f"imported before (notice {notice_id}," in again and "nothing new" in again
    [kept] = cli.json("duplicate", "list", "--format", "json")["notices"]
    assert (kept["notice_id"], kept["state"], kept["answer"]) == (notice_id, "open", None)
    assert (kept["reference"], kept["letter_date"]) == ("Az. 2026-0042", "2026-01-05")
    said = cli.ok(
        "duplicate", "resolve", str(path), "--continues", "other", "--last-use", "2025-12-20"
    )
    ledger_id = said.split(" as report ")[1].split(",")[0]
    [answered] = cli.json("duplicate", "list", "--format", "json")["notices"]
    assert (answered["state"], answered["answer"], answered["ledger_id"]) == (
        "answered",
        "other",
        ledger_id,
    )
    assert answered["report_state"] == "pending" and answered["answered_at"]
    table = cli.ok("duplicate", "list")
    assert f"{ledger_id} (pending)" in table and "1 notice(s), 0 open." in table
    assert REUTER not in table + json.dumps(answered)
    assert not _holds_the_code(cli)
    cli.ok("reports", "reject", ledger_id, "--reason", "wrong answer typed")
    [reopened] = cli.json("duplicate", "list", "--format", "json")["notices"]
    assert (reopened["state"], reopened["report_state"]) == ("open", "rejected")


def _actions(cli: Cli, action: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = cli.json(
        "audit", "list", "--action", action, "--format", "json"
    )["entries"]
    return entries


def test_a_notice_answered_without_import_is_kept_answered(cli: Cli) -> None:
    """`resolve` alone keeps the notice too, answered, audited as what happened (D-241:
    `duplicate.resolve.notice`, not an import that was never made); importing it
    afterwards adds none, and the log still verifies."""
    cli.synced()
    path = write(cli, notice())
    cli.ok("duplicate", "resolve", str(path), "--continues", "us")
    cli.ok("duplicate", "import", str(path))
    [kept] = cli.json("duplicate", "list", "--format", "json")["notices"]
    assert (kept["state"], kept["answer"]) == ("answered", "us")
    assert _actions(cli, "duplicate.import") == []
    [stored] = _actions(cli, "duplicate.resolve.notice")
    assert stored["details"] == {"notice": kept["notice_id"], "letter_date": "2026-01-05"}
    assert stored["mapping_id"] is None and REUTER not in json.dumps(stored)
    assert len(_actions(cli, "duplicate.resolve")) == 1  # the answer, as before
    cli.ok("audit", "verify")


def test_an_imported_notice_is_audited_as_imported_once(cli: Cli) -> None:
    """D-233/D-241: `import` stores and audits the notice as `duplicate.import`; the
    answer then stores nothing new, so no `duplicate.resolve.notice` is written."""
    cli.synced()
    path = write(cli, notice())
    cli.ok("duplicate", "import", str(path))
    cli.ok("duplicate", "resolve", str(path), "--continues", "us")
    [kept] = cli.json("duplicate", "list", "--format", "json")["notices"]
    [imported] = _actions(cli, "duplicate.import")
    assert imported["details"]["notice"] == kept["notice_id"]
    assert _actions(cli, "duplicate.resolve.notice") == []
