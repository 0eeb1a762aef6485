"""A ledger row that does not match the audit chain is never sealed over nor built on
(issue 9 review, D-44).

The review laundered tampered rows three ways: `substreg init` sealed a row whose seal was
NULLed in SQL; `reports reject` sealed a row set back to an older, validly sealed version;
sync trusted such a row, a deleted one went unnoticed, and a wiped audit log let the next
sync start a new log over the deleted reports. Each is now refused or named.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapter.services.sync import SyncResult
from adapter.store.schema import report
from tests.cli_helpers import AS_OF, PURPOSE, SYNC, Cli
from tests.storage import Database, make_store
from tests.store.helpers import change, raw_rows, tampering
from tests.sync import fhir
from tests.sync.helpers import mapping_of, mark_sent, run_sync

D = date
EXPORT = ("ledger", "export", "--from", "2025-01-01", "--to", AS_OF, "--purpose", PURPOSE)


def _row(cli: Cli, ledger_id: str) -> dict[str, Any]:
    columns = cli.columns("report")
    found = next(r for r in cli.tables()["report"] if r[0] == ledger_id)
    return dict(zip(columns, found, strict=True))


def _first_anmeldung(cli: Cli) -> str:
    reports = cli.json("reports", "list", "--format", "json")["reports"]
    return next(r["ledger_id"] for r in reports if r["kind"] == "anmeldung")


# -- init ------------------------------------------------------------------------------------


def test_init_does_not_seal_a_row_changed_in_sql_with_its_seal_removed(cli: Cli) -> None:
    """An Anmeldung made an Abmeldung, marked sent, its seal NULLed: `init` (which seals rows
    written before revision 0004) leaves it unsealed, names it and exits 1; verify still
    names it, and `reports list` marks it."""
    cli.synced()
    ledger_id = _first_anmeldung(cli)
    cli.execute(
        "UPDATE report SET kind = 'abmeldung', state = 'sent', row_mac = NULL, mac_key = NULL "
        "WHERE ledger_id = :id",
        id=ledger_id,
    )
    result = cli.run("init")
    assert result.status == 1
    assert "1 report(s) carry no seal" in result.err and ledger_id in result.err
    assert _row(cli, ledger_id)["row_mac"] is None
    verified = cli.run("audit", "verify")
    assert (
        verified.status == 1 and f"PROBLEM: report {ledger_id}: it carries no seal" in verified.out
    )
    assert f"{ledger_id}  sent VERÄNDERT" in cli.ok("reports", "list")
    listed = cli.json("reports", "list", "--format", "json")["reports"]
    marked = {r["ledger_id"]: r["integrity"] for r in listed if r["integrity"]}
    assert list(marked) == [ledger_id] and "carries no seal" in marked[ledger_id]


def test_init_seals_again_a_row_that_lost_only_its_seal(cli: Cli) -> None:
    """A row whose columns are exactly as the audit log last recorded them, but whose seal
    is gone (a schema taken back and upgraded again): init seals it, and it verifies."""
    cli.synced()
    ledger_id = _first_anmeldung(cli)
    cli.execute(
        "UPDATE report SET row_mac = NULL, mac_key = NULL WHERE ledger_id = :id", id=ledger_id
    )
    assert cli.run("init").status == 0
    assert "OK: the chain is whole" in cli.ok("audit", "verify")


def test_init_does_not_seal_a_row_added_in_sql_without_a_seal(cli: Cli) -> None:
    """A copy of a row under a new id and without a seal: the log never recorded it, while
    it records the others, so it was added, and init does not seal it."""
    cli.synced()
    ledger_id = _first_anmeldung(cli)
    forged = "00000000-0000-4000-8000-000000000000"
    columns = [
        c for c in cli.columns("report") if c not in ("ledger_id", "slot_key", "row_mac", "mac_key")
    ]
    listed = ", ".join(columns)
    cli.execute(
        f"INSERT INTO report (ledger_id, slot_key, {listed}) SELECT :forged, 'x', {listed} "
        "FROM report WHERE ledger_id = :id",
        forged=forged,
        id=ledger_id,
    )
    result = cli.run("init")
    assert result.status == 1 and forged in result.err
    assert f"PROBLEM: report {forged}:" in cli.run("audit", "verify").out


# -- a row set back to an older version ---------------------------------------------------------


def test_a_row_set_back_to_an_older_sealed_version_is_not_sealed_over_by_a_reject(
    cli: Cli,
) -> None:
    """Acknowledged, then set back in SQL to its pending version (whose seal is valid):
    `reports reject` refuses it in one line instead of sealing the old version anew, and
    `audit verify` still names it."""
    cli.synced()
    ledger_id = _first_anmeldung(cli)
    saved = _row(cli, ledger_id)
    cli.ok("reports", "approve", ledger_id)
    cli.execute(
        "UPDATE report SET state = :state, row_mac = :mac, mac_key = :key, updated_at = :at "
        "WHERE ledger_id = :id",
        state=saved["state"],
        mac=saved["row_mac"],
        key=saved["mac_key"],
        at=saved["updated_at"],
        id=ledger_id,
    )
    line = cli.refused("reports", "reject", ledger_id, "--reason", "Dublette")
    assert f"The report {ledger_id} fails its integrity check" in line
    assert "not as the audit log last recorded it (then: approved, now: pending)" in line
    assert f"PROBLEM: report {ledger_id}: it is not as" in cli.run("audit", "verify").out


def _two_patients(tmp_path: Path, last: date) -> Path:
    return fhir.two_patients(tmp_path / f"export-{last}.json", D(2026, 3, 2), last, last)


def _tampered_sync(database: Database, tmp_path: Path, tamper: str) -> tuple[SyncResult, str, str]:
    """p1 and p2 registered and their Anmeldungen sent; p1's Anmeldung then tampered with;
    both stop on 10 March and are synced on 25 March: (result, p1's mapping, p2's)."""
    store, _ = make_store(database.url)
    run_sync(store, [_two_patients(tmp_path, D(2026, 3, 5))], D(2026, 3, 5))
    p1, p2 = mapping_of(store, "p1"), mapping_of(store, "p2")
    [pending] = [r for r in raw_rows(store, report) if r["mapping_id"] == p1]  # an old copy
    mark_sent(store)
    where = {"ledger_id": pending["ledger_id"]}
    if tamper == "set back":  # to its pending version, whose seal is valid
        kept = ("state", "row_mac", "mac_key", "updated_at")
        change(database.url, report, where, **{c: pending[c] for c in kept})
    elif tamper == "column":  # a clear column changed, the seal left as it was
        change(database.url, report, where, report_date=D(2026, 3, 1))
    else:
        with tampering(database.url) as connection:
            connection.execute(report.delete().where(report.c.ledger_id == pending["ledger_id"]))
    result = run_sync(store, [_two_patients(tmp_path, D(2026, 3, 10))], D(2026, 3, 25))
    return result, p1, p2


@pytest.mark.parametrize("tamper", ["set back", "column", "deleted"])
def test_sync_does_not_build_on_a_row_that_does_not_match_the_chain(
    database: Database, tmp_path: Path, tamper: str
) -> None:
    """p1's sent Anmeldung set back to its pending version (the chain check), changed in a
    column (the seal check), or deleted: sync records nothing for p1 (neither a second
    Anmeldung nor an Abmeldung on top of it) and names its mapping in an error; p2's
    Abmeldung is recorded."""
    result, p1, p2 = _tampered_sync(database, tmp_path, tamper)
    assert [(r.report.kind, r.subject) for r in result.recorded] == [("abmeldung", p2)]
    [error] = [f for f in result.findings if f"mapping {p1}" in f.message]
    assert error.severity == "error"
    assert "Nothing of this patient was derived, recorded or changed" in error.message


# -- reports list, export --------------------------------------------------------------------


def test_a_deleted_row_is_named_by_the_export_and_the_listing(cli: Cli) -> None:
    """DELETE of a ledger row: the export warns that the ledger lacks a report the audit
    log recorded (exit 1), and `reports list` names it."""
    cli.synced()
    ledger_id = _first_anmeldung(cli)
    cli.execute("DELETE FROM report WHERE ledger_id = :id", id=ledger_id)
    out = cli.tmp / "export.csv"
    result = cli.run(*EXPORT, "--out", str(out))
    assert result.status == 1
    assert "1 report(s) the audit log recorded are missing from the ledger" in result.err
    assert ledger_id in result.err
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.DictReader(handle, delimiter=";"))) == 15
    assert (
        f"Missing: 1 report(s) the audit log recorded were deleted from the ledger ({ledger_id})"
        in cli.ok("reports", "list")
    )


# -- a wiped audit log ------------------------------------------------------------------------


def test_a_wiped_audit_log_stops_every_command_but_verify(cli: Cli) -> None:
    """The log, its checkpoints, the reports and the runs deleted: sync (and any other
    command of the store) refuses in one line that says to restore the backup, instead of
    starting a new log that would make the deletion undetectable; verify still names it."""
    cli.synced()
    for table in ("audit_log", "audit_checkpoint", "report", "sync_run_change", "sync_run"):
        cli.execute(f"DELETE FROM {table}")
    before = cli.tables()
    line = cli.refused(*SYNC[:-1], "2026-01-12", "--accept-mass-end")
    held = "0 report(s), 3 key(s), 11 patient mapping(s) and 0 sync run(s)"
    assert f"The audit log is empty, but the database holds {held}" in line
    assert "Restore the database from the backup" in line
    assert "Nothing was read or written" in line
    assert "The audit log is empty" in cli.refused("reports", "list")
    assert cli.tables() == before
    verified = cli.run("audit", "verify")
    assert verified.status == 1 and "PROBLEM: the audit log is empty" in verified.out
