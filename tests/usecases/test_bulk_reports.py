"""The inventory report (R-INV-1) and the blanket deregistration (R-PAU-1) as the CLI calls
them, on the in-memory twin, with the leaving doctor of tests/cases/34-chg-leaving-doctor
(Wolff, BtM 3800101, leaves the MVZ on 2025-06-15; Richter, 3800202, goes on from 06-18)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from adapter.domain.reconcile import Planned
from adapter.errors import BulkReportError, OutboxError
from adapter.services.bulk_reports import blanket_deregistration, inventory, plan_blanket
from adapter.services.outbox import resend
from adapter.services.reports import decide, list_reports, show
from adapter.services.retention import plan_retention
from adapter.services.submit import submit
from adapter.services.submit_round import release_held, submit_and_deliver
from adapter.services.sync_undo import plan_undo, undo
from adapter.services.worker import deliver_due, run_worker
from adapter.services.worker_record import Outcome
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR
from tests.submission.fakes import FakeRegister, FakeTransport
from tests.submission.pki import SubmissionPki
from tests.submission.setup import delivery_for, sealing_for
from tests.sync.helpers import ledger, run_sync
from tests.usecases.conftest import Clock

CASE = Path(__file__).parents[1] / "cases" / "34-chg-leaving-doctor" / "input.json"
WOLFF, RICHTER = "3800101", "3800202"
LATER = {"MedicationRequest/mr-sabine-2"} | {
    f"MedicationAdministration/ma-sabine-06{day:02d}" for day in range(11, 28)
}


def _first_days(tmp_path: Path) -> Path:
    """The case's data as known on 2025-06-10: Wolff's doses to that day."""
    bundle = json.loads(CASE.read_text())
    bundle["entry"] = [
        e
        for e in bundle["entry"]
        if f"{e['resource']['resourceType']}/{e['resource']['id']}" not in LATER
    ]
    path = tmp_path / "first.json"
    path.write_text(json.dumps(bundle))
    return path


@pytest.fixture
def synced(twin: Store, tmp_path: Path) -> Store:
    """Wolff's Anmeldung of 2025-06-02 in the ledger, from a sync on 06-10."""
    run_sync(twin, [_first_days(tmp_path)], date(2025, 6, 10))
    assert [(h.report.kind, h.report.doctor.btm_number) for h in ledger(twin)] == [
        ("anmeldung", WOLFF)
    ]
    return twin


def test_the_inventory_lists_the_open_registration_once_per_key_date(synced: Store) -> None:
    """R-INV-1: one pending Inventur-Meldung with the code as sent, the phase's first use,
    the substance; made twice for the same key date and doctor, nothing new."""
    first = inventory(synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11))
    assert {k: len(v) for k, v in first.recorded.items()} == {WOLFF: 1}
    [made] = [h for h in ledger(synced) if h.report.kind == "inventur"]
    [anmeldung] = [h for h in ledger(synced) if h.report.kind == "anmeldung"]
    assert made.state == "pending"
    assert made.report.patient_code == anmeldung.report.patient_code == "SAKOF119"
    assert (made.report.date, made.report.made_on) == (date(2025, 6, 2), date(2025, 6, 10))
    assert made.report.substance == "Methadon"
    again = inventory(
        synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11), doctor=WOLFF
    )
    assert again.recorded == {WOLFF: ()} and again.already == 1
    assert len([h for h in ledger(synced) if h.report.kind == "inventur"]) == 1


def test_an_inventory_report_goes_through_approval_like_any_other(synced: Store) -> None:
    """Pending, then approved by a person (`reports approve`)."""
    result = inventory(synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11))
    decide(synced, ACTOR, list(result.recorded[WOLFF]), "approve")
    approved = list_reports(synced, ACTOR, state="approved").entries
    assert [e.kind for e in approved] == ["inventur"]


def test_a_key_date_to_come_and_an_unknown_doctor_are_refused(synced: Store) -> None:
    """Nothing is written for a day after today or a doctor the ledger does not know."""
    with pytest.raises(BulkReportError, match="still to come"):
        inventory(synced, ACTOR, key_date=date(2025, 6, 12), today=date(2025, 6, 11))
    with pytest.raises(BulkReportError, match="no report of the doctor"):
        inventory(
            synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11), doctor="1234567"
        )
    assert [h.report.kind for h in ledger(synced)] == ["anmeldung"]


def test_the_blanket_covers_the_leaving_doctor_s_abmeldung_and_the_successor_registers(
    synced: Store,
) -> None:
    """R-PAU-1, R-CHG-6: the plan counts one registration; after the blanket, sync records
    no single Abmeldung of Wolff, and Richter's own Anmeldung of 06-18 as the data says."""
    plan = plan_blanket(synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 6, 16))
    assert len(plan.ends) == 1 and plan.withdraws == () and not plan.made_already
    made = blanket_deregistration(
        synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 6, 16)
    )
    [blanket_id] = made.recorded[WOLFF]
    run_sync(synced, [CASE], date(2025, 6, 30))
    kinds = sorted((h.report.kind, h.report.doctor.btm_number or "") for h in ledger(synced))
    assert kinds == [("anmeldung", WOLFF), ("anmeldung", RICHTER), ("pauschalabmeldung", WOLFF)]
    [blanket] = [h for h in ledger(synced) if h.ledger_id == blanket_id]
    assert blanket.report.remarks == (
        "Am 15.06.2025 habe ich alle von mir durchgeführten Substitutionsbehandlungen beendet.",
    )
    again = blanket_deregistration(
        synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 6, 16)
    )
    assert again.already == 1


def test_the_blanket_takes_back_an_unsent_single_abmeldung_it_covers(
    twin: Store, tmp_path: Path
) -> None:
    """D-166, D-211: Wolff's Abmeldung of 06-13 pending in the ledger, a blanket of 06-12
    ends her registration first: the Abmeldung is withdrawn, and not made again."""
    run_sync(twin, [_first_days(tmp_path)], date(2025, 6, 10))
    run_sync(twin, [CASE], date(2025, 6, 30))
    [single] = [h for h in ledger(twin) if h.report.kind == "abmeldung"]
    plan = plan_blanket(twin, ACTOR, doctor=WOLFF, day=date(2025, 6, 12), today=date(2025, 7, 1))
    assert plan.withdraws == (single.ledger_id,) and len(plan.ends) == 1
    made = blanket_deregistration(
        twin, ACTOR, doctor=WOLFF, day=date(2025, 6, 12), today=date(2025, 7, 1)
    )
    assert made.withdrawn == (single.ledger_id,)
    run_sync(twin, [CASE], date(2025, 7, 1))
    states = sorted((h.report.kind, h.state) for h in ledger(twin))
    assert states == [
        ("abmeldung", "rejected"),
        ("anmeldung", "pending"),
        ("anmeldung", "pending"),
        ("pauschalabmeldung", "pending"),
    ]


def test_retention_reads_a_blanket_as_the_end_at_the_register(
    synced: Store, clock: Clock, tmp_path: Path
) -> None:
    """D-166: the treatment Wolff's blanket ended, its single Abmeldung covered, is shredded
    ten years on like any ended one, not kept as if the register still held it open."""
    blanket_deregistration(
        synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 6, 16)
    )
    run_sync(synced, [_first_days(tmp_path)], date(2025, 7, 1), accept_mass_end=True)
    assert "abmeldung" not in [h.report.kind for h in ledger(synced)]
    clock.now = clock.now.replace(year=2036, month=6)
    run_sync(synced, [_first_days(tmp_path)], date(2036, 6, 1))
    plan = plan_retention(synced, ACTOR, clock_checked=True)
    assert len(plan.shred) == 1 and plan.kept_open == ()


def test_the_bulk_reports_are_sealed_sent_and_acknowledged_like_any_other(
    synced: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """Approved, sealed into Wolff's batches, delivered by the worker, and acknowledged by
    the register's signed receipt; the inventory report in a batch after its patient's
    Anmeldung (D-196)."""
    inventory(synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11))
    blanket_deregistration(
        synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 6, 16)
    )
    pending = [e.ledger_id for e in list_reports(synced, ACTOR, state="pending").entries]
    decide(synced, ACTOR, pending, "approve")
    register = FakeRegister(submission_pki.register_key())
    delivery = delivery_for(submission_pki, FakeTransport(register))
    first = submit(synced, ACTOR, sealing_for(submission_pki, tmp_path))
    assert [b.report_count for b in first.batches] == [2] and len(first.held) == 1
    (outcome,) = deliver_due(synced, ACTOR, delivery)
    (later,) = submit(synced, ACTOR, sealing_for(submission_pki, tmp_path)).batches
    (then,) = deliver_due(synced, ACTOR, delivery)
    assert (outcome.state, then.state, later.report_count) == ("acknowledged", "acknowledged", 1)
    assert {h.report.kind: h.state for h in ledger(synced)} == {
        "anmeldung": "acknowledged",
        "inventur": "acknowledged",
        "pauschalabmeldung": "acknowledged",
    }
    assert len(register.reports) == 3


def test_an_inventory_approved_with_its_anmeldung_waits_for_it(
    synced: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """D-196: approved together, the Anmeldung is sealed and the inventory report held back
    with a note naming it; while the Anmeldung's batch is undelivered it still waits."""
    made = inventory(synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11))
    [stock] = made.recorded[WOLFF]
    [anmeldung] = [h.ledger_id for h in ledger(synced) if h.report.kind == "anmeldung"]
    pending = [e.ledger_id for e in list_reports(synced, ACTOR, state="pending").entries]
    decide(synced, ACTOR, pending, "approve")
    sealing = sealing_for(submission_pki, tmp_path)
    first = submit(synced, ACTOR, sealing)
    assert first.held == (stock,) and [b.report_count for b in first.batches] == [1]
    again = submit(synced, ACTOR, sealing)  # the Anmeldung is queued, not yet delivered
    assert again.held == (stock,) and again.batches == []
    note = show(synced, ACTOR, stock).note or ""
    assert f"Waiting for: {anmeldung}." in note and note.count("Held back") == 1
    assert {h.ledger_id: h.state for h in ledger(synced)} == {
        anmeldung: "queued",
        stock: "approved",
    }


def test_a_rejected_blanket_gives_the_single_abmeldung_back_on_a_rebuild(
    twin: Store, tmp_path: Path
) -> None:
    """D-166: a person rejects the blanket that took back Wolff's unsent Abmeldung; the
    next `sync --rebuild` derives her afresh and records the Abmeldung again."""
    run_sync(twin, [CASE], date(2025, 6, 30))
    made = blanket_deregistration(
        twin, ACTOR, doctor=WOLFF, day=date(2025, 6, 12), today=date(2025, 7, 1)
    )
    decide(twin, ACTOR, list(made.recorded[WOLFF]), "reject", reason="not leaving after all")
    run_sync(twin, [CASE], date(2025, 7, 1), rebuild=True)
    abmeldungen = [h.state for h in ledger(twin) if h.report.kind == "abmeldung"]
    assert sorted(abmeldungen) == ["pending", "rejected"]


def test_an_unsent_abmeldung_before_the_blanket_s_date_is_kept_and_nothing_is_ended(
    twin: Store,
) -> None:
    """D-211, D-212: Wolff's Abmeldung of 06-13 is pending; on 06-15 nothing of hers is open
    at the register, so a blanket of 06-15 ends nothing, takes nothing back and is refused."""
    run_sync(twin, [CASE], date(2025, 6, 30))
    with pytest.raises(BulkReportError, match="nothing to deregister"):
        plan_blanket(twin, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 7, 1))
    with pytest.raises(BulkReportError, match="no registration open on 2025-06-15"):
        blanket_deregistration(
            twin, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 7, 1)
        )
    assert sorted((h.report.kind, h.state) for h in ledger(twin)) == [
        ("abmeldung", "pending"),
        ("anmeldung", "pending"),
        ("anmeldung", "pending"),
    ]


def test_a_second_blanket_of_the_doctor_on_another_date_is_refused(synced: Store) -> None:
    """D-212: Wolff's blanket of 06-15 is pending; one of 06-12 names it and records
    nothing, while the same day again is no refusal (the slot decides)."""
    made = blanket_deregistration(
        synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 6, 16)
    )
    [first] = made.recorded[WOLFF]
    with pytest.raises(BulkReportError, match=f"{first}, 2025-06-15, pending"):
        blanket_deregistration(
            synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 12), today=date(2025, 6, 16)
        )
    again = plan_blanket(
        synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 6, 16)
    )
    assert again.made_already
    decide(synced, ACTOR, [first], "reject", reason="wrong date")
    other = blanket_deregistration(
        synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 12), today=date(2025, 6, 16)
    )
    assert len(other.recorded[WOLFF]) == 1


def test_rejecting_the_anmeldung_withdraws_the_inventory_that_names_it(synced: Store) -> None:
    """D-196: the inventory of 06-10 rests on Wolff's pending Anmeldung; a person rejects
    the Anmeldung, the inventory is withdrawn with a note, and made again it holds nothing."""
    made = inventory(synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11))
    [stock] = made.recorded[WOLFF]
    [anmeldung] = [h.ledger_id for h in ledger(synced) if h.report.kind == "anmeldung"]
    decide(synced, ACTOR, [anmeldung], "reject", reason="not ours")
    shown = show(synced, ACTOR, stock)
    assert shown.entry.state == "rejected"
    assert f"names or takes its first use from was rejected ({anmeldung})" in (shown.note or "")
    again = inventory(synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11))
    assert again.recorded == {WOLFF: ()} and again.already == 0


def test_rejecting_the_phase_s_first_anmeldung_withdraws_the_inventory(twin: Store) -> None:
    """D-217: tests/cases/50-chg-to-diamorphin, Wolff's phase begun 06-02 goes on with
    Diamorphin from 06-17 (R-CHG-2); the inventory of 06-20 names the Anmeldung of 06-17
    but states first use 06-02, so rejecting the Anmeldung of 06-02 withdraws it too."""
    run_sync(twin, [CASE.parent.parent / "50-chg-to-diamorphin" / "input.json"], date(2025, 6, 30))
    made = inventory(twin, ACTOR, key_date=date(2025, 6, 20), today=date(2025, 6, 30))
    [stock] = made.recorded[WOLFF]
    assert show(twin, ACTOR, stock).entry.report_date == date(2025, 6, 2)
    [first] = [
        h.ledger_id
        for h in ledger(twin)
        if h.report.kind == "anmeldung" and h.report.date == date(2025, 6, 2)
    ]
    decide(twin, ACTOR, [first], "reject", reason="t")
    shown = show(twin, ACTOR, stock)
    assert shown.entry.state == "rejected"
    assert f"takes its first use from was rejected ({first})" in (shown.note or "")


def test_rejecting_another_report_leaves_the_inventory(synced: Store) -> None:
    """D-196: only a rejected Anmeldung takes its inventory report back; a rejected
    blanket deregistration of the same doctor leaves it pending."""
    made = inventory(synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11))
    [stock] = made.recorded[WOLFF]
    blanket = blanket_deregistration(
        synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 6, 16)
    )
    decide(synced, ACTOR, list(blanket.recorded[WOLFF]), "reject", reason="wrong")
    assert show(synced, ACTOR, stock).entry.state == "pending"


def test_sync_withdrawing_the_anmeldung_withdraws_its_inventory(
    synced: Store, tmp_path: Path
) -> None:
    """D-196: the Patient loses her gender in one export (R-CODE-3: no code), so sync
    withdraws Wolff's pending Anmeldung, and with it the inventory report that names it."""
    made = inventory(synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11))
    [stock] = made.recorded[WOLFF]
    bundle = json.loads(_first_days(tmp_path).read_text())
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"].pop("gender", None)
    glitch = tmp_path / "glitch.json"
    glitch.write_text(json.dumps(bundle))
    run_sync(synced, [glitch], date(2025, 6, 11))
    assert {h.report.kind: h.state for h in ledger(synced)} == {
        "anmeldung": "rejected",
        "inventur": "rejected",
    }
    assert show(synced, ACTOR, stock).entry.state == "rejected"
    undo(synced, ACTOR, tuple(r.run_id for r in plan_undo(synced, ACTOR).runs))
    assert show(synced, ACTOR, stock).entry.state == "pending"  # `runs undo` puts it back


def test_after_an_acknowledged_blanket_a_later_one_must_end_something(
    synced: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """D-212: Wolff's blanket of 06-15 acknowledged by the register no longer bars a later
    one (she may come back), but one of 06-20 ends nothing and is refused for that."""
    blanket_deregistration(
        synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 15), today=date(2025, 6, 16)
    )
    pending = [e.ledger_id for e in list_reports(synced, ACTOR, state="pending").entries]
    decide(synced, ACTOR, pending, "approve")
    register = FakeRegister(submission_pki.register_key())
    submit(synced, ACTOR, sealing_for(submission_pki, tmp_path))
    deliver_due(synced, ACTOR, delivery_for(submission_pki, FakeTransport(register)))
    assert {h.report.kind: h.state for h in ledger(synced)}["pauschalabmeldung"] == ("acknowledged")
    with pytest.raises(BulkReportError, match="nothing to deregister"):
        blanket_deregistration(
            synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 20), today=date(2025, 6, 21)
        )
    with pytest.raises(BulkReportError, match="acknowledged"):
        blanket_deregistration(
            synced, ACTOR, doctor=WOLFF, day=date(2025, 6, 14), today=date(2025, 6, 21)
        )


def _record_abmeldung(store: Store, anmeldung: str, day: date) -> str:
    """An Abmeldung of the Anmeldung's patient and doctor, recorded pending (as a sync
    of corrected data, or a duplicate notice's answer, would record one)."""

    def work(space: Workspace) -> str:
        entry = space.ledger.entry(anmeldung)
        report = replace(space.ledger.payload(entry), kind="abmeldung", date=day, id=f"abm-{day}")
        assert entry.mapping_id is not None
        recorded = space.ledger.record(Planned(entry.mapping_id, report), entry.dek_id)
        assert recorded is not None
        return recorded

    return store.run(ACTOR, work)


def test_resend_of_an_inventory_batch_applies_the_same_check(
    synced: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """D-196 on `outbox resend`: the inventory's batch was refused as a whole at its first
    attempt (D-151); an Abmeldung of its patient dated before the key date was recorded
    since and is unsent, so resend refuses, naming it; once sent, resend seals it anew."""
    [stock] = inventory(
        synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11)
    ).recorded[WOLFF]
    [anmeldung] = [h.ledger_id for h in ledger(synced) if h.report.kind == "anmeldung"]
    decide(synced, ACTOR, [anmeldung, stock], "approve")
    sealing = sealing_for(submission_pki, tmp_path)
    transport = FakeTransport(FakeRegister(submission_pki.register_key()))
    delivery = delivery_for(submission_pki, transport)
    submit(synced, ACTOR, sealing)
    deliver_due(synced, ACTOR, delivery)
    (batch,) = submit(synced, ACTOR, sealing).batches
    transport.script = ["permanent"]
    assert [o.state for o in deliver_due(synced, ACTOR, delivery)] == ["rejected"]
    abmeldung = _record_abmeldung(synced, anmeldung, date(2025, 6, 9))
    with pytest.raises(OutboxError) as refused:
        resend(synced, ACTOR, batch.batch_id, sealing)
    line = str(refused.value)
    assert "\n" not in line and "(D-196)" in line
    assert f"{stock} waits for {abmeldung}" in line
    decide(synced, ACTOR, [abmeldung], "approve")
    submit(synced, ACTOR, sealing)
    deliver_due(synced, ACTOR, delivery)
    new = resend(synced, ACTOR, batch.batch_id, sealing)
    assert new.report_count == 1 and new.batch_id != batch.batch_id


def test_one_submit_run_seals_and_sends_the_inventory_its_delivery_freed(
    synced: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """D-232: approved together, the run seals the Anmeldung, delivers it (acknowledged),
    then seals and delivers the inventory report it held back: no second `submit`."""
    [stock] = inventory(
        synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11)
    ).recorded[WOLFF]
    pending = [e.ledger_id for e in list_reports(synced, ACTOR, state="pending").entries]
    decide(synced, ACTOR, pending, "approve")
    register = FakeRegister(submission_pki.register_key())
    delivery = delivery_for(submission_pki, FakeTransport(register))
    done = submit_and_deliver(synced, ACTOR, sealing_for(submission_pki, tmp_path), delivery)
    assert (done.result.held, done.result.released) == ((), (stock,))
    assert [b.report_count for b in done.result.batches] == [1, 1]
    assert [o.state for o in done.outcomes] == ["acknowledged", "acknowledged"]
    assert {h.report.kind: h.state for h in ledger(synced)} == {
        "anmeldung": "acknowledged",
        "inventur": "acknowledged",
    }


def test_a_run_whose_delivery_failed_keeps_the_inventory_held(
    synced: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """D-196 still holds in the one run: the Anmeldung's batch is not delivered (503), so
    the inventory report stays approved and held, and nothing more is sealed."""
    [stock] = inventory(
        synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11)
    ).recorded[WOLFF]
    pending = [e.ledger_id for e in list_reports(synced, ACTOR, state="pending").entries]
    decide(synced, ACTOR, pending, "approve")
    transport = FakeTransport(FakeRegister(submission_pki.register_key()), script=["transient"])
    delivery = delivery_for(submission_pki, transport)
    done = submit_and_deliver(synced, ACTOR, sealing_for(submission_pki, tmp_path), delivery)
    assert (done.result.held, done.result.released) == ((stock,), ())
    assert len(done.result.batches) == 1
    assert {h.ledger_id: h.state for h in ledger(synced)}[stock] == "approved"


def test_a_worker_s_round_seals_what_its_pass_freed(
    synced: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """D-232: `submit --queue-only` held the inventory report; the worker's pass delivers
    the Anmeldung, seals the freed report after it, and its next round delivers it."""
    [stock] = inventory(
        synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11)
    ).recorded[WOLFF]
    pending = [e.ledger_id for e in list_reports(synced, ACTOR, state="pending").entries]
    decide(synced, ACTOR, pending, "approve")
    sealing = sealing_for(submission_pki, tmp_path)
    assert submit(synced, ACTOR, sealing).held == (stock,)
    delivery = delivery_for(
        submission_pki, FakeTransport(FakeRegister(submission_pki.register_key()))
    )
    stop = threading.Event()
    rounds: list[list[str]] = []

    def after(outcomes: list[Outcome]) -> None:
        rounds.append([o.state for o in outcomes])
        release_held(synced, ACTOR, sealing, outcomes)
        if len(rounds) == 2:
            stop.set()

    run_worker(synced, ACTOR, delivery, poll_seconds=0.01, stop=stop, after_pass=after)
    assert rounds == [["acknowledged"], ["acknowledged"]]
    assert {h.ledger_id: h.state for h in ledger(synced)}[stock] == "acknowledged"


def test_held_only_leaves_an_approved_inventory_no_submit_held(
    synced: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """A worker seals only what a person's `submit` asked for and D-196 held back: an
    inventory report approved since, never submitted, stays approved."""
    [stock] = inventory(
        synced, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11)
    ).recorded[WOLFF]
    decide(synced, ACTOR, [stock], "approve")
    freed = submit(synced, ACTOR, sealing_for(submission_pki, tmp_path), held_only=True)
    assert freed.batches == []
    assert {h.ledger_id: h.state for h in ledger(synced)}[stock] == "approved"
