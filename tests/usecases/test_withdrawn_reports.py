"""Reports sync withdrew (D-28) are no decision: once the data calls for them again, sync
records them again (D-80). A report a person rejected stays rejected. On the twin; the
same on SQLite and PostgreSQL through the CLI is tests/test_cli_store.py."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.domain.ledger import is_freed
from adapter.domain.model import Report
from adapter.domain.reconcile import slot_key
from adapter.services import derive
from adapter.services.reports import decide
from adapter.services.sync_undo import list_runs, plan_undo, undo
from adapter.settings.practice import PracticeConfig, load_config
from adapter.store.workspace import Store, Workspace
from tests.cli_helpers import CONFIG, DEMO
from tests.storage import ACTOR, NOW
from tests.sync.helpers import Held, keys_of, ledger, run_sync
from tests.usecases.conftest import Clock, twin_store

AS_OF = date(2025, 12, 31)
DEMO_PATIENTS = ("1001", "1002", "1003", "1004", "1005", "1006", "1007", "1009", "1010")


def _live(store: Store) -> list[Held]:
    """The ledger's reports that stand: not rejected (withdrawn, waived) or superseded."""
    return [h for h in ledger(store) if h.state != "rejected" and not h.superseded]


def _derived(paths: list[Path], config: PracticeConfig) -> list[Report]:
    return derive(paths, as_of=AS_OF, config=config).reports


def _without_gender(folder: Path, patients: frozenset[str]) -> Path:
    """A copy of the demo export whose Patients in `patients` lost their gender (an EHR
    export glitch): their code cannot be made (R-CODE-3), their reports are withheld."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(DEMO, folder)
    bundle = json.loads((folder / "patients.json").read_text(encoding="utf-8"))
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient" and resource["id"] in patients:
            resource.pop("gender", None)
    (folder / "patients.json").write_text(json.dumps(bundle), encoding="utf-8")
    return folder


def test_reports_withdrawn_while_the_configuration_was_forgotten_are_recorded_again(
    twin: Store,
) -> None:
    """The issue-9 review's repro: `--config` forgotten once withdraws 15 pending reports
    (R-DOC-1: no BtM number, R-EP-5 warning); the next sync with it records them again."""
    config = load_config(CONFIG)
    run_sync(twin, [DEMO], AS_OF, config=config)
    forgot = run_sync(twin, [DEMO], AS_OF)
    assert sum(1 for f in forgot.findings if f.rule == "R-EP-5") == 8
    again = run_sync(twin, [DEMO], AS_OF, config=config)
    assert len(again.recorded) == 15
    assert keys_of(h.report for h in _live(twin)) == keys_of(_derived([DEMO], config))
    withdrawn = [h for h in ledger(twin) if h.state == "rejected"]
    assert len(withdrawn) == 15  # the withdrawn rows stay as the record (R-CH-2)
    assert run_sync(twin, [DEMO], AS_OF, config=config).recorded == []


def test_reports_withdrawn_for_a_patient_without_gender_come_back_with_it(
    twin: Store, tmp_path: Path
) -> None:
    """One export drops Patient.gender of Patient/1001 (R-CODE-3): its pending Anmeldung
    is withdrawn; the good export again records it again, and nothing else."""
    config = load_config(CONFIG)
    run_sync(twin, [DEMO], AS_OF, config=config)
    bad = run_sync(
        twin, [_without_gender(tmp_path / "bad", frozenset({"1001"}))], AS_OF, config=config
    )
    assert [f.severity for f in bad.findings if f.rule == "R-EP-5"] == ["warning"]
    good = run_sync(twin, [DEMO], AS_OF, config=config)
    assert [(r.report.kind, r.report.date) for r in good.recorded] == [
        ("anmeldung", date(2025, 1, 7))
    ]
    assert keys_of(h.report for h in _live(twin)) == keys_of(_derived([DEMO], config))


def test_a_report_a_person_rejected_is_not_recorded_again(twin: Store, tmp_path: Path) -> None:
    """A person's rejection is a decision: after a glitch and the good export again, the
    rejected slot stays decided (the register is not sent what a person stopped)."""
    config = load_config(CONFIG)
    first = run_sync(twin, [DEMO], AS_OF, config=config)
    [chosen] = [r for r in first.recorded if r.report.date == date(2025, 1, 7)]
    decide(twin, ACTOR, [chosen.ledger_id], "reject", reason="Patient objected, checked")
    run_sync(twin, [_without_gender(tmp_path / "bad", frozenset({"1001"}))], AS_OF, config=config)
    good = run_sync(twin, [DEMO], AS_OF, config=config)
    assert good.recorded == []
    live = keys_of(h.report for h in _live(twin))
    assert live == sorted(set(keys_of(_derived([DEMO], config))) - set(keys_of([chosen.report])))


def test_undoing_the_sync_that_withdrew_puts_the_reports_back_in_their_slots(
    twin: Store,
) -> None:
    """`runs undo` of the withdrawing run gives the reports back their state and slot (D-49):
    the next sync records none of them a second time."""
    config = load_config(CONFIG)
    run_sync(twin, [DEMO], AS_OF, config=config)
    run_sync(twin, [DEMO], AS_OF)
    plan = plan_undo(twin, ACTOR)
    assert plan.unwithdraw == 15
    undo(twin, ACTOR, tuple(r.run_id for r in plan.runs))
    assert {h.state for h in ledger(twin)} == {"pending"}
    assert run_sync(twin, [DEMO], AS_OF, config=config).recorded == []
    assert keys_of(h.report for h in _live(twin)) == keys_of(_derived([DEMO], config))


def test_undoing_the_sync_that_recorded_them_again_and_the_one_that_withdrew(
    twin: Store,
) -> None:
    """Both runs taken back, newest first: the re-recorded reports are withdrawn (slots
    freed), the withdrawn ones pending again in their own slots (D-49, D-80)."""
    config = load_config(CONFIG)
    run_sync(twin, [DEMO], AS_OF, config=config)
    run_sync(twin, [DEMO], AS_OF)
    run_sync(twin, [DEMO], AS_OF, config=config)
    done = [r for r in list_runs(twin, ACTOR) if r.state == "done"]
    plan = plan_undo(twin, ACTOR, done[1].run_id)
    assert (len(plan.withdraw), plan.unwithdraw) == (15, 15)
    undo(twin, ACTOR, tuple(r.run_id for r in plan.runs))
    assert keys_of(h.report for h in _live(twin)) == keys_of(_derived([DEMO], config))
    assert run_sync(twin, [DEMO], AS_OF, config=config).recorded == []


def _as_an_earlier_version_left_them(store: Store) -> int:
    """Give the withdrawn rows back the slot they kept before D-80 (sealed and chained, as
    that version wrote them); how many."""

    def put_back(space: Workspace) -> int:
        withdrawn = [e for e in space.ledger.entries(state="rejected") if is_freed(e.slot_key)]
        for entry in withdrawn:
            slot = slot_key(entry.kind, entry.mapping_id or "", entry.doctor_btm, entry.report_date)
            space.ledger.rewrite(entry, slot_key=slot)
        return len(withdrawn)

    return store.run(ACTOR, put_back)


def test_reports_an_earlier_version_withdrew_are_freed_and_recorded_again(twin: Store) -> None:
    """Rows withdrawn before D-80 kept their slot: the audit log names them (`report.withdraw`),
    and the next sync frees their slots and records the reports again."""
    config = load_config(CONFIG)
    run_sync(twin, [DEMO], AS_OF, config=config)
    run_sync(twin, [DEMO], AS_OF)
    assert _as_an_earlier_version_left_them(twin) == 15
    again = run_sync(twin, [DEMO], AS_OF, config=config)
    assert len(again.recorded) == 15
    assert keys_of(h.report for h in _live(twin)) == keys_of(_derived([DEMO], config))


def test_a_report_put_back_by_undo_and_then_rejected_by_a_person_stays_decided(
    twin: Store,
) -> None:
    """Withdrawn by sync, put back by `runs undo`, then rejected by a person: the person's
    word is the last (`report.reject` after `report.withdraw`), the slot stays decided."""
    config = load_config(CONFIG)
    first = run_sync(twin, [DEMO], AS_OF, config=config)
    [chosen] = [r for r in first.recorded if r.report.date == date(2025, 1, 7)]
    run_sync(twin, [DEMO], AS_OF)
    undo(twin, ACTOR, tuple(r.run_id for r in plan_undo(twin, ACTOR).runs))
    decide(twin, ACTOR, [chosen.ledger_id], "reject", reason="Not ours, checked")
    run_sync(twin, [DEMO], AS_OF, config=config)
    assert chosen.ledger_id not in {h.ledger_id for h in _live(twin)}
    dates = [h.report.date for h in _live(twin) if h.report.kind == "anmeldung"]
    assert date(2025, 1, 7) not in dates


_EXPORTS = st.lists(
    st.tuples(st.booleans(), st.frozensets(st.sampled_from(DEMO_PATIENTS), max_size=3)),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(glitches=_EXPORTS)
def test_after_any_glitched_exports_the_good_one_leaves_the_ledger_equal_to_derive(
    glitches: list[tuple[bool, frozenset[str]]], tmp_path: Path
) -> None:
    """sync(good) → sync(glitched)… → sync(good): the reports that stand are exactly what
    derive reports (R-EP-5: nothing left registered, nothing lost; "never silent")."""
    store = twin_store(Clock(NOW))
    config = load_config(CONFIG)
    run_sync(store, [DEMO], AS_OF, config=config)
    for n, (with_config, patients) in enumerate(glitches):
        export = _without_gender(tmp_path / f"glitch-{n}", patients)
        run_sync(store, [export], AS_OF, config=config if with_config else PracticeConfig())
    run_sync(store, [DEMO], AS_OF, config=config)
    assert keys_of(h.report for h in _live(store)) == keys_of(_derived([DEMO], config))
