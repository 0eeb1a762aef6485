"""Building blocks of the store's contract tests: domain values, raw rows, tampering."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, create_engine, select, text

from adapter.crypto import Keyring
from adapter.domain.model import Address, RegisterDoctor, Report
from adapter.domain.reconcile import PRACTICE, Origin, Planned
from adapter.store.mappings import MappingRow, canonical_reference
from adapter.store.memory.backend import MemoryDatabase
from adapter.store.workspace import Store, Workspace, workspace_on
from tests.storage import ACTOR, NOW

T = TypeVar("T")
EHR = "https://ehr.example.org/fhir"
CODE = "HAMÜF284"  # a patient code with an umlaut: its UTF-8 bytes are not ASCII
OTHER_CODE = "PEMUM163"
BTM = "1234567"


def reference(patient_id: str = "p1") -> str:
    """The canonical reference of an EHR patient of the test practice."""
    return canonical_reference(EHR, patient_id)


def doctor(btm: str = BTM) -> RegisterDoctor:
    """A substituting doctor as a report carries them."""
    return RegisterDoctor(
        btm_number=btm,
        family_name="Muster",
        given_name="Erika",
        birth_date="1970-01-01",
        address=Address(("Hauptstraße 1",), "10115", "Berlin"),
        phone="030 1234567",
    )


def make_report(
    code: str | None = CODE,
    *,
    kind: str = "anmeldung",
    day: date = date(2026, 11, 2),
    made_on: date = date(2026, 11, 3),
    btm: str = BTM,
) -> Report:
    """A report as the derive engine makes it."""
    return Report(
        kind=kind,  # type: ignore[arg-type]
        made_on=made_on,
        date=day,
        patient_code=code,
        substance="Methadon" if kind != "mitteilung" else None,
        doctor=doctor(btm),
        consultant=None,
        remarks=("Erstmeldung",),
        rule="R-EP-1",
        sources=("MedicationAdministration/ma-1", "Patient/p1"),
        id=f"{kind}-{day.isoformat()}",
    )


def planned(
    subject: str,
    code: str | None = CODE,
    *,
    kind: str = "anmeldung",
    day: date = date(2026, 11, 2),
    made_on: date = date(2026, 11, 3),
    origin: Origin = "derived",
) -> Planned:
    """A report to record for `subject` (a mapping id, or PRACTICE for a notice)."""
    return Planned(subject, make_report(code, kind=kind, day=day, made_on=made_on), origin)


def notice(day: date = date(2026, 11, 2)) -> Planned:
    """A practice notice (Mitteilung): it belongs to no patient."""
    return planned(PRACTICE, None, kind="mitteilung", day=day)


def new_patient(store: Store, patient_id: str = "p1", *codes: str) -> MappingRow:
    """Create the mapping row of an EHR patient (with the codes reported for them)."""

    def work(space: Workspace) -> MappingRow:
        row, _ = space.mappings.find_or_create(reference(patient_id))
        return space.mappings.record_use(row, codes=codes) if codes else row

    return store.run(ACTOR, work)


@contextmanager
def unit_of_work(store: Store, keyring: Keyring) -> Iterator[Workspace]:
    """A workspace on a transaction that is rolled back at the end, without Store.run's
    retries (which would run the work again after a refused race)."""
    with store.database.transaction(write=False) as backend:
        yield workspace_on(backend, keyring, ACTOR, NOW)


def race(store: Store, work: Callable[[Workspace], T], *, open_together: bool) -> list[T]:
    """Run `work` in two threads at the same time and return both results.

    With `open_together` both transactions are open before either does its work (on
    PostgreSQL, with a store that does not serialise writers); without it the two threads
    only start together (SQLite admits one writer at a time: BEGIN IMMEDIATE waits).
    """
    barrier = threading.Barrier(2, timeout=10)
    results: list[T] = []
    failures: list[BaseException] = []

    def writer() -> None:
        waited = not open_together

        def together(space: Workspace) -> T:
            nonlocal waited
            if not waited:  # the first attempt only: a retry runs without the other
                waited = True
                barrier.wait()
            return work(space)

        try:
            if not open_together:
                barrier.wait()
            results.append(store.run(ACTOR, together))
        except BaseException as exc:  # re-raised in the test's thread below
            failures.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if failures:
        raise failures[0]
    assert len(results) == 2, "a writer did not finish"
    return results


def raw_rows(store: Store, table: Table) -> list[dict[str, Any]]:
    """Every row of `table` as stored, column by column (what a stolen database shows):
    the SQL table's rows, or the twin's dicts (a copy: changing it changes nothing)."""
    if isinstance(store.database, MemoryDatabase):
        return [dict(row) for row in store.database.tables[table.name].values()]
    with store.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table))]


def holds(rows: list[dict[str, Any]], needle: str) -> bool:
    """Whether any column of any row contains `needle`, as text or as its UTF-8 bytes."""
    raw = needle.encode()
    for row in rows:
        for value in row.values():
            if isinstance(value, bytes | memoryview) and raw in bytes(value):
                return True
            if isinstance(value, str) and needle in value:
                return True
    return False


@contextmanager
def tampering(url: str) -> Iterator[Connection]:
    """A transaction of someone writing to the database behind the program's back:
    no program code and no foreign-key checks, as with a raw SQL client."""
    engine = create_engine(url)  # plain SQLite does not enforce foreign keys
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            yield connection
    finally:
        engine.dispose()


Target = str | Store  # a SQL database's URL, or a store (on SQL or on the twin)


def _twin_rows(target: Target, table: Table) -> dict[Any, dict[str, Any]] | None:
    """The twin's rows of `table` (changed in place: behind the program's back), or None
    for a SQL database."""
    if isinstance(target, Store) and isinstance(target.database, MemoryDatabase):
        return target.database.tables[table.name]
    return None


def _url(target: Target) -> str:
    return (
        target
        if isinstance(target, str)
        else target.engine.url.render_as_string(hide_password=False)
    )


def _matches(row: Mapping[str, Any], where: Mapping[str, object]) -> bool:
    return all(row[column] == value for column, value in where.items())


def _twin_key(table: Table, row: Mapping[str, Any]) -> Any:
    """The key the twin files a row under: its primary key (one column: the value)."""
    key = tuple(row[column.name] for column in table.primary_key)
    return key[0] if len(key) == 1 else key


def change(target: Target, table: Table, where: Mapping[str, object], **values: object) -> None:
    """Overwrite columns of the rows of `table` that match `where`, behind the program."""
    rows = _twin_rows(target, table)
    if rows is not None:
        hits = [key for key, row in rows.items() if _matches(row, where)]
        assert hits
        for key in hits:
            row = {**rows.pop(key), **values}
            rows[_twin_key(table, row)] = row
        return
    with tampering(_url(target)) as connection:
        statement = table.update().values(**values)
        for column, value in where.items():
            statement = statement.where(table.c[column] == value)
        assert connection.execute(statement).rowcount >= 1


def delete(target: Target, table: Table, **where: object) -> None:
    """Delete the rows of `table` that match `where`, behind the program."""
    rows = _twin_rows(target, table)
    if rows is not None:
        for key in [key for key, row in rows.items() if _matches(row, where)]:
            del rows[key]
        return
    with tampering(_url(target)) as connection:
        statement = table.delete()
        for column, value in where.items():
            statement = statement.where(table.c[column] == value)
        connection.execute(statement)


def insert(target: Target, table: Table, **values: object) -> None:
    """Insert a row into `table` behind the program (columns not given are NULL)."""
    rows = _twin_rows(target, table)
    if rows is not None:
        row = {column.name: values.get(column.name) for column in table.c}
        rows[_twin_key(table, row)] = row
        return
    with tampering(_url(target)) as connection:
        connection.execute(table.insert().values(**values))
