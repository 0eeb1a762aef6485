"""`submit` on the twin: approved reports sealed per doctor into the outbox, in one
transaction, or not at all (fail closed, the reason on each report)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from adapter.crypto import generate_keyring
from adapter.crypto.envelope import certificate_fingerprint, open_envelope
from adapter.domain.batch import batch_from_bytes
from adapter.errors import KeyringError, SubmissionRefused
from adapter.services.submit import submit
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR, NOW
from tests.submission.pki import SubmissionPki
from tests.submission.seeding import approved, notes, states
from tests.submission.setup import sealing_for
from tests.usecases.conftest import Clock


def _audit(store: Store, action: str) -> list[dict[str, object]]:
    def read(space: Workspace) -> list[dict[str, object]]:
        return [dict(e) for e in space.audit.rows.entries(action=action)]

    return store.run(ACTOR, read)


def _batches(store: Store) -> list[tuple[str, bytes, list[str]]]:
    """(batch id, envelope, ledger ids) of every batch in the outbox."""

    def read(space: Workspace) -> list[tuple[str, bytes, list[str]]]:
        return [
            (
                b.batch_id,
                space.outbox.envelope(b.batch_id),
                [i.ledger_id for i in space.outbox.reports(b.batch_id)],
            )
            for b in space.outbox.listed()
        ]

    return store.run(ACTOR, read)


def test_approved_reports_are_sealed_per_doctor_and_queued(
    twin: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """Five reports of two doctors: two batches, each one doctor's reports in ledger order,
    signed by the practice and readable only with the register's key; all queued."""
    ids = approved(twin, 5)
    result = submit(twin, ACTOR, sealing_for(submission_pki, tmp_path))
    assert result.due and result.waiting == 0
    assert sorted(b.report_count for b in result.batches) == [2, 3]
    assert set(states(twin).values()) == {"queued"}
    order = list(states(twin))  # the ledger's order: made on, date, kind
    seen = []
    for batch_id, envelope, ledger_ids in _batches(twin):
        opened = open_envelope(
            envelope,
            key=submission_pki.register_key(),
            signer_certificate=submission_pki.signer.cert,
        )
        batch = batch_from_bytes(opened.payload)
        assert batch.batch_id == batch_id and opened.signer_given
        assert {r.doctor.btm_number for r in batch.reports} == {batch.sender_btm_number}
        assert [order.index(i) for i in ledger_ids] == sorted(order.index(i) for i in ledger_ids)
        seen += ledger_ids
    assert sorted(seen) == sorted(ids)
    sealed = _audit(twin, "outbox.sealed")
    assert len(sealed) == 2 and "HAMÜF" not in str(sealed)


def test_a_doctor_with_more_reports_than_a_batch_holds_gets_several(
    twin: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """max_reports 2: three reports of one doctor make batches of 2 and 1, ids distinct."""
    approved(twin, 3, doctors=("1234567",))
    result = submit(twin, ACTOR, sealing_for(submission_pki, tmp_path, max_reports=2))
    assert [b.report_count for b in result.batches] == [2, 1]
    assert len({b.batch_id for b in result.batches}) == 2


@pytest.mark.parametrize(
    ("weekdays", "due"),
    [((), True), (("tuesday", "friday"), True), (("monday", "thursday"), False)],
    ids=["at-once", "bundle-day", "not-a-bundle-day"],
)
def test_reports_wait_for_the_practices_bundle_weekdays(
    twin: Store,
    submission_pki: SubmissionPki,
    tmp_path: Path,
    weekdays: tuple[str, ...],
    due: bool,
) -> None:
    """R-DATE-4: on 2026-12-01 (a Tuesday in Berlin) reports go at once or on a Tuesday
    bundle day; on other days they stay approved, and no key is even read."""
    approved(twin, 2)
    sealing = sealing_for(submission_pki, tmp_path, weekdays=weekdays)
    sealing.signer_key.unlink()  # not needed on a day without sending: not read
    if due:
        with pytest.raises(SubmissionRefused):
            submit(twin, ACTOR, sealing)
        sealing.signer_key.write_bytes(submission_pki.signer.key_pem())
    result = submit(twin, ACTOR, sealing)
    assert (result.due, result.today) == (due, "tuesday")
    assert len(result.batches) == (2 if due else 0)
    assert set(states(twin).values()) == ({"queued"} if due else {"approved"})
    assert result.waiting == (0 if due else 2)


def _refused(store: Store, sealing: object, reason: str, ids: list[str]) -> str:
    """Submit refuses with `reason`: no batch, every report approved, the reason on each
    report's note and in the audit log (without codes); the refusal's line."""
    with pytest.raises(SubmissionRefused) as refused:
        submit(store, ACTOR, sealing)  # type: ignore[arg-type]
    assert refused.value.reason == reason
    assert _batches(store) == []
    assert set(states(store).values()) == {"approved"}
    written = notes(store, ids)
    assert all(note and str(refused.value) in note for note in written.values()), written
    (entry,) = _audit(store, "submit.refused")
    assert f'"reason":"{reason}"' in str(entry["details"])
    return str(refused.value)


@pytest.mark.parametrize(
    "case",
    [
        ("expired", "", "expired", "expired on"),
        ("stranger", "", "unpinned", "is not the pinned one"),
        ("register", None, "no_pin", "no SHA-256 fingerprint"),
    ],
    ids=["expired", "unpinned", "no-pin"],
)
def test_a_register_certificate_that_fails_its_check_stops_everything(
    twin: Store,
    submission_pki: SubmissionPki,
    tmp_path: Path,
    case: tuple[str, str | None, str, str],
) -> None:
    """Expired, not the pinned one, or no pin at all: nothing is sealed (D-72)."""
    register, pinned, reason, words = case
    ids = approved(twin, 3)
    if register == "expired":  # the pin names the certificate, the certificate has ended
        pinned = certificate_fingerprint(submission_pki.expired.cert)
    sealing = sealing_for(submission_pki, tmp_path, register=register, pinned=pinned)
    assert words in _refused(twin, sealing, reason, ids)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("missing-key", "signer"),
        ("foreign-key", "signer"),
        ("garbled-certificate", "signer"),
        ("missing-register", "register"),
    ],
)
def test_a_signer_key_or_certificate_that_cannot_be_used_stops_everything(
    twin: Store, submission_pki: SubmissionPki, tmp_path: Path, damage: str, reason: str
) -> None:
    """No signer key, a key of another certificate, a certificate that is none, no register
    certificate: refused before anything is sealed, naming the file."""
    ids = approved(twin, 2)
    sealing = sealing_for(submission_pki, tmp_path)
    if damage == "missing-key":
        sealing.signer_key.unlink()
    elif damage == "foreign-key":
        sealing.signer_key.write_bytes(submission_pki.register.key_pem())
    elif damage == "garbled-certificate":
        sealing.signer_certificate.write_bytes(b"-----BEGIN CERTIFICATE-----\nnope\n")
    else:
        sealing.register_certificate.unlink()
    line = _refused(twin, sealing, reason, ids)
    assert "cannot be read" in line or "not" in line


def test_a_payload_that_cannot_be_opened_stops_everything(
    twin: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """A report whose data key is gone (the pseudonym store cannot decrypt it): nothing of
    any doctor is sealed; the others carry the reason, the audit log counts the one whose
    note cannot be written under its own lost key."""
    ids = approved(twin, 3)

    def destroy(space: Workspace) -> None:
        space.keys.destroy_data_key(space.ledger.entry(ids[1]).dek_id)

    twin.run(ACTOR, destroy)
    with pytest.raises(SubmissionRefused, match=f"payload of report {ids[1]}") as refused:
        submit(twin, ACTOR, sealing_for(submission_pki, tmp_path))
    assert refused.value.reason == "payload"
    assert _batches(twin) == [] and set(states(twin).values()) == {"approved"}
    written = notes(twin, [ids[0], ids[2]])
    assert all(f"payload of report {ids[1]}" in str(n) for n in written.values())
    (entry,) = _audit(twin, "submit.refused")
    assert '"notes_not_written":1' in str(entry["details"])


def test_a_keyring_of_another_installation_opens_nothing_and_sends_nothing(
    twin: Store, submission_pki: SubmissionPki, tmp_path: Path, clock: Clock
) -> None:
    """With a foreign keyring the store refuses before reading anything (KeyringError): no
    batch, the reports approved; with the right one submit goes on as if nothing happened."""
    ids = approved(twin, 2)
    foreign = Store(twin.database, lambda: generate_keyring(NOW.isoformat()), clock=clock)
    with pytest.raises(KeyringError, match="wrong keyring"):
        submit(foreign, ACTOR, sealing_for(submission_pki, tmp_path))
    assert _batches(twin) == [] and set(states(twin).values()) == {"approved"}
    assert len(submit(twin, ACTOR, sealing_for(submission_pki, tmp_path)).batches) == 2
    assert Counter(states(twin).values()) == Counter({"queued": len(ids)})


def test_a_second_submit_finds_nothing_left_to_seal(
    twin: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """Queued reports are not sealed again: the second run makes no batch."""
    approved(twin, 2)
    sealing = sealing_for(submission_pki, tmp_path)
    assert len(submit(twin, ACTOR, sealing).batches) == 2
    again = submit(twin, ACTOR, sealing)
    assert (again.batches, again.waiting) == ([], 0)
    assert len(_batches(twin)) == 2


def test_an_encrypted_signer_key_opens_with_its_passphrase_only(
    twin: Store, submission_pki: SubmissionPki, tmp_path: Path
) -> None:
    """The signer key encrypted: without the passphrase refused (reason signer), with it
    sealed."""
    ids = approved(twin, 2)
    sealing = sealing_for(submission_pki, tmp_path)
    sealing.signer_key.write_bytes(submission_pki.signer.key_pem(b"correct horse"))
    assert "give its passphrase" in _refused(twin, sealing, "signer", ids)
    unlocked = replace(sealing, passphrase="correct horse")
    assert len(submit(twin, ACTOR, unlocked).batches) == 2
