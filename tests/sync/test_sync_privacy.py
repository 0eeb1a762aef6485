"""The stolen-database test (PRIVACY.md T1, T2): after syncing every public scenario,
no table of the SQLite file or the PostgreSQL schema, and no log line, holds a patient's
name, birth date, EHR patient id or patient code in clear."""

from __future__ import annotations

import functools
import json
import logging
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapter.services import derive
from adapter.store.schema import metadata
from tests.storage import Database, make_store
from tests.sync.helpers import run_sync
from tests.test_scenarios import OWN_CASES, SHARED_CASES

CASES = [*SHARED_CASES, *OWN_CASES]
MIN_NAME_IN_BYTES = 5  # shorter names occur by chance in megabytes of ciphertext


def _secrets(cases: list[Path]) -> dict[str, set[str]]:
    """Names, birth dates, Patient ids and codes of every patient of the cases."""
    found: dict[str, set[str]] = {"name": set(), "birth": set(), "id": set(), "code": set()}
    for case in cases:
        bundle = json.loads((case / "input.json").read_text(encoding="utf-8"))
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] != "Patient":
                continue
            found["id"].add(resource["id"])
            for name in resource.get("name", []):
                for part in [name.get("family", ""), *name.get("given", [])]:
                    found["name"].update(w for w in part.replace("-", " ").split() if len(w) >= 3)
            if len(resource.get("birthDate", "")) == 10:
                y, m, d = resource["birthDate"].split("-")
                found["birth"].update({f"{y}-{m}-{d}", f"{d}.{m}.{y}", f"{y}{m}{d}"})
        as_of = date.fromisoformat(json.loads((case / "expected.json").read_text())["as_of"])
        found["code"].update(
            r.patient_code
            for r in derive([case / "input.json"], as_of=as_of).reports
            if r.patient_code
        )
    found["name"] -= {"von", "van", "der", "den", "Dr.", "med"}  # particles, not names
    return found


def _dump(url: str, store: Any) -> list[tuple[str, str, object]]:
    rows = []
    with store.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in row._mapping.items():
                    rows.append((table.name, column, value))
    return rows


def _leaks(
    rows: list[tuple[str, str, object]], text: str, secrets: dict[str, set[str]]
) -> list[str]:
    leaks = []
    for table, column, value in rows:
        if isinstance(value, bytes | memoryview):
            raw = bytes(value)
            for kind, words in secrets.items():
                for word in words:
                    if kind == "name" and len(word) < MIN_NAME_IN_BYTES:
                        continue
                    for encoded in {word.encode(), word.encode("latin-1", "ignore")}:
                        if encoded and encoded in raw:
                            leaks.append(f"{kind} {word!r} in {table}.{column} (bytes)")
        elif value is not None:
            leaks += _in_text(f"{table}.{column}", str(value), secrets)
    return leaks + _in_text("the log", text, secrets)


def _in_text(where: str, text: str, secrets: dict[str, set[str]]) -> list[str]:
    """Names as whole words in any case ("Ole" is no leak in "role"); the rest as is. One
    pattern of all names first: only a text it matches is searched name by name."""
    names = _any_name(frozenset(secrets.get("name", ())))
    return [
        f"{kind} {word!r} in {where}"
        for kind, words in secrets.items()
        if kind != "name" or (names is not None and names.search(text))
        for word in words
        if (
            re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE)
            if kind == "name"
            else word in text
        )
    ]


@functools.cache
def _any_name(names: frozenset[str]) -> re.Pattern[str] | None:
    """Whether any of `names` is in a text as a whole word, in any case."""
    if not names:
        return None
    either = "|".join(re.escape(name) for name in sorted(names))
    return re.compile(rf"(?<!\w)(?:{either})(?!\w)", re.IGNORECASE)


def test_a_stolen_database_and_its_logs_name_nobody(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every public scenario synced: tables and log lines hold no name, date, id or code
    (the project's own cases when ../shared is not beside the clone)."""
    cases = sorted(
        SHARED_CASES or OWN_CASES,
        key=lambda c: json.loads((c / "expected.json").read_text())["as_of"],
    )
    secrets = _secrets(cases)
    assert secrets["code"] and secrets["name"] and secrets["birth"] and secrets["id"]
    store, _ = make_store(database.url)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # statements and parameters
    try:
        for case in cases:
            as_of = date.fromisoformat(json.loads((case / "expected.json").read_text())["as_of"])
            # The cases are separate practices in one database: when one case's data ends
            # the phases of earlier ones, that is no stale export ending them (D-48).
            result = run_sync(store, [case / "input.json"], as_of, accept_mass_end=True)
            assert result.recorded or case.name.startswith(("14", "18", "19"))
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    assert "INSERT INTO report" in log_text  # the statements were logged, parameters too
    rows = _dump(database.url, store)
    assert _leaks(rows, log_text, secrets) == []


def test_the_privacy_check_itself_finds_a_code_in_clear() -> None:
    """The search above is not blind: a code stored in clear is found, in text and bytes."""
    secrets = {"name": {"Mustermann"}, "birth": set(), "id": set(), "code": {"MAMUM385"}}
    rows = [("t", "c", "x MAMUM385 y"), ("t", "b", b"Max Mustermann")]
    assert len(_leaks(rows, "", secrets)) == 2


def test_patients_without_any_events_leave_no_trace(tmp_path: Path) -> None:
    """The EHR's other patients (a Patient and nothing else) get no mapping row at all."""
    from sqlalchemy import func

    from adapter.store.schema import patient_mapping, resource_seen
    from tests.sync import fhir

    store, _ = make_store(f"sqlite:///{tmp_path / 'substreg.db'}")
    others = [fhir.patient(f"x{n}", given=f"Other{n}") for n in range(3)]
    run_sync(
        store, [fhir.write_bundle(tmp_path / "a.json", [fhir.doctor(), *others])], date(2025, 3, 1)
    )
    with store.engine.connect() as connection:
        assert (
            connection.execute(select(func.count()).select_from(patient_mapping)).scalar_one() == 0
        )
        assert connection.execute(select(func.count()).select_from(resource_seen)).scalar_one() == 1
    events = fhir.daily("x1", date(2025, 3, 2), date(2025, 3, 4))
    later = run_sync(
        store, [fhir.write_bundle(tmp_path / "b.json", [*others, *events])], date(2025, 3, 5)
    )
    assert [r.report.kind for r in later.recorded] == ["anmeldung"]
    with store.engine.connect() as connection:
        assert (
            connection.execute(select(func.count()).select_from(patient_mapping)).scalar_one() == 1
        )
