"""The register status after the doctor's blanket deregistration (R-PAU-1, D-166, D-203):
the handover document and the duplicate notice show the registration as ended by it, and
no Abmeldung is offered or recorded for it (on the in-memory twin)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapter.domain.duplicate_notice import DuplicateNotice, OtherDoctor
from adapter.domain.handover import Handover, next_steps
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
from adapter.store.workspace import Store, Workspace
from tests.cli_helpers import CONFIG, DEMO, REUTER
from tests.handover.cases import fhir as hfhir
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


# -- an Abmeldung recorded but not yet sent (D-256) -------------------------------------

_SOMMER = hfhir.Doctor("sommer", "3810101", "381010101", "Sommer", "Heike", "1968-02-14")
_WINTER = hfhir.Person("p-4711", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
_FIRST, _END = date(2025, 3, 3), date(2025, 5, 14)


def _ended(twin: Store, folder: Path) -> tuple[str, str]:
    """Winter's treatment ended on 2025-05-14 and synced after: the Anmeldung moved to
    acknowledged (the register holds it), the Abmeldung left pending. Their ledger ids."""
    data = hfhir.write_export(
        folder,
        [
            hfhir.practitioner(_SOMMER),
            hfhir.patient(_WINTER),
            hfhir.episode("eoc-1", _WINTER, _SOMMER, _FIRST, end=_END),
            hfhir.request("mr-1", _WINTER, _SOMMER, _FIRST),
            *hfhir.doses("ma", _WINTER, _SOMMER, links=("eoc-1", "mr-1"), days=(_FIRST, _END)),
        ],
    )
    run_sync(twin, [data], date(2025, 5, 20))
    ids = {held.report.kind: held.ledger_id for held in ledger(twin)}
    assert sorted(ids) == ["abmeldung", "anmeldung"]
    _move(twin, ids["anmeldung"], "approved", "queued", "sent", "acknowledged")
    return ids["anmeldung"], ids["abmeldung"]


def _move(store: Store, ledger_id: str, *states: str) -> None:
    def move(space: Workspace) -> None:
        for state in states:
            space.ledger.move(ledger_id, state)

    store.run(ACTOR, move)


def _handed(twin: Store) -> Handover:
    done = export_handover(
        twin, ACTOR, "Patient/p-4711", receiver="JVA", sender=None, day=date(2025, 5, 20)
    )
    read = read_document(done.document).handover
    assert read.registration == done.handover.registration  # the document carries it
    return done.handover


@pytest.mark.parametrize(
    "moves", [(), ("approved",), ("approved", "queued")], ids=["pending", "approved", "queued"]
)
def test_an_unsent_abmeldung_leaves_the_registration_open(
    twin: Store, tmp_path: Path, moves: tuple[str, ...]
) -> None:
    """D-256, R-EP-5: the register still holds the registration while its Abmeldung is not
    sent; the document says the Abmeldung is recorded, and the receiver holds back."""
    _, abmeldung = _ended(twin, tmp_path / "data")
    _move(twin, abmeldung, *moves)
    handover = _handed(twin)
    reg = handover.registration
    assert reg is not None and reg.state == "acknowledged" and reg.since == _FIRST
    assert reg.unsent_abmeldung is not None and reg.unsent_abmeldung >= _END
    assert reg.unsent_abmeldung_state == (moves[-1] if moves else "pending")
    first = next_steps(handover)[0]
    assert first.rule == "R-EP-5" and "not yet sent" in first.text
    assert "R-EP-1" not in [step.rule for step in next_steps(handover)]


@pytest.mark.parametrize("moves", [("sent",), ("sent", "acknowledged")], ids=["sent", "ack"])
def test_a_sent_abmeldung_closes_the_registration(
    twin: Store, tmp_path: Path, moves: tuple[str, ...]
) -> None:
    """D-256: once sent, the register has the Abmeldung: nothing open, the receiver
    registers (R-EP-1)."""
    _, abmeldung = _ended(twin, tmp_path / "data")
    _move(twin, abmeldung, "approved", "queued", *moves)
    handover = _handed(twin)
    assert handover.registration is None
    assert [step.rule for step in next_steps(handover)] == ["R-EP-1"]


def test_a_rejected_abmeldung_leaves_the_registration_open_and_unended(
    twin: Store, tmp_path: Path
) -> None:
    """D-256: a rejected (or withdrawn) Abmeldung never reaches the register: open, and
    no Abmeldung is said to be on its way."""
    _, abmeldung = _ended(twin, tmp_path / "data")
    decide(twin, ACTOR, [abmeldung], "reject")
    reg = _handed(twin).registration
    assert reg is not None and reg.unsent_abmeldung is None
