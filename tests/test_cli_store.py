"""The stateful `substreg` commands as a person uses them: init, sync, reports, ledger
export, audit verify, and failing closed. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
import stat

import pytest

from adapter.cli.stateful_arguments import DEFAULT_RETENTION_YEARS
from adapter.crypto import generate_keyring, save_keyring
from adapter.services.retention import DEFAULT_YEARS
from tests.cli_helpers import (
    AS_OF,
    CONFIG,
    DEMO,
    PURPOSE,
    REUTER,
    ROOT,
    SYNC,
    Cli,
    demo_codes,
    substreg,
)

# demo/README.md "Everything, in the order `derive` prints it": made on, kind, date,
# doctor's BtM number, rule.
DEMO_REPORTS = [
    ("2025-01-07", "anmeldung", "2025-01-07", "3990101", "R-EP-1"),
    ("2025-02-03", "anmeldung", "2025-02-03", "3990101", "R-EP-1"),
    ("2025-03-03", "anmeldung", "2025-03-03", "3990101", "R-EP-1"),
    ("2025-03-25", "abmeldung", "2025-03-14", "3990101", "R-EP-3"),
    ("2025-04-01", "anmeldung", "2025-04-01", "3990202", "R-EP-1"),
    ("2025-04-07", "anmeldung", "2025-04-07", "3990101", "R-EP-1"),
    ("2025-06-02", "anmeldung", "2025-06-02", "3990101", "R-EP-1"),
    ("2025-07-01", "abmeldung", "2025-06-30", "3990202", "R-EP-2"),
    ("2025-07-01", "anmeldung", "2025-07-01", "3990101", "R-EP-1"),
    ("2025-08-04", "anmeldung", "2025-08-04", "3990202", "R-EP-1"),
    ("2025-09-14", "abmeldung", "2025-09-13", "3990202", "R-CHG-1"),
    ("2025-09-14", "anmeldung", "2025-09-14", "3990202", "R-CHG-1"),
    ("2025-10-01", "mitteilung", "2025-10-01", "3990101", "R-CHG-4"),
    ("2025-10-06", "anmeldung", "2025-10-06", "3990101", "R-EP-1"),
    ("2025-11-13", "abmeldung", "2025-11-02", "3990101", "R-EP-3"),
    ("2025-11-27", "abmeldung", "2025-11-16", "3990101", "R-EP-3"),
]
LEDGER_ROW = re.compile(r"^  [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}  ", re.M)
EXPORT = ("ledger", "export", "--from", "2025-01-01", "--to", AS_OF)


# -- init ---------------------------------------------------------------------------------


def test_init_creates_a_private_home_and_keyring_and_says_where(cli_without_schema: Cli) -> None:
    """The installed `substreg init` makes SUBSTREG_HOME (0700) and keyring.json (0600)."""
    cli = cli_without_schema
    result = substreg(["init"], cli.env, cli.tmp)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert stat.S_IMODE(cli.home.stat().st_mode) == 0o700
    assert stat.S_IMODE(cli.keyring.stat().st_mode) == 0o600
    assert f"Keyring created: {cli.keyring}" in result.stdout
    assert "substreg keys backup" in result.stdout


def test_a_second_init_keeps_the_keyring_byte_for_byte(cli: Cli) -> None:
    """Running `init` again upgrades nothing away: the keyring stays, and it says so."""
    cli.ok("init")
    before = cli.keyring.read_bytes()
    out = cli.ok("init")
    assert cli.keyring.read_bytes() == before
    assert f"Keyring kept (it existed): {cli.keyring}" in out
    assert "created" not in out


def test_init_with_a_missing_mounted_keyring_stops_and_creates_nothing(
    cli_without_schema: Cli,
) -> None:
    """SUBSTREG_KEYRING_FILE naming no file: exit 2, one line, no home, keyring or schema."""
    cli = cli_without_schema
    secret = cli.tmp / "secrets" / "keyring.json"
    cli.setenv("SUBSTREG_KEYRING_FILE", str(secret))
    before = sorted(p.name for p in cli.tmp.iterdir())
    line = cli.refused("init")
    assert "SUBSTREG_KEYRING_FILE" in line
    assert str(secret) in line
    assert sorted(p.name for p in cli.tmp.iterdir()) == before
    assert not cli.home.exists()
    assert cli.tables() == {}


def test_init_after_the_keyring_was_lost_leaves_no_new_keyring(cli: Cli) -> None:
    """`init` on a database whose keyring is gone stops, leaving no keyring that cannot open it."""
    cli.synced()
    cli.keyring.unlink()
    line = cli.refused("init")
    assert "keys restore" in line
    assert not cli.keyring.exists()


# -- sync -----------------------------------------------------------------------------------


def test_sync_of_the_demo_records_its_16_reports_as_pending(cli: Cli) -> None:
    """The table lists the 16 reports of demo/README.md, by ledger id and without codes."""
    cli.ok("init")
    out = cli.ok(*SYNC)
    assert "Recorded 16 report(s) as pending:" in out
    assert len(LEDGER_ROW.findall(out)) == 16
    assert "Findings: 4" in out
    assert not [code for code in demo_codes() if code in out]


def test_sync_json_is_the_documented_document(cli: Cli) -> None:
    """`--format json`: the counts, each recorded report without its code, and the findings."""
    cli.ok("init")
    document = cli.json(*SYNC, "--format", "json")
    assert set(document) == {
        "as_of",
        "resources",
        "changed",
        "patients_walked",
        "patients_rederived",
        "recorded",
        "superseded",
        "findings",
        "run_id",
    }
    assert document["as_of"] == AS_OF
    assert document["run_id"] in cli.ok("runs", "list")
    assert document["changed"] == document["resources"] > 0
    assert document["patients_walked"] == document["patients_rederived"] == 11
    assert document["superseded"] == 0
    recorded = document["recorded"]
    assert all(
        set(r) == {"ledger_id", "kind", "made_on", "date", "doctor_btm", "rule", "origin"}
        for r in recorded
    )
    rows = [(r["made_on"], r["kind"], r["date"], r["doctor_btm"], r["rule"]) for r in recorded]
    assert sorted(rows) == sorted(DEMO_REPORTS)
    assert {r["origin"] for r in recorded} == {"derived"}
    findings = {(f["severity"], f["rule"], tuple(f["sources"])) for f in document["findings"]}
    assert ("error", "R-CODE-3", ("Patient/1008",)) in findings
    assert {(f[0], f[1]) for f in findings} == {
        ("error", "R-CODE-3"),
        ("warning", "R-SUB-5"),
        ("info", "R-SUB-5"),
        ("info", "R-NOT-3"),
    }


def test_the_same_sync_again_records_nothing(cli: Cli) -> None:
    """A second sync of the same export changes nothing and records no report twice."""
    cli.synced()
    again = cli.json(*SYNC, "--format", "json")
    assert again["recorded"] == []
    assert again["changed"] == 0
    assert len(cli.ledger_ids()) == 16


def test_reports_list_json_has_the_16_reports_pending_without_codes(cli: Cli) -> None:
    """`reports list --format json`: our own ids, kinds, dates and states, never a code."""
    cli.synced()
    out = cli.ok("reports", "list", "--format", "json")
    reports = json.loads(out)["reports"]
    assert len(reports) == 16
    assert {r["state"] for r in reports} == {"pending"}
    assert not [code for code in demo_codes() if code in out]


def test_reports_list_refuses_a_state_that_does_not_exist(cli: Cli) -> None:
    """`--state Pending` (misspelt) is a usage error naming the states, not an empty list."""
    cli.synced()
    line = cli.refused("reports", "list", "--state", "Pending")
    assert "'Pending'" in line
    assert "pending" in line
    assert "rejected" in line


def test_reports_show_prints_the_payload_with_its_code_and_is_audited(cli: Cli) -> None:
    """Showing Reuter's Anmeldung gives THREM249 and leaves a report.show audit entry."""
    cli.synced()
    first = cli.json("reports", "list", "--format", "json")["reports"][0]
    assert (first["made_on"], first["kind"]) == ("2025-01-07", "anmeldung")
    shown = cli.json("reports", "show", first["ledger_id"])
    assert shown["payload"]["patient_code"] == REUTER
    assert shown["shredded"] is False
    [entry] = cli.audit("report.show")
    assert entry["ledger_id"] == first["ledger_id"]
    assert entry["mapping_id"] == first["mapping_id"]


def test_approving_a_report_twice_is_refused_naming_the_states(cli: Cli) -> None:
    """The second approve: exit 2, one line saying the report already is approved."""
    cli.synced()
    ledger_id = cli.ledger_ids()[0]
    assert "approved" in cli.ok("reports", "approve", ledger_id)
    line = cli.refused("reports", "approve", ledger_id)
    assert ledger_id in line
    assert "cannot become approved: it is approved" in line
    assert len(cli.audit("report.approve")) == 1


def test_reject_needs_a_reason_and_seals_it(cli: Cli) -> None:
    """Without --reason argparse refuses (exit 2); with it the report is rejected, audited."""
    cli.synced()
    ledger_id = cli.ledger_ids()[1]
    assert "--reason" in cli.refused("reports", "reject", ledger_id)
    reason = "Entered twice by mistake at the front desk"
    assert "rejected" in cli.ok("reports", "reject", ledger_id, "--reason", reason)
    shown = cli.json("reports", "show", ledger_id)
    assert (shown["state"], shown["note"]) == ("rejected", reason)
    [entry] = cli.audit("report.reject")
    details = json.loads(entry["details"])
    assert details == {"from": "pending", "to": "rejected", "with_reason": True}
    assert reason not in repr(cli.audit())


def test_ledger_export_writes_the_codes_and_is_audited_with_its_purpose(cli: Cli) -> None:
    """The CSV holds every demo code, is private (0600), and the export's purpose is logged."""
    cli.synced()
    target = cli.tmp / "ledger-2025.csv"
    out = cli.ok(*EXPORT, "--format", "csv", "--out", str(target), "--purpose", PURPOSE)
    assert f"16 report(s) written to {target} (csv)" in out
    content = target.read_text(encoding="utf-8-sig")
    assert [code for code in demo_codes() if code not in content] == []
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    [entry] = cli.audit("ledger.export")
    assert PURPOSE not in repr(entry) and entry["purpose"].startswith("sealed:v1:")
    listed = cli.json("audit", "list", "--action", "ledger.export", "--format", "json")
    assert [e["purpose"] for e in listed["entries"]] == [PURPOSE]
    assert json.loads(entry["details"])["reports"] == 16


@pytest.mark.parametrize(
    "where", ["missing-directory", "a-directory"], ids=["missing-directory", "a-directory"]
)
def test_an_export_that_cannot_be_written_is_refused_and_not_audited(cli: Cli, where: str) -> None:
    """--out in a missing directory (or naming a directory): exit 2, no ledger.export entry."""
    cli.synced()
    target = cli.tmp / "nowhere" / "ledger.csv" if where == "missing-directory" else cli.tmp
    line = cli.refused(*EXPORT, "--out", str(target), "--purpose", PURPOSE)
    assert f"Cannot write the export {target}" in line
    assert cli.audit("ledger.export") == []
    assert not (cli.tmp / "nowhere").exists()


def test_audit_verify_finds_the_chain_whole_after_the_commands(cli: Cli) -> None:
    """After sync, show, approve and export the audit chain verifies: exit 0 and OK."""
    cli.synced()
    ledger_id = cli.ledger_ids()[0]
    cli.ok("reports", "show", ledger_id)
    cli.ok("reports", "approve", ledger_id)
    cli.ok(*EXPORT, "--out", str(cli.tmp / "x.csv"), "--purpose", PURPOSE)
    out = cli.ok("audit", "verify")
    assert "OK: the chain is whole" in out


def test_audit_verify_names_an_entry_changed_with_sql(cli: Cli) -> None:
    """An UPDATE of one audit_log row's details: exit 1, naming that entry."""
    cli.synced()
    [entry] = cli.audit("sync")
    cli.execute(
        "UPDATE audit_log SET details = :details WHERE seq = :seq",
        details='{"recorded":0}',
        seq=entry["seq"],
    )
    result = cli.run("audit", "verify")
    assert result.status == 1
    assert f"PROBLEM: entry {entry['seq']} was changed after it was written" in result.out
    assert "OK" not in result.out


# -- failing closed ---------------------------------------------------------------------------


def _stateful(name: str, ledger_id: str) -> list[str]:
    return {
        "sync": list(SYNC),
        "reports-list": ["reports", "list"],
        "reports-show": ["reports", "show", ledger_id],
        "approve": ["reports", "approve", ledger_id],
        "lookup": ["lookup", "--code", REUTER, "--purpose", PURPOSE],
        "export": [*EXPORT, "--out", "export.csv", "--purpose", PURPOSE],
    }[name]


@pytest.mark.parametrize("keyring", ["deleted", "foreign"], ids=["deleted", "foreign"])
@pytest.mark.parametrize(
    "command",
    ["sync", "reports-list", "reports-show", "approve", "lookup", "export"],
    ids=["sync", "reports-list", "reports-show", "approve", "lookup", "export"],
)
def test_without_its_keyring_a_command_stops_and_writes_nothing(
    cli: Cli, command: str, keyring: str
) -> None:
    """No keyring, or another installation's: exit 2, one line, not a row changed."""
    cli.synced()
    argv = _stateful(command, cli.ledger_ids()[0])
    if keyring == "deleted":
        cli.keyring.unlink()
    else:
        save_keyring(generate_keyring("2025-01-01T00:00:00+00:00"), cli.keyring)
    held = cli.keyring.read_bytes() if cli.keyring.exists() else None
    before = cli.tables()
    line = cli.refused(*argv)
    assert "keyring" in line
    assert cli.tables() == before
    assert (cli.keyring.read_bytes() if cli.keyring.exists() else None) == held
    assert not (cli.tmp / "export.csv").exists()


@pytest.mark.parametrize(
    "argv",
    [list(SYNC), ["reports", "list"], ["lookup", "--code", REUTER, "--purpose", PURPOSE],
     ["audit", "verify"], ["keys", "status"]],
    ids=["sync", "reports-list", "lookup", "audit-verify", "keys-status"],
)  # fmt: skip
def test_a_database_without_schema_asks_for_substreg_init(
    cli_without_schema: Cli, argv: list[str]
) -> None:
    """A database no `init` has prepared: exit 2, one line naming `substreg init`."""
    cli = cli_without_schema
    save_keyring(generate_keyring("2025-01-01T00:00:00+00:00"), cli.keyring)
    line = cli.refused(*argv)
    assert "substreg init" in line
    assert cli.tables() == {}


@pytest.mark.parametrize("bad", ["missing", "broken-json"], ids=["missing", "broken-json"])
def test_a_sync_of_unusable_input_stops_and_loses_nothing(cli: Cli, bad: str) -> None:
    """A missing file or broken JSON beside the demo: exit 2 naming it, the store untouched."""
    cli.synced()
    path = cli.tmp / "export.json"
    if bad == "broken-json":
        path.write_text('{"resourceType": "Bundle", "entry": [', encoding="utf-8")
    before = cli.tables()
    line = cli.refused("sync", str(DEMO), str(path), "--config", str(CONFIG), "--as-of", AS_OF)
    assert "export.json" in line
    assert cli.tables() == before
    assert len(before["report"]) == 16


def test_a_sync_as_of_a_day_before_the_last_sync_is_refused(cli: Cli) -> None:
    """--as-of 2025-06-30 after a sync as of 2025-12-31: exit 2, nothing written."""
    cli.synced()
    before = cli.tables()
    line = cli.refused("sync", str(DEMO), "--config", str(CONFIG), "--as-of", "2025-06-30")
    assert "2025-06-30" in line
    assert "last sync" in line
    assert cli.tables() == before


def test_reports_a_sync_withdrew_are_recorded_again_once_the_data_calls_for_them(
    cli: Cli,
) -> None:
    """D-80 (R-EP-5, D-28): `--config` forgotten once withdraws the 15 pending reports of the
    doctors it names; the next sync with it records them again, so that the reports that
    stand are derive's 16 again, and the withdrawn rows stay as rejected records."""
    cli.synced()
    forgot = cli.json("sync", str(DEMO), "--as-of", AS_OF, "--format", "json")
    withdrawn = [f for f in forgot["findings"] if f["rule"] == "R-EP-5"]
    assert len(withdrawn) == 8
    assert {f["severity"] for f in withdrawn} == {"warning"}
    again = cli.json(*SYNC, "--format", "json")
    rows = [
        (r["made_on"], r["kind"], r["date"], r["doctor_btm"], r["rule"]) for r in again["recorded"]
    ]
    assert sorted(rows) == sorted(r for r in DEMO_REPORTS if r[1] != "mitteilung")
    reports = cli.json("reports", "list", "--format", "json")["reports"]
    states = [r["state"] for r in reports]
    assert (states.count("pending"), states.count("rejected")) == (16, 15)
    assert cli.json(*SYNC, "--format", "json")["recorded"] == []
    assert "\nOK: the chain is whole" in cli.ok("audit", "verify")


def test_the_retention_default_of_the_command_is_the_services_default() -> None:
    """`retention apply` without --years uses the service's ten years (kept apart for speed)."""
    assert DEFAULT_RETENTION_YEARS == DEFAULT_YEARS


# -- sync --fail-on for pipelines ------------------------------------------------------------

_CASES = ROOT / "tests" / "cases"


@pytest.mark.parametrize(
    ("case", "fail_on", "status"),
    [
        ("56-sub-untied-levomethadone-and-f11-event", "error", 0),
        ("56-sub-untied-levomethadone-and-f11-event", "warning", 1),
        ("36-code-sex-other-refused", "error", 1),
        ("36-code-sex-other-refused", None, 0),
    ],
    ids=["warning-under-error", "warning-under-warning", "error-under-error", "without"],
)
def test_sync_fail_on_exits_1_and_keeps_the_run_all_the_same(
    cli: Cli, case: str, fail_on: str | None, status: int
) -> None:
    """`sync --fail-on error|warning` fails a pipeline on such a finding; what was due is
    recorded and kept all the same (the run is not taken back)."""
    expected = json.loads((_CASES / case / "expected.json").read_text(encoding="utf-8"))
    cli.ok("init")
    argv = ["sync", str(_CASES / case / "input.json"), "--as-of", expected["as_of"]]
    argv += ["--format", "json", *(["--fail-on", fail_on] if fail_on else [])]
    result = cli.run(*argv)
    assert (result.status, result.err) == (status, "")
    synced = json.loads(result.out)
    assert synced["run_id"] is not None
    assert len(synced["recorded"]) == len(expected["reports"])
    assert len(cli.ledger_ids()) == len(expected["reports"])


def test_sync_fail_on_info_is_a_usage_error(cli: Cli) -> None:
    cli.ok("init")
    message = cli.refused("sync", str(DEMO), "--fail-on", "info")
    assert "--fail-on" in message
