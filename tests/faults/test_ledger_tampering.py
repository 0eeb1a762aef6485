"""The ledger, the doctor's legal record (R-CH-2), cannot be changed unnoticed (issue 9.5).

Kind, dates, BtM number, state and digest were clear columns that SQL could change while
`reports show` and `ledger export` printed the edited values and `audit verify` said OK; a
deleted row went unnoticed, and a wiped log verified as "OK: 0 entries". Each row now
carries a keyed seal and is chained into the audit log (D-44).
"""

from __future__ import annotations

import csv

import pytest

from tests.cli_helpers import AS_OF, PURPOSE, Cli

EXPORT = ("ledger", "export", "--from", "2025-01-01", "--to", AS_OF, "--purpose", PURPOSE)
EDITS = {
    "kind": "kind = 'anmeldung'",
    "date": "report_date = '2025-02-01'",
    "btm": "doctor_btm = '1234567'",
    "state": "state = 'acknowledged'",
    "digest": "payload_digest = payload_nonce",
    "superseded": "superseded = NOT superseded",
}


def _abmeldung(cli: Cli) -> str:
    """The ledger id of the demo's first Abmeldung (an R-EP-3 of March)."""
    reports = cli.json("reports", "list", "--format", "json")["reports"]
    return next(r["ledger_id"] for r in reports if r["kind"] == "abmeldung")


def _export_rows(cli: Cli, *extra: str) -> tuple[int, dict[str, str], str]:
    out = cli.tmp / "export.csv"
    result = cli.run(*EXPORT, "--out", str(out), "--force", *extra)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        status = {row["Ledger-ID"]: row["Status"] for row in csv.DictReader(handle, delimiter=";")}
    return result.status, status, result.err


@pytest.mark.parametrize("column", list(EDITS))
def test_a_column_changed_in_sql_is_refused_flagged_and_named(cli: Cli, column: str) -> None:
    """After an UPDATE of one clear column: `reports show` refuses the row in one line,
    the export marks it (exit 1 with a warning), and `audit verify` names it."""
    cli.synced()
    ledger_id = _abmeldung(cli)
    cli.execute(f"UPDATE report SET {EDITS[column]} WHERE ledger_id = :id", id=ledger_id)

    line = cli.refused("reports", "show", ledger_id)
    assert f"The report {ledger_id} fails its integrity check" in line

    status, exported, err = _export_rows(cli)
    assert status == 1
    assert "VERÄNDERT" in exported[ledger_id]
    assert [i for i, s in exported.items() if "VERÄNDERT" in s] == [ledger_id]
    assert ledger_id in err and "WARNING" in err

    verified = cli.run("audit", "verify")
    assert verified.status == 1
    assert f"PROBLEM: report {ledger_id}:" in verified.out


def test_a_state_set_back_to_an_older_sealed_version_is_found(cli: Cli) -> None:
    """A row returned to its pending version (with that version's valid seal) after it
    was approved: its seal checks, but it is not what the log last recorded."""
    cli.synced()
    ledger_id = _abmeldung(cli)
    old = cli.tables()  # the row as it was
    cli.ok("reports", "approve", ledger_id)
    pending = next(r for r in old["report"] if r[0] == ledger_id)
    columns = cli.columns("report")
    before = dict(zip(columns, pending, strict=True))
    cli.execute(
        "UPDATE report SET state = 'pending', row_mac = :mac, updated_at = :at "
        "WHERE ledger_id = :id",
        mac=before["row_mac"],
        at=before["updated_at"],
        id=ledger_id,
    )
    line = cli.refused("reports", "show", ledger_id)
    assert "not as the audit log last recorded it (then: approved, now: pending)" in line
    assert (
        f"PROBLEM: report {ledger_id}: it is not as the audit log" in cli.run("audit", "verify").out
    )


def test_a_deleted_row_is_named_by_audit_verify(cli: Cli) -> None:
    """DELETE of a ledger row: verify exits 1 and names the report and its last state."""
    cli.synced()
    ledger_id = _abmeldung(cli)
    cli.execute("DELETE FROM report WHERE ledger_id = :id", id=ledger_id)
    verified = cli.run("audit", "verify")
    assert verified.status == 1
    assert (
        f"PROBLEM: report {ledger_id} was deleted from the ledger (the audit log last "
        "recorded it as pending)"
    ) in verified.out


def test_a_wiped_audit_log_does_not_verify(cli: Cli) -> None:
    """All audit entries and checkpoints deleted: not "OK: 0 entries", but a problem."""
    cli.synced()
    cli.execute("DELETE FROM audit_checkpoint")
    cli.execute("DELETE FROM audit_log")
    verified = cli.run("audit", "verify")
    assert verified.status == 1
    assert "PROBLEM: the audit log is empty, but the database holds 16 report(s)" in verified.out
    assert "OK" not in verified.out


def test_a_row_inserted_in_sql_is_not_in_the_chain(cli: Cli) -> None:
    """A copy of a row under a new id: its seal fails (the id is sealed) and the log never
    saw it."""
    cli.synced()
    ledger_id = _abmeldung(cli)
    columns = [c for c in cli.columns("report") if c not in ("ledger_id", "slot_key")]
    listed = ", ".join(columns)
    cli.execute(
        f"INSERT INTO report (ledger_id, slot_key, {listed}) SELECT "
        f"'00000000-0000-4000-8000-000000000000', 'x', {listed} FROM report WHERE ledger_id = :id",
        id=ledger_id,
    )
    out = cli.run("audit", "verify").out
    assert "PROBLEM: report 00000000-0000-4000-8000-000000000000:" in out


def test_an_untouched_ledger_verifies_after_every_kind_of_change(cli: Cli) -> None:
    """Sync, approve, reject, sync again with corrections: every version is chained, and
    the ledger verifies (no false alarm)."""
    cli.synced()
    first, second = cli.ledger_ids()[:2]
    cli.ok("reports", "approve", first)
    cli.ok("reports", "reject", second, "--reason", "Dublette, telefonisch geklärt")
    cli.ok("reports", "show", first)
    out = cli.ok("audit", "verify")
    assert "Ledger: 16 report(s) checked" in out
    assert "OK: the chain is whole" in out


def test_an_export_never_overwrites_an_existing_file_without_force(cli: Cli) -> None:
    """`ledger export --out` of an existing file: refused in one line, the file kept
    (issue 9.7); with --force it is replaced."""
    cli.synced()
    out = cli.tmp / "export.csv"
    out.write_text("the export of last quarter", encoding="utf-8")
    line = cli.refused(*EXPORT, "--out", str(out))
    assert f"{out}: it exists already" in line or "it exists already" in line
    assert out.read_text(encoding="utf-8") == "the export of last quarter"
    assert cli.audit("ledger.export") == []
    cli.ok(*EXPORT, "--out", str(out), "--force")
    assert out.read_text(encoding="utf-8-sig").startswith("Ledger-ID;")


def test_a_lookup_with_a_ticket_is_audited_on_both_databases(cli: Cli) -> None:
    """`lookup --ticket` kept its sealed ticket (about 95 characters) on PostgreSQL too."""
    cli.synced()
    out = cli.ok("lookup", "--code", "THREM249", "--purpose", PURPOSE, "--ticket", "BfArM-2026-17")
    assert "1 local patient(s)" in out
    [entry] = cli.audit("lookup")
    assert entry["ticket"].startswith("sealed:v1:") and len(entry["ticket"]) > 64
