"""D-196 end to end: the batches the outbox seals for an inventory report approved with its
patient's Anmeldung (on the in-memory twin, tests/cases/34-chg-leaving-doctor as known on
2025-06-10), taken by the simulator in the order sealed: every report accepted."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from adapter.domain.model import Report
from adapter.services.bulk_reports import inventory
from adapter.services.reports import decide, list_reports
from adapter.services.submit import payload_of, submit
from adapter.services.worker import deliver_due
from adapter.store.workspace import Store, Workspace
from tests.registersim.helpers import Practice
from tests.registersim.test_app import overview, post, receipt_of
from tests.storage import ACTOR, NOW
from tests.submission.fakes import FakeRegister, FakeTransport
from tests.submission.pki import SubmissionPki
from tests.submission.setup import delivery_for, sealing_for
from tests.sync.helpers import run_sync
from tests.usecases.conftest import Clock, twin_store

CASE = Path(__file__).parents[1] / "cases" / "34-chg-leaving-doctor" / "input.json"


def _known_on_june_10(tmp_path: Path) -> Path:
    """The case's data as known on 2025-06-10: Wolff's Anmeldung of 06-02, nothing later."""
    bundle = json.loads(CASE.read_text())
    bundle["entry"] = [
        e
        for e in bundle["entry"]
        if e["resource"]["id"] != "mr-sabine-2"
        and not (
            e["resource"]["id"].startswith("ma-sabine-06")
            and e["resource"]["id"] > "ma-sabine-0610"
        )
    ]
    path = tmp_path / "first.json"
    path.write_text(json.dumps(bundle))
    return path


def _sealed_in_order(store: Store, pki: SubmissionPki, tmp_path: Path) -> list[list[Report]]:
    """`submit` and the worker until nothing is left approved: each batch's reports."""
    sealing = sealing_for(pki, tmp_path)
    delivery = delivery_for(pki, FakeTransport(FakeRegister(pki.register_key())))
    batches: list[list[Report]] = []
    for _ in range(3):
        for batch in submit(store, ACTOR, sealing).batches:
            batches.append(store.run(ACTOR, lambda s, b=batch.batch_id: _reports(s, b)))
        deliver_due(store, ACTOR, delivery)
    return batches


def _reports(space: Workspace, batch_id: str) -> list[Report]:
    return [payload_of(space, item.ledger_id) for item in space.outbox.reports(batch_id)]


def test_the_outbox_s_order_is_one_the_register_accepts(
    client: TestClient,
    state: Path,
    practice: Practice,
    submission_pki: SubmissionPki,
    tmp_path: Path,
) -> None:
    """Approved together, the Anmeldung goes in the first batch and the inventory report in
    the next; the simulator accepts both and holds one registration."""
    store = twin_store(Clock(NOW))
    run_sync(store, [_known_on_june_10(tmp_path)], date(2025, 6, 10))
    inventory(store, ACTOR, key_date=date(2025, 6, 10), today=date(2025, 6, 11))
    pending = [e.ledger_id for e in list_reports(store, ACTOR, state="pending").entries]
    decide(store, ACTOR, pending, "approve")
    batches = _sealed_in_order(store, submission_pki, tmp_path)
    assert [[r.kind for r in reports] for reports in batches] == [["anmeldung"], ["inventur"]]
    for number, reports in enumerate(batches, 1):
        response, envelope = post(client, state, practice, f"b-{number}", *reports)
        results = receipt_of(response, state, f"b-{number}", envelope).results
        assert [r.status for r in results] == ["accepted"], results
    assert overview(client)["counts"]["open"] == 1
