"""A handover imported after the receiving installation's sync recorded the second
Anmeldung: the import withdraws it while unsent, and the next sync holds it with its
finding (R-HO-1, R-EP-5, D-216)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from adapter.services.handover import export_handover, import_handover
from adapter.services.reports import list_reports
from adapter.store.workspace import Store, Workspace
from tests.handover.cases import fhir
from tests.handover.cases.sites import Site, handover_findings, reports
from tests.handover.test_worked_cases import ROTH, SOMMER, _import, _treatment
from tests.storage import ACTOR, BACKENDS, NOW
from tests.sync.helpers import run_sync
from tests.usecases.conftest import Clock, twin_store

AT_A = fhir.Person("p-4711", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
AT_B = fhir.Person("gef-0815", "Winter", "Marcel", "1988-06-21", "male", "W123456789")


def _sent_document(leipzig: Site, tmp_path: Path) -> tuple[Path, str]:
    """Leipzig registers Marcel Winter on 2025-03-03 and hands him over on 2025-05-15."""
    _treatment(tmp_path / "a-data", SOMMER, AT_A, date(2025, 3, 3), date(2025, 5, 14))
    leipzig.sync(tmp_path / "a-data", "2025-05-14")
    return leipzig.export("Patient/p-4711", "JVA Dresden", "2025-05-15")


@pytest.mark.parametrize("backend", BACKENDS)
def test_sync_then_import_withdraws_the_anmeldung_and_the_next_sync_holds_it(
    two: tuple[Site, Site], tmp_path: Path
) -> None:
    """Dresden syncs (Anmeldung pending) before the document is imported: the import
    withdraws it with a note naming the handover; sync and sync --rebuild hold it with
    the R-HO-1 finding; released, the next sync records it again."""
    leipzig, dresden = two
    document, signer = _sent_document(leipzig, tmp_path)
    b = _treatment(tmp_path / "b-data", ROTH, AT_B, date(2025, 5, 15), date(2025, 5, 20))
    assert reports(dresden.sync(b, "2025-05-20")) == [("anmeldung", "2025-05-15", "3820202")]

    handover, out = _import(dresden, document, signer)
    assert "Withdrawn 1 unsent report(s)" in out
    assert "pending" not in dresden.ok("reports", "list", "--state", "pending")
    rejected = dresden.ok("reports", "list", "--state", "rejected")
    assert "anmeldung" in rejected.lower()
    held = dresden.sync(b, "2025-05-20")
    assert reports(held) == []
    [finding] = handover_findings(held)
    assert f"handover release {handover}" in finding["message"]
    rebuilt = json_sync(dresden, b, "2025-05-20", "--rebuild")
    assert [f["rule"] for f in rebuilt["findings"] if f["rule"] == "R-HO-1"] == ["R-HO-1"]

    dresden.ok("handover", "release", handover, "--on", "2025-05-20")
    after = dresden.sync(b, "2025-05-21")
    assert reports(after) == [("anmeldung", "2025-05-15", "3820202")]
    assert handover_findings(after) == []


def json_sync(site: Site, export: Path, as_of: str, *extra: str) -> dict[str, object]:
    """`sync --format json` with extra options."""
    out = site.ok("sync", str(export), "--as-of", as_of, "--format", "json", *extra)
    found: dict[str, object] = json.loads(out)
    return found


def _moved(store: Store, ledger_id: str, *states: str) -> None:
    """Move one report along the ledger as the submission stage would (R-CH-2)."""

    def move(space: Workspace) -> None:
        for state in states:
            space.ledger.move(ledger_id, state)

    store.run(ACTOR, move)


def _note(store: Store, ledger_id: str) -> str | None:
    return store.run(ACTOR, lambda space: space.ledger.note(space.ledger.entry(ledger_id)))


def _twins(tmp_path: Path) -> tuple[Store, Store, Path, bytes, str]:
    """Leipzig (registered, document exported) and Dresden (synced, Anmeldung pending) on
    the in-memory twin: both stores, Dresden's export, the document and its signer."""
    leipzig, dresden = twin_store(Clock(NOW)), twin_store(Clock(NOW))
    a = _treatment(tmp_path / "a-data", SOMMER, AT_A, date(2025, 3, 3), date(2025, 5, 14))
    run_sync(leipzig, [a], date(2025, 5, 14))
    exported = export_handover(
        leipzig, ACTOR, "Patient/p-4711", receiver="JVA Dresden", sender=None,
        day=date(2025, 5, 15),
    )  # fmt: skip
    b = _treatment(tmp_path / "b-data", ROTH, AT_B, date(2025, 5, 15), date(2025, 5, 20))
    assert [r.report.kind for r in run_sync(dresden, [b], date(2025, 5, 20)).recorded] == [
        "anmeldung"
    ]
    return leipzig, dresden, b, exported.document, exported.signer


def test_import_withdraws_a_pending_anmeldung_with_a_note_naming_the_handover(
    tmp_path: Path,
) -> None:
    """On the twin: the pending Anmeldung is rejected with the note "held back by handover
    ID (R-HO-1)", its withdrawal audited, and the next sync holds it (D-216)."""
    _, dresden, b, document, signer = _twins(tmp_path)
    done = import_handover(dresden, ACTOR, document, [signer])
    [withdrawn] = done.withdrawn
    assert done.sent == ()
    assert f"held back by handover {done.handover.document_id} (R-HO-1)" in (
        _note(dresden, withdrawn) or ""
    )
    audited = dresden.run(ACTOR, lambda space: space.audit.entries(ledger_ids=[withdrawn]))
    assert "report.withdraw" in [row["action"] for row in audited]
    held = run_sync(dresden, [b], date(2025, 5, 20))
    assert held.recorded == []
    assert [f.severity for f in held.findings if f.rule == "R-HO-1"] == ["warning"]


def test_an_anmeldung_sent_before_the_import_is_named_and_found_on_every_sync(
    tmp_path: Path,
) -> None:
    """On the twin: an Anmeldung already sent cannot be taken back; the import names it,
    and each sync while the handover is open finds the coming duplicate (004 §10)."""
    _, dresden, b, document, signer = _twins(tmp_path)
    [pending] = list_reports(dresden, ACTOR, state="pending").entries
    _moved(dresden, pending.ledger_id, "approved", "queued", "sent")
    done = import_handover(dresden, ACTOR, document, [signer])
    assert done.withdrawn == ()
    assert done.sent == (pending.ledger_id,)
    for day in (date(2025, 5, 20), date(2025, 5, 21)):
        found = run_sync(dresden, [b], day)
        assert found.recorded == []
        [finding] = [f for f in found.findings if f.rule == "R-HO-1"]
        assert "cannot be taken back" in finding.message
        assert "the register will report a duplicate" in finding.message
    assert list_reports(dresden, ACTOR, state="sent").entries[0].ledger_id == pending.ledger_id
