"""One damaged ciphertext stops nobody but its own patient (issue 9.6).

A flipped byte in a mapping row, a ledger payload, a patient's stored records or a data
key once stopped every sync and export, with an error that named no row. Now that
patient is left exactly as it is with an `error` finding naming the mapping, every other
patient is synced, `substreg inspect` says what is damaged, and once the row is restored
the next sync takes the patient up as if nothing had happened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table

from adapter.errors import SyncError
from adapter.store.schema import (
    data_key,
    patient_archive,
    patient_index,
    patient_mapping,
    patient_state,
    report,
    resource_seen,
)
from adapter.store.workspace import Store
from tests.cli_helpers import AS_OF, PURPOSE, SYNC, Cli
from tests.storage import Database, make_store
from tests.store.helpers import change, raw_rows, tampering
from tests.sync import fhir
from tests.sync.helpers import ledger, mapping_of, run_sync

FIRST, SECOND = date(2026, 3, 12), date(2026, 3, 31)
EXPORT = ("ledger", "export", "--from", "2025-01-01", "--to", AS_OF, "--purpose", PURPOSE)


def _practice(tmp_path: Path) -> Path:
    """p1 takes its drug until 10 March, p2 until 12 March: both end by R-EP-3 in March."""
    start = date(2026, 3, 2)
    return fhir.two_patients(tmp_path / "export.json", start, date(2026, 3, 10), date(2026, 3, 12))


def _flip(url: str, store: Store, table: Table, column: str, **where: Any) -> Callable[[], None]:
    """Flip one bit of a stored ciphertext (behind substreg's back); returns the undo."""
    [row] = [r for r in raw_rows(store, table) if all(r[k] == v for k, v in where.items())]
    original = bytes(row[column])
    change(url, table, where, **{column: bytes([original[0] ^ 1]) + original[1:]})
    return lambda: change(url, table, where, **{column: original})


def _report_of(store: Store, mapping_id: str) -> dict[str, Any]:
    return next(r for r in raw_rows(store, report) if r["mapping_id"] == mapping_id)


DAMAGE: dict[str, Callable[[str, Store, str], Callable[[], None]]] = {
    "ledger payload": lambda url, store, m: _flip(
        url, store, report, "payload_ct", ledger_id=_report_of(store, m)["ledger_id"]
    ),
    "mapping codes": lambda url, store, m: _flip(
        url, store, patient_mapping, "codes_ct", mapping_id=m
    ),
    "data key": lambda url, store, m: _flip(
        url,
        store,
        data_key,
        "wrapped",
        dek_id=next(r for r in raw_rows(store, patient_mapping) if r["mapping_id"] == m)["dek_id"],
    ),
    "stored records": lambda url, store, m: _flip(url, store, patient_archive, "ct", mapping_id=m),
}


@pytest.mark.parametrize("what", list(DAMAGE))
def test_one_damaged_patient_leaves_the_others_synced(
    what: str, database: Database, tmp_path: Path
) -> None:
    """p1's row damaged: p2's Abmeldung is recorded, p1 gets an error finding naming its
    mapping and nothing else; restored, the next sync records p1's Abmeldung."""
    store, _ = make_store(database.url)
    bundle = _practice(tmp_path)
    run_sync(store, [bundle], FIRST)
    p1 = mapping_of(store, "p1")
    restore = DAMAGE[what](database.url, store, p1)
    # The archive is read when a patient is derived afresh: everyone is, with --rebuild.
    damaged = run_sync(store, [bundle], SECOND, rebuild=what == "stored records")

    assert [(r.report.kind, r.subject) for r in damaged.recorded] == [
        ("abmeldung", mapping_of(store, "p2"))
    ]
    [error] = [f for f in damaged.findings if p1 in f.message]
    assert error.severity == "error"
    assert "Nothing of this patient was derived, recorded or changed" in error.message
    assert "SIHAF" not in error.message  # never the code

    restore()
    repaired = run_sync(store, [bundle], SECOND)
    assert [(r.report.kind, r.subject) for r in repaired.recorded] == [("abmeldung", p1)]
    assert not [f for f in repaired.findings if p1 in f.message]
    assert sorted(h.report.kind for h in ledger(store)) == ["abmeldung"] * 2 + ["anmeldung"] * 2


_NO_UTF8 = "CAST(X'FFFE00C3' AS TEXT)"  # what SQLite keeps in any column when told to
_AS_TEXT: dict[str, tuple[Table, str, str]] = {
    "mapping codes": (patient_mapping, "codes_ct", "mapping_id"),
    "ledger payload": (report, "payload_ct", "mapping_id"),
    "stored records": (patient_archive, "ct", "mapping_id"),
    "resource digests": (resource_seen, "digest", "mapping_id"),
}


@pytest.mark.parametrize("what", list(_AS_TEXT))
def test_a_ciphertext_overwritten_with_text_that_is_no_utf8_stops_only_its_patient(
    what: str, tmp_path: Path
) -> None:
    """SQLite keeps text in a BLOB column; text that is no UTF-8 stopped the driver, and
    every sync with it ("the database refused the work"). Read as bytes, it is damage like
    any other (D-45, D-84): p2 is synced; p1 gets its error finding (a resource digest
    only makes its resources read again); restored, p1 is synced too."""
    url = f"sqlite:///{tmp_path / 'substreg.db'}"
    store, _ = make_store(url)
    bundle = _practice(tmp_path)
    run_sync(store, [bundle], FIRST)
    p1 = mapping_of(store, "p1")
    table, column, owner = _AS_TEXT[what]
    keys = [c.name for c in table.primary_key.columns]
    kept = [r for r in raw_rows(store, table) if r[owner] == p1]
    with tampering(url) as connection:
        connection.exec_driver_sql(
            f"UPDATE {table.name} SET {column} = {_NO_UTF8} WHERE {owner} = ?", (p1,)
        )
    damaged = run_sync(store, [bundle], SECOND, rebuild=what == "stored records")

    assert ("abmeldung", mapping_of(store, "p2")) in [
        (r.report.kind, r.subject) for r in damaged.recorded
    ]
    errors = [f for f in damaged.findings if p1 in f.message]
    if what == "resource digests":
        assert errors == []
        assert sorted((r.report.kind, r.subject) for r in damaged.recorded) == sorted(
            [("abmeldung", mapping_of(store, "p2")), ("abmeldung", p1)]
        )
        return
    assert [f.severity for f in errors] == ["error"]
    for row in kept:
        change(url, table, {k: row[k] for k in keys}, **{column: row[column]})
    repaired = run_sync(store, [bundle], SECOND)
    assert [(r.report.kind, r.subject) for r in repaired.recorded] == [("abmeldung", p1)]


def test_a_damaged_stored_state_is_derived_afresh(database: Database, tmp_path: Path) -> None:
    """Only the state is damaged: it is rebuilt from the archive, the reports are right."""
    store, _ = make_store(database.url)
    bundle = _practice(tmp_path)
    run_sync(store, [bundle], FIRST)
    _flip(database.url, store, patient_state, "ct", mapping_id=mapping_of(store, "p1"))
    result = run_sync(store, [bundle], SECOND)
    assert sorted(r.report.kind for r in result.recorded) == ["abmeldung", "abmeldung"]
    assert [f.severity for f in result.findings if "stored state of mapping" in f.message] == [
        "warning"
    ]


def test_damaged_practice_records_stop_sync_until_rebuilt(
    database: Database, tmp_path: Path
) -> None:
    """The practice's own records (doctors …) damaged: every report depends on them, so
    sync stops with one sentence naming them; a full export with --rebuild renews them."""
    from adapter.store.schema import practice_state

    store, _ = make_store(database.url)
    bundle = _practice(tmp_path)
    run_sync(store, [bundle], FIRST)
    _flip(database.url, store, practice_state, "ct", state_id=1)
    with pytest.raises(SyncError, match=r"practice's stored records .* --rebuild"):
        run_sync(store, [bundle], SECOND)
    rebuilt = run_sync(store, [bundle], SECOND, rebuild=True)
    assert sorted(r.report.kind for r in rebuilt.recorded) == ["abmeldung", "abmeldung"]
    assert run_sync(store, [bundle], SECOND).findings == []


# -- the commands around it ----------------------------------------------------------------


def _damaged_demo(cli: Cli) -> tuple[str, str]:
    """The demo synced, one report's payload damaged: (ledger id, mapping id)."""
    cli.synced()
    row = cli.json("reports", "list", "--format", "json")["reports"][0]
    engine_url = cli.url
    from sqlalchemy import create_engine, text

    engine = create_engine(engine_url)
    with engine.begin() as connection:
        ct = connection.execute(
            text("SELECT payload_ct FROM report WHERE ledger_id = :id"), {"id": row["ledger_id"]}
        ).scalar_one()
        connection.execute(
            text("UPDATE report SET payload_ct = :ct WHERE ledger_id = :id"),
            {"ct": bytes([bytes(ct)[0] ^ 1]) + bytes(ct)[1:], "id": row["ledger_id"]},
        )
    engine.dispose()
    return row["ledger_id"], row["mapping_id"]


def test_inspect_names_what_is_damaged_and_shows_nothing_it_holds(cli: Cli) -> None:
    """`inspect ledger` and `inspect mapping` say which part is damaged (exit 1), print no
    code, and are audited."""
    ledger_id, mapping_id = _damaged_demo(cli)
    shown = cli.run("inspect", "ledger", ledger_id)
    assert shown.status == 1
    assert "payload" in shown.out and "damaged" in shown.out
    mapping = cli.run("inspect", "mapping", mapping_id)
    assert mapping.status == 1
    assert f"report {ledger_id}" in mapping.out
    assert "reference                                      ok" in mapping.out or "ok" in mapping.out
    for code in ("THREM249", "KAWOF315"):
        assert code not in shown.out + mapping.out
    assert [e["ledger_id"] for e in cli.audit("inspect")] == [ledger_id, None]


def test_an_intact_row_inspects_clean(cli: Cli) -> None:
    """Nothing damaged: exit 0 and every part ok."""
    cli.synced()
    row = cli.json("reports", "list", "--format", "json")["reports"][0]
    out = cli.ok("inspect", "mapping", row["mapping_id"])
    assert "Nothing damaged." in out
    assert "damaged" not in out.replace("Nothing damaged.", "")


def test_the_export_goes_on_past_a_damaged_payload_and_marks_it(cli: Cli) -> None:
    """`ledger export` writes every other report; the damaged one says so (exit 1)."""
    ledger_id, _ = _damaged_demo(cli)
    out = cli.tmp / "export.csv"
    result = cli.run(
        "ledger",
        "export",
        "--from",
        "2025-01-01",
        "--to",
        AS_OF,
        "--out",
        str(out),
        "--purpose",
        PURPOSE,
    )
    assert result.status == 1 and ledger_id in result.err
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 17
    [marked] = [line for line in lines if line.startswith(ledger_id)]
    assert "VERÄNDERT" in marked and "nicht lesbar" in marked


def test_a_lookup_fails_closed_naming_the_damaged_mapping(cli: Cli) -> None:
    """Re-identification decrypts every code: one damaged row refuses all, and names it."""
    cli.synced()
    columns = cli.columns("patient_mapping")
    rows = [dict(zip(columns, r, strict=True)) for r in cli.tables()["patient_mapping"]]
    mapping_id = next(r["mapping_id"] for r in rows if r["codes_ct"] is not None)
    cli.execute(
        "UPDATE patient_mapping SET codes_nonce = subject_nonce WHERE mapping_id = :id",
        id=mapping_id,
    )
    line = cli.refused("lookup", "--code", "THREM249", "--purpose", PURPOSE)
    assert f"codes of mapping {mapping_id}" in line and "cannot be decrypted" in line


def test_sync_through_the_command_reports_the_damage_and_exits_0(cli: Cli) -> None:
    """The demo synced again after a damaged payload: exit 0, the finding on the output."""
    _, mapping_id = _damaged_demo(cli)
    out = cli.ok(*SYNC[:-1], "2026-01-02")
    assert f"mapping {mapping_id}" in out and "Nothing of this patient" in out


# -- damaged is not changed; a damaged index -------------------------------------------------


def test_the_export_writes_rows_of_a_damaged_data_key_as_unreadable_not_as_changed(
    cli: Cli,
) -> None:
    """One bit of a patient's wrapped data key flipped: its reports cannot be read, which is
    damage, not tampering (D-45): the export writes them as "nicht lesbar (beschädigt)",
    never "VERÄNDERT", warns that they cannot be read, and exits 1."""
    cli.synced()
    columns = cli.columns("report")
    rows = [dict(zip(columns, r, strict=True)) for r in cli.tables()["report"]]
    mapping_id = next(r["mapping_id"] for r in rows if r["mapping_id"] is not None)
    mapping_columns = cli.columns("patient_mapping")
    dek_id = next(
        dict(zip(mapping_columns, r, strict=True))["dek_id"]
        for r in cli.tables()["patient_mapping"]
        if r[0] == mapping_id
    )
    store, _ = make_store(cli.url, initialised=False)
    _flip(cli.url, store, data_key, "wrapped", dek_id=dek_id)
    out = cli.tmp / "export.csv"
    result = cli.run(*EXPORT, "--out", str(out))
    assert result.status == 1
    assert "cannot be read (a damaged data key or payload)" in result.err
    assert "VERÄNDERT" not in result.err
    text = out.read_text(encoding="utf-8-sig")
    assert "VERÄNDERT" not in text
    ours = [r["ledger_id"] for r in rows if r["mapping_id"] == mapping_id]
    for line in text.splitlines():
        if line.split(";")[0] in ours:
            assert "nicht lesbar (beschädigt" in line


def _index_of(store: Store, mapping_id: str) -> dict[str, Any]:
    [row] = [r for r in raw_rows(store, patient_index) if r["mapping_id"] == mapping_id]
    return row


def test_a_flipped_bit_in_the_patient_index_ends_no_treatment_and_makes_no_second_mapping(
    database: Database, tmp_path: Path
) -> None:
    """p1's index row damaged while p1 comes on every day: sync neither makes p1 a second
    mapping (with a new Anmeldung) nor ends its treatment by the 10-day rule; it names the
    mapping in an error and records nothing for p1. Restored, the next sync goes on."""
    store, _ = make_store(database.url)
    first = fhir.two_patients(
        tmp_path / "first.json", date(2026, 3, 2), date(2026, 3, 10), date(2026, 3, 25)
    )
    run_sync(store, [first], date(2026, 3, 10))
    p1 = mapping_of(store, "p1")
    index = _index_of(store, p1)
    damaged = bytearray(index["subject_idx"])
    damaged[len(damaged) // 2] ^= 1
    where = {"mapping_id": p1}
    change(database.url, patient_index, where, subject_idx=bytes(damaged))
    later = fhir.write_bundle(
        tmp_path / "later.json",
        [
            fhir.doctor(),
            fhir.patient("p1"),
            *fhir.daily("p1", date(2026, 3, 11), date(2026, 3, 25)),
        ],
    )

    result = run_sync(store, [first, later], date(2026, 3, 25))

    assert result.recorded == []
    assert len(raw_rows(store, patient_mapping)) == 2
    [error] = [f for f in result.findings if f"mapping {p1}" in f.message]
    assert error.severity == "error" and "Patient/p1" in error.message
    assert "no row of the patient index finds its reference" in error.message
    assert [r["kind"] for r in raw_rows(store, report) if r["mapping_id"] == p1] == ["anmeldung"]

    change(database.url, patient_index, where, subject_idx=bytes(index["subject_idx"]))
    repaired = run_sync(store, [first, later], date(2026, 3, 25))
    assert repaired.recorded == [] and not [f for f in repaired.findings if p1 in f.message]


def test_inspect_mapping_names_a_damaged_index_row(cli: Cli) -> None:
    """`inspect mapping` checks that the index finds the row by its own reference."""
    cli.synced()
    row = cli.json("reports", "list", "--format", "json")["reports"][0]
    cli.execute(
        "UPDATE patient_index SET idx_ver = idx_ver + 7 WHERE mapping_id = :id",
        id=row["mapping_id"],
    )
    found = cli.run("inspect", "mapping", row["mapping_id"])
    assert found.status == 1
    assert "no row of the patient index finds its reference" in found.out
