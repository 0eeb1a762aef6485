"""The register status after the doctor's blanket deregistration (R-PAU-1, D-166, D-203):
the handover document and the duplicate notice show the registration as ended by it, and
no Abmeldung is offered or recorded for it (on the in-memory twin)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapter.domain.duplicate_notice import DuplicateNotice, OtherDoctor
from adapter.domain.register_view import Blanket
from adapter.errors import NoticeError
from adapter.fhir.handover_reading import read_document
from adapter.services.bulk_reports import blanket_deregistration
from adapter.services.duplicates import examine, resolve
from adapter.services.handover import export_handover
from adapter.services.reports import decide, list_reports
from adapter.services.submit import submit
from adapter.services.worker import deliver_due
from adapter.settings.practice import load_config
from adapter.store.workspace import Store
from tests.cli_helpers import CONFIG, DEMO, REUTER
from tests.storage import ACTOR
from tests.submission.fakes import FakeRegister, FakeTransport
from tests.submission.pki import SubmissionPki
from tests.submission.setup import delivery_for, sealing_for
from tests.sync.helpers import ledger, run_sync

FALKNER = "3990101"  # the demo's doctor who registered Thomas Reuter (demo/README.md)
OTHER = OtherDoctor("Dr. Anna Beispiel", "7654321", "Hauptstr. 1, 10115 Berlin", date(2025, 11, 3))
NOTICE = DuplicateNotice("Az. 2026-0042", date(2026, 1, 5), FALKNER, REUTER, (OTHER,))
BLANKET_DAY = date(2025, 12, 31)
TODAY = date(2026, 1, 8)


@pytest.fixture
def blanketed(twin: Store) -> Store:
    """The demo synced as of 2025-12-31, and Falkner's blanket deregistration of that day
    recorded and approved (Reuter's registration since 2025-01-07 is one it ends)."""
    run_sync(twin, [DEMO], BLANKET_DAY, config=load_config(CONFIG))
    made = blanket_deregistration(twin, ACTOR, doctor=FALKNER, day=BLANKET_DAY, today=TODAY)
    decide(twin, ACTOR, list(made.recorded[FALKNER]), "approve")
    return twin


def test_the_handover_states_the_registration_ended_by_the_blanket(blanketed: Store) -> None:
    """R-PAU-1: no open registration, the Pauschalabmeldung's day and state instead; the
    signed document carries both to the receiver."""
    done = export_handover(
        blanketed, ACTOR, "Patient/1001", receiver="JVA Dresden", sender=None, day=TODAY
    )
    assert done.handover.registration is None
    assert done.handover.ended_by_blanket == Blanket(BLANKET_DAY, "approved")
    read = read_document(done.document)
    assert read.handover.registration is None
    assert read.handover.ended_by_blanket == Blanket(BLANKET_DAY, "approved")


def test_without_a_blanket_the_handover_states_the_open_registration(twin: Store) -> None:
    """The twin of the case above: the Anmeldung since 2025-01-07 is open, nothing ended."""
    run_sync(twin, [DEMO], BLANKET_DAY, config=load_config(CONFIG))
    done = export_handover(twin, ACTOR, "Patient/1001", receiver="JVA", sender=None, day=TODAY)
    assert done.handover.registration is not None
    assert done.handover.registration.since == date(2025, 1, 7)
    assert done.handover.ended_by_blanket is None


def test_a_rejected_blanket_ends_nothing(twin: Store) -> None:
    """A blanket deregistration a person rejected is not at the register: still open."""
    run_sync(twin, [DEMO], BLANKET_DAY, config=load_config(CONFIG))
    made = blanket_deregistration(twin, ACTOR, doctor=FALKNER, day=BLANKET_DAY, today=TODAY)
    decide(twin, ACTOR, list(made.recorded[FALKNER]), "reject")
    [found] = examine(twin, ACTOR, NOTICE, None, today=TODAY).found
    assert found.registration is not None and found.registration.open
    assert found.registration.ended_by_blanket is None


def test_the_notice_shows_the_registration_ended_by_the_blanket(blanketed: Store) -> None:
    """`duplicate import`: not open, ended by the Pauschalabmeldung of 2025-12-31."""
    [found] = examine(blanketed, ACTOR, NOTICE, "T-7", today=TODAY).found
    assert found.registration is not None
    assert not found.registration.open
    assert found.registration.ended_by_blanket == Blanket(BLANKET_DAY, "approved")


def test_the_other_doctor_continues_records_no_abmeldung_after_the_blanket(
    blanketed: Store,
) -> None:
    """R-PAU-1: the register holds nothing an Abmeldung could end; refused, naming the
    blanket deregistration, and nothing recorded."""
    before = ledger(blanketed)
    with pytest.raises(NoticeError, match="ended by the Pauschalabmeldung of 2025-12-31"):
        resolve(blanketed, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2025, 12, 20))
    assert ledger(blanketed) == before


def test_different_people_is_still_answered_after_the_blanket(blanketed: Store) -> None:
    """Whether the code is two people is the register's question all the same (R-NOTE-1)."""
    done = resolve(blanketed, ACTOR, NOTICE, "different-people", today=TODAY)
    assert done.ledger_id is not None and done.report.kind == "mitteilung"


def test_an_acknowledged_blanket_ends_what_the_acknowledged_anmeldung_opened(
    twin: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """Issue 14's case: the demo's reports and then Falkner's blanket deregistration sent
    and acknowledged; the handover names the Pauschalabmeldung, acknowledged, and the
    agreed Abmeldung is refused."""
    run_sync(twin, [DEMO], BLANKET_DAY, config=load_config(CONFIG))
    register = FakeRegister(submission_pki.register_key())
    for step in ("reports", "blanket"):
        if step == "blanket":
            blanket_deregistration(twin, ACTOR, doctor=FALKNER, day=BLANKET_DAY, today=TODAY)
        pending = [e.ledger_id for e in list_reports(twin, ACTOR, state="pending").entries]
        decide(twin, ACTOR, pending, "approve")
        submit(twin, ACTOR, sealing_for(submission_pki, tmp_path))
        deliver_due(twin, ACTOR, delivery_for(submission_pki, FakeTransport(register)))
    [blanket] = [h for h in ledger(twin) if h.report.kind == "pauschalabmeldung"]
    assert blanket.state == "acknowledged"
    done = export_handover(twin, ACTOR, "Patient/1001", receiver="JVA", sender=None, day=TODAY)
    assert done.handover.registration is None
    assert done.handover.ended_by_blanket == Blanket(BLANKET_DAY, "acknowledged")
    with pytest.raises(NoticeError, match="Pauschalabmeldung of 2025-12-31 \\(acknowledged\\)"):
        resolve(twin, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2025, 12, 20))
