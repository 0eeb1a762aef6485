"""`retention apply` destroys the register's duplicate notices kept since D-233 (D-240): a
notice whose letter day lies before the cutoff, and one whose patient retention shreds,
lose their data key and their row, audited by our id without the code; the others stay.
On the twin, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from adapter.cli.output_care import retention_plan_text, retention_text
from adapter.domain.duplicate_notice import DuplicateNotice, OtherDoctor
from adapter.errors import ShreddedError
from adapter.services.retention import apply_retention, plan_retention
from adapter.services.retention_notices import LETTER, PATIENT
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR, EVERY_KIND, Database, open_store
from tests.sync import fhir
from tests.sync.helpers import run_sync

IN_2036 = datetime(2036, 12, 31, 9, 0, tzinfo=UTC)
CUTOFF = date(2035, 12, 31)  # one year (`years=1`) before the clock's day
OTHER = OtherDoctor("Dr. Anna Beispiel", "7654321", "Hauptstr. 1, Berlin", date(2020, 3, 1))


def _synced(db: Database, tmp_path: Path) -> tuple[Store, dict[str, str]]:
    """Two treatments of 2020, ended long before the cutoff; the syncs went on to 2036.
    The patients' codes by mapping id."""
    store, _ = open_store(db, clock=lambda: IN_2036)
    start = date(2020, 3, 2)
    people = {
        "p1": fhir.patient("p1"),
        "p2": fhir.patient("p2", given="Thomas", family="Reuter", gender="male"),
    }
    for patient, resource in people.items():
        data = fhir.write_bundle(
            tmp_path / f"{patient}.json",
            [fhir.doctor(), resource, *fhir.daily(patient, start, start)],
        )
        run_sync(store, [data], start + timedelta(days=20))
    run_sync(store, [data], IN_2036.date())

    def codes(space: Workspace) -> dict[str, str]:
        return {m.mapping_id: space.mappings.codes_of(m)[-1] for m in space.mappings.readable()}

    return store, store.run(ACTOR, codes)


def _notice(code: str, day: date, reference: str = "Az. 1") -> DuplicateNotice:
    return DuplicateNotice(reference, day, fhir.DOCTOR_BTM, code, (OTHER,))


def _keep(store: Store, *notices: DuplicateNotice) -> list[str]:
    def work(space: Workspace) -> list[str]:
        return [space.notice_letters.record(n)[0].notice_id for n in notices]

    return store.run(ACTOR, work)


def _left(store: Store) -> list[str]:
    return store.run(ACTOR, lambda space: [k.notice_id for k in space.notice_letters.listed()])


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_an_old_letter_and_a_shredded_patients_letter_are_destroyed(
    db: Database, tmp_path: Path
) -> None:
    """A letter of 2035 (before the cutoff) goes by its day; one of 2036 about p1, who is
    shredded, goes with p1 (its code must not outlive p1's key); one of 2036 about a code
    no local patient has stays. Keys destroyed, rows gone, audited without the code."""
    store, codes = _synced(db, tmp_path)
    [(p1, code1), _] = sorted(codes.items())
    old, of_p1, stranger = _keep(
        store,
        _notice("ZZTEF100", date(2035, 12, 30)),
        _notice(code1, date(2036, 6, 1)),
        _notice("ZZTEF100", date(2036, 6, 2)),
    )
    deks = store.run(
        ACTOR, lambda s: {r["notice_id"]: r["dek_id"] for r in s.notice_letters.rows.rows()}
    )
    plan = plan_retention(store, ACTOR, years=1, clock_checked=True)
    assert plan.cutoff == CUTOFF
    assert [(n.notice_id, n.why, n.mapping_id) for n in plan.notices] == [
        (old, LETTER, None),
        (of_p1, PATIENT, p1),
    ]
    result = apply_retention(store, ACTOR, years=1, clock_checked=True)
    assert result.notices == (old, of_p1) and p1 in result.shredded
    assert _left(store) == [stranger]

    def shredded(space: Workspace) -> None:
        for notice_id in (old, of_p1):
            with pytest.raises(ShreddedError):
                space.keys.data_key(deks[notice_id])

    store.run(ACTOR, shredded)
    entries = store.read(lambda space: list(space.audit.rows.entries(action="retention.notice")))
    assert [orjson.loads(e["details"]) for e in entries] == [
        {"notice": old, "letter_date": "2035-12-30", "why": LETTER, "cutoff": "2035-12-31"},
        {"notice": of_p1, "letter_date": "2036-06-01", "why": PATIENT, "cutoff": "2035-12-31"},
    ]
    assert all(code1 not in repr(e) and "ZZTEF100" not in repr(e) for e in entries)


def test_an_answered_notice_goes_with_the_patient_of_its_answer(tmp_path: Path) -> None:
    """Answered, a notice concerns the patient of its answer's report: it goes with that
    patient (even under a code the notice typed differently), and one of a patient not
    confirmed stays with them, as does a notice shown nothing of (twin)."""
    store, codes = _synced(Database("memory", ""), tmp_path)
    [(p1, _), (p2, code2)] = sorted(codes.items())

    def first_entry(space: Workspace, mapping_id: str) -> str:
        return next(iter(space.ledger.entries(mapping_ids=[mapping_id]))).ledger_id

    answered, of_p2 = _keep(
        store, _notice("ZZTEF100", date(2036, 6, 1)), _notice(code2, IN_2036.date())
    )

    def answer(space: Workspace) -> None:
        space.notice_letters.answered(answered, "us", first_entry(space, p1))

    store.run(ACTOR, answer)
    plan = plan_retention(store, ACTOR, years=1, clock_checked=True)
    assert {(n.notice_id, n.mapping_id) for n in plan.notices} == {(answered, p1), (of_p2, p2)}
    only_p1 = frozenset({p1, answered, of_p2})  # p2 not confirmed: its notice stays
    result = apply_retention(store, ACTOR, years=1, confirmed=only_p1, clock_checked=True)
    assert (result.shredded, result.notices) == ((p1,), (answered,))
    assert _left(store) == [of_p2]


def test_a_dry_run_destroys_no_notice_and_the_texts_name_them_by_id(tmp_path: Path) -> None:
    """The plan and the result show the notice's id, day and why, never its code or
    reference; a dry run names what it would destroy and keeps it (twin)."""
    store, codes = _synced(Database("memory", ""), tmp_path)
    code1 = sorted(codes.items())[0][1]
    [old] = _keep(store, replace(_notice(code1, date(2030, 1, 2)), reference="Az. 2030-7"))
    shown = retention_plan_text(plan_retention(store, ACTOR, years=1, clock_checked=True))
    assert f"  notice {old}  of 2030-01-02  (letter before the cutoff)" in shown
    dry = apply_retention(store, ACTOR, years=1, dry_run=True, clock_checked=True)
    assert dry.notices == (old,) and _left(store) == [old]
    assert f"Duplicate notices would be destroyed: 1 ({old})." in retention_text(dry)
    done = retention_text(apply_retention(store, ACTOR, years=1, clock_checked=True))
    assert f"Duplicate notices destroyed: 1 ({old})." in done
    for text in (shown, done):
        assert code1 not in text and "Az. 2030" not in text
    assert _left(store) == []
