"""The duplicate notice's use cases on the in-memory twin (004 §10, D-170, D-171): the
audited re-identification, the doctors' answer in the ledger, and sync after it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from adapter.crypto.envelope import open_envelope
from adapter.domain.batch import batch_from_bytes
from adapter.domain.duplicate_notice import DuplicateNotice, OtherDoctor
from adapter.errors import NoticeAnswered, NoticeError
from adapter.services.duplicate_letters import list_notices
from adapter.services.duplicates import examine, resolve
from adapter.services.lookup import MAX_PER_HOUR
from adapter.services.reports import decide
from adapter.services.submit import submit
from adapter.settings.practice import load_config
from adapter.store.workspace import Store, Workspace
from tests.cli_helpers import CONFIG, DEMO, REUTER
from tests.storage import ACTOR
from tests.submission.pki import SubmissionPki
from tests.submission.setup import sealing_for
from tests.sync.helpers import ledger, run_sync

FALKNER = "3990101"  # the demo's doctor who registered Thomas Reuter (demo/README.md)
OTHER = OtherDoctor("Dr. Anna Beispiel", "7654321", "Hauptstr. 1, 10115 Berlin", date(2025, 11, 3))
NOTICE = DuplicateNotice("Az. 2026-0042", date(2026, 1, 5), FALKNER, REUTER, (OTHER,))
TODAY = date(2026, 1, 8)


@pytest.fixture
def synced(twin: Store) -> Store:
    """The demo practice synced as of 2025-12-31 (Reuter's phase open with Falkner)."""
    run_sync(twin, [DEMO], date(2025, 12, 31), config=load_config(CONFIG))
    return twin


def _audit(store: Store, action: str) -> list[dict[str, object]]:
    def read(space: Workspace) -> list[dict[str, object]]:
        return list(space.audit.rows.entries(action=action))

    return store.run(ACTOR, read)


def test_import_finds_the_patient_and_the_open_registration_audited(synced: Store) -> None:
    """One local patient, Falkner's Anmeldung open since 2025-01-07; the lookup audited
    with the notice's date and reference as its purpose, never the code."""
    [found] = examine(synced, ACTOR, NOTICE, "T-7", today=TODAY).found
    assert found.match.reference.endswith("|1001")
    assert found.registration is not None
    assert (found.registration.first_use, found.registration.open) == (date(2025, 1, 7), True)
    [entry] = _audit(synced, "lookup")
    assert REUTER not in repr(entry)


def test_the_other_doctor_continues_records_the_abmeldung_once(synced: Store) -> None:
    """An Abmeldung of origin agreement, pending; the same answer again records nothing."""
    done = resolve(synced, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2025, 12, 20))
    assert done.ledger_id is not None
    [row] = [h for h in ledger(synced) if h.ledger_id == done.ledger_id]
    assert (row.report.kind, row.report.date, row.state) == (
        "abmeldung",
        date(2025, 12, 20),
        "pending",
    )
    assert row.report.patient_code == REUTER
    again = resolve(synced, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2025, 12, 20))
    assert again.ledger_id is None
    [audited] = _audit(synced, "duplicate.resolve")
    assert audited["ledger_id"] == done.ledger_id
    assert REUTER not in repr(audited)


def test_sync_after_the_agreement_makes_no_report_for_the_stopping_doctor(synced: Store) -> None:
    """D-171: later data ends the phase on 2025-12-31 (R-EP-3): nothing is made for
    Falkner and Reuter, and a warning says the data goes on after the agreed day."""
    done = resolve(synced, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2025, 12, 20))
    assert done.ledger_id is not None
    decide(synced, ACTOR, [done.ledger_id], "approve")
    later = run_sync(
        synced, [DEMO], date(2026, 1, 20), config=load_config(CONFIG), accept_mass_end=True
    )
    mine = [r for r in later.recorded if r.subject == done.mapping_id]
    assert mine == []
    warnings = [f for f in later.findings if f.rule == "R-EP-5" and "Patient/1001" in f.message]
    assert len(warnings) == 1 and warnings[0].severity == "warning"
    refused = [f for f in later.findings if f.rule == "R-EP-4" and "Patient/1001" in f.message]
    assert refused == []  # not an Abmeldung the register would refuse, every sync


@pytest.mark.parametrize(
    ("outcome", "words"),
    [("us", "führe ich fort"), ("different-people", "unterschiedliche Patienten")],
    ids=["us", "different-people"],
)
def test_the_other_answers_are_notices_of_the_patient(
    synced: Store, outcome: str, words: str
) -> None:
    """R-NOTE-1: a Mitteilung under the patient (its data key), with the code and remark."""
    done = resolve(synced, ACTOR, NOTICE, outcome, today=TODAY)  # type: ignore[arg-type]
    [row] = [h for h in ledger(synced) if h.ledger_id == done.ledger_id]
    assert (row.report.kind, row.report.rule, row.report.patient_code) == (
        "mitteilung",
        "R-NOTE-1",
        REUTER,
    )
    assert words in row.report.remarks[0]
    assert resolve(synced, ACTOR, NOTICE, outcome, today=TODAY).ledger_id is None  # type: ignore[arg-type]


def test_a_code_no_local_patient_has_is_said_and_answers_nothing(synced: Store) -> None:
    """No match: import lists nobody; resolve refuses and records nothing."""
    stranger = DuplicateNotice("Az. 9", date(2026, 1, 5), FALKNER, "ZZZZM999", (OTHER,))
    assert examine(synced, ACTOR, stranger, None, today=TODAY).found == []
    before = ledger(synced)
    with pytest.raises(NoticeError, match="no local patient"):
        resolve(synced, ACTOR, stranger, "us", today=TODAY)
    assert ledger(synced) == before


def test_a_notice_to_another_doctor_of_the_practice_answers_nothing(synced: Store) -> None:
    """The notice names a doctor who never registered this patient: refused."""
    elsewhere = DuplicateNotice("Az. 10", date(2026, 1, 5), "3990202", REUTER, (OTHER,))
    with pytest.raises(NoticeError, match="no Anmeldung of doctor 3990202"):
        resolve(synced, ACTOR, elsewhere, "different-people", today=TODAY)
    assert len(_audit(synced, "lookup.match")) == 1  # the re-identification stays audited
    assert _audit(synced, "duplicate.resolve") == []


def test_the_answer_is_sealed_and_queued_like_any_report(
    synced: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """Approved, `submit` seals the agreed Abmeldung into Falkner's batch with the code and
    the remark, readable only with the register's key."""
    done = resolve(synced, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2025, 12, 20))
    assert done.ledger_id is not None
    decide(synced, ACTOR, [done.ledger_id], "approve")
    result = submit(synced, ACTOR, sealing_for(submission_pki, tmp_path))
    [batch] = result.batches
    assert batch.report_count == 1

    def envelope(space: Workspace) -> bytes:
        return space.outbox.envelope(batch.batch_id)

    opened = open_envelope(
        synced.run(ACTOR, envelope),
        key=submission_pki.register_key(),
        signer_certificate=submission_pki.signer.cert,
    )
    [sent] = batch_from_bytes(opened.payload).reports
    assert (sent.kind, sent.date, sent.patient_code) == ("abmeldung", date(2025, 12, 20), REUTER)
    assert sent.doctor.btm_number == FALKNER and "Dr. Anna Beispiel" in sent.remarks[0]


def test_of_several_other_doctors_the_one_who_continues_is_named(synced: Store) -> None:
    """Two other doctors: `other` needs --by; the Abmeldung's remark names that one."""
    second = OtherDoctor("Dr. Bernd Zweiter", "7000002", "Ring 2, 20095 Hamburg", date(2025, 12, 1))
    letter = replace(NOTICE, other_doctors=(OTHER, second))
    with pytest.raises(NoticeError, match="--by"):
        resolve(synced, ACTOR, letter, "other", today=TODAY, last_use=date(2025, 12, 20))
    done = resolve(
        synced,
        ACTOR,
        letter,
        "other",
        today=TODAY,
        last_use=date(2025, 12, 20),
        continuing_btm="7000002",
    )
    assert "führt Dr. Bernd Zweiter" in done.report.remarks[0]


def test_this_doctor_cannot_continue_a_registration_ended_already(synced: Store) -> None:
    """After the data's own Abmeldung (the phase ends on 2025-12-31, R-EP-3), `us` and
    `other` are refused: the registration is ended."""
    run_sync(synced, [DEMO], date(2026, 1, 20), config=load_config(CONFIG), accept_mass_end=True)
    with pytest.raises(NoticeError, match="ended already"):
        resolve(synced, ACTOR, NOTICE, "us", today=TODAY)
    with pytest.raises(NoticeError, match="ended already"):
        resolve(synced, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2025, 12, 20))


def test_a_different_answer_after_the_first_is_refused_naming_it(synced: Store) -> None:
    """D-204: after `other`, neither `us` nor `different-people` is recorded; the refusal
    names the first answer and its report, and the ledger keeps one answer."""
    done = resolve(synced, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2025, 12, 20))
    assert done.ledger_id is not None
    before = ledger(synced)
    for outcome in ("us", "different-people"):
        with pytest.raises(NoticeAnswered, match="--continues other already") as refused:
            resolve(synced, ACTOR, NOTICE, outcome, today=TODAY)  # type: ignore[arg-type]
        assert f"(report {done.ledger_id}, pending)" in str(refused.value)
    assert ledger(synced) == before


def test_a_different_answer_is_taken_once_the_first_is_rejected(synced: Store) -> None:
    """D-204: a rejected (or withdrawn) first answer stands no more: the second is recorded."""
    first = resolve(synced, ACTOR, NOTICE, "us", today=TODAY)
    assert first.ledger_id is not None
    decide(synced, ACTOR, [first.ledger_id], "reject")
    second = resolve(synced, ACTOR, NOTICE, "different-people", today=TODAY)
    assert second.ledger_id is not None and second.ledger_id != first.ledger_id


def test_a_letter_dated_after_today_is_refused_before_the_lookup(synced: Store) -> None:
    """R-DATE-3: import and resolve refuse a letter dated tomorrow; nothing is looked up,
    audited or recorded."""
    later = replace(NOTICE, letter_date=TODAY + timedelta(days=1))
    before = ledger(synced)
    with pytest.raises(NoticeError, match="lies after today") as refused:
        examine(synced, ACTOR, later, "T-7", today=TODAY)
    assert refused.value.field == "letter_date"
    with pytest.raises(NoticeError, match="lies after today"):
        resolve(synced, ACTOR, later, "us", today=TODAY)
    assert _audit(synced, "lookup") == [] and ledger(synced) == before


REFUSED_BEFORE_THE_LOOKUP = {
    "last-use-to-come": {"last_use": TODAY + timedelta(days=1)},  # R-DATE-3
    "unknown-mapping": {"last_use": date(2025, 12, 20), "mapping_id": "no-such-mapping"},
    "unknown-by": {"last_use": date(2025, 12, 20), "continuing_btm": "1111111"},
}


@pytest.mark.parametrize(
    "given", REFUSED_BEFORE_THE_LOOKUP.values(), ids=REFUSED_BEFORE_THE_LOOKUP.keys()
)
def test_what_the_command_line_says_wrong_spends_no_lookup(
    synced: Store, given: dict[str, object]
) -> None:
    """D-254: a future last use, a mapping no patient has, an unknown continuing doctor are
    refused before the audited lookup: no `lookup` entry, nothing kept or recorded."""
    before = ledger(synced)
    with pytest.raises(NoticeError):
        resolve(synced, ACTOR, NOTICE, "other", today=TODAY, **given)  # type: ignore[arg-type]
    assert _audit(synced, "lookup") == [] and ledger(synced) == before


def test_a_kept_letter_looked_up_again_is_audited_but_not_counted(synced: Store) -> None:
    """D-254: the first lookup of a letter counts against the hourly limit; importing it
    again, an answer refused after the lookup (a last use before the first use) and the
    corrected answer are each audited as `lookup.repeat`, and never hit the limit."""
    examine(synced, ACTOR, NOTICE, "T-7", today=TODAY)
    for _ in range(MAX_PER_HOUR + 1):
        assert examine(synced, ACTOR, NOTICE, "T-7", today=TODAY).new is False
    with pytest.raises(NoticeError, match="before the Anmeldung's first use"):
        resolve(synced, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2024, 1, 1))
    done = resolve(synced, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2025, 12, 20))
    assert done.ledger_id is not None
    assert len(_audit(synced, "lookup")) == 1
    assert len(_audit(synced, "lookup.repeat")) == MAX_PER_HOUR + 3


def test_an_answer_refused_after_the_lookup_keeps_the_letter(synced: Store) -> None:
    """D-254: the letter was looked up, so it is kept (open); the corrected answer then
    spends no second lookup."""
    with pytest.raises(NoticeError, match="before the Anmeldung's first use"):
        resolve(synced, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2024, 1, 1))
    assert [n.state for n in list_notices(synced)] == ["open"]
    resolve(synced, ACTOR, NOTICE, "other", today=TODAY, last_use=date(2025, 12, 20))
    assert len(_audit(synced, "lookup")) == 1
    assert len(_audit(synced, "lookup.repeat")) == 1
