"""The use cases of the stateful commands on the in-memory twin: sync, the reports'
review, lookup, retention and undo, as the CLI calls them (one service call each), in
milliseconds. Their end-to-end runs on SQLite and PostgreSQL are tests/test_cli_store.py
and tests/faults/; these pin the behaviour of the use cases themselves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from adapter.errors import LookupRefused
from adapter.services import derive
from adapter.services.lookup import lookup
from adapter.services.reports import decide, list_reports
from adapter.services.retention import apply_retention, plan_retention
from adapter.services.sync_undo import list_runs, plan_undo, undo
from adapter.settings.practice import load_config
from adapter.store.workspace import Store, Workspace
from tests.cli_helpers import CONFIG, DEMO, PURPOSE, REUTER
from tests.storage import ACTOR
from tests.sync.helpers import keys_of, ledger, run_sync
from tests.usecases.conftest import Clock

AS_OF = date(2025, 12, 31)


def _sync_demo(store: Store, as_of: date = AS_OF) -> None:
    run_sync(store, [DEMO], as_of, config=load_config(CONFIG))


def test_sync_records_what_derive_reports_and_a_second_run_nothing(twin: Store) -> None:
    first = run_sync(twin, [DEMO], AS_OF, config=load_config(CONFIG))
    expected = derive([DEMO], as_of=AS_OF, config=load_config(CONFIG))
    assert keys_of(h.report for h in ledger(twin)) == keys_of(expected.reports)
    assert first.findings == expected.findings
    assert len(first.recorded) == len(expected.reports) > 0
    second = run_sync(twin, [DEMO], AS_OF, config=load_config(CONFIG))
    assert second.recorded == []
    assert second.changed == 0


def test_reports_are_listed_pending_then_approved_all_or_none(twin: Store) -> None:
    _sync_demo(twin)
    pending = list_reports(twin, ACTOR, state="pending")
    assert pending.entries and not pending.problems
    ids = [e.ledger_id for e in pending.entries[:2]]
    decide(twin, ACTOR, ids, "approve")
    assert {e.ledger_id for e in list_reports(twin, ACTOR, state="approved").entries} == set(ids)
    with pytest.raises(Exception):  # noqa: B017 — an unknown id: nothing moves
        decide(twin, ACTOR, [pending.entries[2].ledger_id, "no-such-id"], "approve")
    assert len(list_reports(twin, ACTOR, state="approved").entries) == 2


def test_lookup_finds_the_patient_of_a_code_and_is_audited(twin: Store) -> None:
    _sync_demo(twin)
    found = lookup(twin, ACTOR, REUTER.lower(), PURPOSE, "T-1")
    assert [m.reference.rsplit("|", 1)[-1] for m in found] == ["1001"]
    assert found[0].reports
    with pytest.raises(LookupRefused):
        lookup(twin, ACTOR, REUTER, "", None)

    def audited(space: Workspace) -> list[str]:
        return [e["action"] for e in space.audit.rows.entries(action="lookup")]

    assert twin.run(ACTOR, audited) == ["lookup"]


def test_retention_shreds_only_treatments_past_the_period(twin: Store, clock: Clock) -> None:
    """Ten years on (the open treatments ended by R-EP-3, syncs went on), the treatments
    that ended more than ten years before the day are shredded (D-21)."""
    _sync_demo(twin)
    assert plan_retention(twin, ACTOR, as_of=AS_OF).shred == ()  # nothing is ten years old
    later = date(2026, 1, 31)  # the open treatments end by R-EP-3
    run_sync(twin, [DEMO], later, config=load_config(CONFIG), accept_mass_end=True)
    clock.now = clock.now.replace(year=2036, month=6)
    run_sync(twin, [DEMO], date(2036, 6, 1), config=load_config(CONFIG))  # nobody walked
    plan = plan_retention(twin, ACTOR, clock_checked=True)
    closed = {t.mapping_id for t in plan.shred}
    assert closed
    done = apply_retention(twin, ACTOR, clock_checked=True)
    assert set(done.shredded) == closed
    assert plan_retention(twin, ACTOR, clock_checked=True).shred == ()


def test_retention_refuses_a_day_after_today(twin: Store) -> None:
    _sync_demo(twin)
    with pytest.raises(Exception, match="after today"):
        plan_retention(twin, ACTOR, as_of=date(2030, 1, 1))


def test_undo_takes_back_a_run_and_its_reports(twin: Store) -> None:
    _sync_demo(twin)
    before = keys_of(h.report for h in ledger(twin))
    later = AS_OF + timedelta(days=20)
    result = run_sync(twin, [DEMO], later, config=load_config(CONFIG), accept_mass_end=True)
    assert result.recorded
    plan = plan_undo(twin, ACTOR)
    assert plan.runs and plan.runs[0].run_id == result.run_id
    undo(twin, ACTOR, tuple(r.run_id for r in plan.runs))
    live = [h for h in ledger(twin) if h.state == "pending" and not h.superseded]
    assert keys_of(h.report for h in live) == before
    withdrawn = [h for h in ledger(twin) if h.state == "rejected"]
    assert keys_of(h.report for h in withdrawn) == keys_of(r.report for r in result.recorded)
    assert [r.state for r in list_runs(twin, ACTOR)][:2] == ["undone", "done"]


def test_a_failed_unit_of_work_leaves_the_twin_unchanged(twin: Store) -> None:
    _sync_demo(twin)
    before = ledger(twin)

    def fails(space: Workspace) -> None:
        space.ledger.move(before[0].ledger_id, "approved")
        space.audit.append(ACTOR, "reports.approve", ledger_id=before[0].ledger_id)
        raise RuntimeError("the work failed half-way")

    def audited(space: Workspace) -> int:
        return len(space.audit.rows.entries())

    entries = twin.run(ACTOR, audited)
    with pytest.raises(RuntimeError):
        twin.run(ACTOR, fails)
    assert ledger(twin) == before
    assert twin.run(ACTOR, audited) == entries


def test_retention_keeps_a_treatment_still_open_at_the_register(twin: Store, clock: Clock) -> None:
    """Closed in the data, but its Abmeldung was rejected: the register still holds the
    registration, so its keys are kept (the code is needed to end it), and said so."""
    _sync_demo(twin)
    later = date(2026, 1, 31)  # the open treatments end by R-EP-3
    run_sync(twin, [DEMO], later, config=load_config(CONFIG), accept_mass_end=True)
    clock.now = clock.now.replace(year=2036, month=6)
    run_sync(twin, [DEMO], date(2036, 6, 1), config=load_config(CONFIG))
    closed = {t.mapping_id for t in plan_retention(twin, ACTOR, clock_checked=True).shred}
    ends = [
        e
        for e in list_reports(twin, ACTOR, state="pending").entries
        if e.kind == "abmeldung" and e.mapping_id in closed
    ]
    assert ends
    last = max(ends, key=lambda e: e.report_date)  # the end of the patient's last phase
    ends = [last]
    decide(twin, ACTOR, [last.ledger_id], "reject", reason="not sent: doctor's decision")
    plan = plan_retention(twin, ACTOR, clock_checked=True)
    assert ends[0].mapping_id in plan.kept_open
    assert ends[0].mapping_id not in {t.mapping_id for t in plan.shred}
    done = apply_retention(twin, ACTOR, clock_checked=True)
    assert ends[0].mapping_id in done.kept_open
    assert ends[0].mapping_id not in done.shredded
