"""`runs undo` takes back what a run did, and nothing the practice or the register did
since (issue 9 review, D-49).

The review found an undo that put every row the run superseded back to the state it had
before the run: a report the register acknowledged after the run went back to `sent`. It
now takes back only the run's own change (the superseded mark, a withdrawal), refuses a run
whose reports were ever queued or sent even when they are rejected now, and says why it
cannot undo a run whose patient retention shredded since.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapter.errors import UndoError
from adapter.services.retention import apply_retention
from adapter.services.sync_undo import plan_undo, undo
from adapter.store.audit import wiped_log
from adapter.store.ledger_seal import check_ledger
from adapter.store.workspace import Store, Workspace
from tests.cli_helpers import SYNC, Cli
from tests.storage import ACTOR, EVERY_KIND, Database, open_store
from tests.sync import fhir
from tests.sync.helpers import Held, ledger, mark_sent, run_sync

D = date
START = D(2026, 3, 2)


def _early_and_late(tmp_path: Path) -> tuple[Path, Path]:
    """p1 takes its drug 1–10 March (an Anmeldung and an R-EP-3 Abmeldung); the late
    export says it came on 15 March and from 22 March: the Abmeldung is contradicted."""
    early = [fhir.doctor(), fhir.patient(), *fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 10))]
    late = [
        fhir.doctor(),
        fhir.patient(),
        *fhir.daily("p1", D(2025, 3, 15), D(2025, 3, 15), prefix="late-"),
        *fhir.daily("p1", D(2025, 3, 22), D(2025, 3, 30)),
    ]
    return (
        fhir.write_bundle(tmp_path / "early.json", early),
        fhir.write_bundle(tmp_path / "late.json", late),
    )


def _move(store: Store, ledger_id: str, *states: str) -> None:
    """Move a report through states, as the submission stage and the register would."""

    def work(space: Workspace) -> None:
        for state in states:
            space.ledger.move(ledger_id, state)

    store.run(ACTOR, work)


def _held(store: Store, kind: str) -> list[Held]:
    return [h for h in ledger(store) if h.report.kind == kind]


def _verifies(store: Store) -> bool:
    return not store.run(
        ACTOR, lambda s: check_ledger(s.ledger.rows, s.keys, wiped=wiped_log(s.audit.rows)).problems
    )


def test_undo_keeps_the_state_a_superseded_report_reached_since(
    db: Database, tmp_path: Path
) -> None:
    """The run superseded a sent Abmeldung that the register acknowledged afterwards:
    undone, the Abmeldung stays acknowledged (only its superseded mark goes), the run's
    correction is withdrawn, and the ledger verifies."""
    store, _ = open_store(db)
    early, late = _early_and_late(tmp_path)
    run_sync(store, [early], D(2025, 3, 25))
    mark_sent(store)
    accepted = run_sync(store, [late], D(2025, 4, 1), accept_corrections=True)
    [ended] = _held(store, "abmeldung")
    assert (ended.state, ended.superseded) == ("sent", True)
    _move(store, ended.ledger_id, "acknowledged")

    plan = plan_undo(store, ACTOR)
    assert (plan.unmark, plan.unwithdraw) == (1, 0)
    undo(store, ACTOR, (str(accepted.run_id),))

    [after] = _held(store, "abmeldung")
    assert (after.state, after.superseded) == ("acknowledged", False)
    correction = next(h for h in ledger(store) if h.origin == "correction")
    assert correction.state == "rejected"
    assert _verifies(store)


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_undo_puts_a_withdrawn_report_back_as_it_was(db: Database, tmp_path: Path) -> None:
    """The run withdrew a pending Abmeldung the late data no longer called for: undone, it
    is pending again (a withdrawal is the run's own change, and a rejected row is final, so
    nothing can have moved it since)."""
    store, _ = open_store(db)
    early, late = _early_and_late(tmp_path)
    run_sync(store, [early], D(2025, 3, 25))
    withdrawing = run_sync(store, [late], D(2025, 4, 1))
    assert [h.state for h in _held(store, "abmeldung")] == ["rejected"]
    plan = plan_undo(store, ACTOR)
    assert (plan.unmark, plan.unwithdraw) == (0, 1)
    undo(store, ACTOR, (str(withdrawing.run_id),))
    assert [(h.state, h.superseded) for h in _held(store, "abmeldung")] == [("pending", False)]
    assert _verifies(store)


def _wrong_clock_run(store: Store, tmp_path: Path) -> str:
    """Two patients synced on the right day, then a run 20 days ahead that records their
    Abmeldungen; the run's id."""
    last = START + timedelta(days=9)
    data = fhir.two_patients(tmp_path / "export.json", START, last, last)
    run_sync(store, [data], last)
    wrong = run_sync(store, [data], last + timedelta(days=20))
    assert [r.report.kind for r in wrong.recorded] == ["abmeldung", "abmeldung"]
    return str(wrong.run_id)


def test_a_report_that_was_sent_and_is_rejected_now_still_stops_the_undo(
    db: Database, tmp_path: Path
) -> None:
    """One Abmeldung of the run was queued, sent and rejected by the register: its state is
    `rejected` now, but the audit chain knows it was sent, so the register has seen it and
    the run is refused (the check reads the chain, not only the state)."""
    store, _ = open_store(db)
    _wrong_clock_run(store, tmp_path)
    first = _held(store, "abmeldung")[0].ledger_id
    _move(store, first, "approved", "queued", "sent", "rejected")
    before = ledger(store)
    with pytest.raises(UndoError, match=rf"were queued or sent .*{first} \(queued\)"):
        plan_undo(store, ACTOR)
    assert ledger(store) == before


def test_a_run_whose_patient_retention_shredded_cannot_be_undone_and_says_why(
    db: Database, tmp_path: Path
) -> None:
    """Retention destroyed the key of a patient the newest run recorded for: the undo is
    refused, naming the mapping and retention, and nothing changes."""
    store, _ = open_store(db, clock=lambda: datetime(2036, 12, 31, 9, tzinfo=UTC))
    start = D(2020, 3, 2)
    data = fhir.write_bundle(
        tmp_path / "p1.json", [fhir.doctor(), fhir.patient(), *fhir.daily("p1", start, start)]
    )
    recording = run_sync(store, [data], start + timedelta(days=20)).run_id
    a_year_on = D(2021, 4, 1)
    run_sync(store, [data], a_year_on)  # nobody walked; retention counts from near it (D-82)
    [shredded] = apply_retention(
        store, ACTOR, years=1, as_of=a_year_on, clock_checked=True
    ).shredded
    with pytest.raises(UndoError) as refused:
        plan_undo(store, ACTOR, recording)
    message = str(refused.value)
    assert f"mapping {shredded}" in message
    assert "`substreg retention apply` destroyed since" in message
    assert "cannot be undone" in message


def test_undoing_the_only_run_says_that_no_earlier_sync_is_left(cli: Cli) -> None:
    """The plan of an undo that leaves no sync says so in words, not "as of none"."""
    cli.synced()
    out = cli.ok("runs", "undo", "--yes")
    assert "No earlier sync is left then: the next sync may be as of any day." in out
    assert "as of none" not in out
    cli.ok(*SYNC)
