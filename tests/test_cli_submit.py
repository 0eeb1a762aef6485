"""`substreg submit` and `substreg outbox …` end to end, on SQLite and PostgreSQL: the demo
practice's approved reports sealed and written into a folder for an uploader, the proof in
`ledger export`, the refusals (fail closed), and the worker as a process of its own."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import AS_OF, PURPOSE, ROOT, Cli
from tests.storage import NOW
from tests.submission.pki import SubmissionPki

MANIFEST = "manifest.json"


def _practice(
    folder: Path, pki: SubmissionPki, *, register: str = "register", extra: str = ""
) -> Path:
    """practice.toml with the register's pin and [submission] by folder; the key files."""
    pki.write(folder / "keys")
    pki.register.write(folder / "keys", "register-private")  # to open what was written
    config = folder / "practice.toml"
    config.write_text(
        f"""{extra}
[register]
certificate_sha256 = "{pki.pin}"

[submission]
transport = "folder"
signer_key = "keys/signer.key"
signer_certificate = "keys/signer.pem"
register_certificate = "keys/{register}.pem"
lease_seconds = 5
poll_seconds = 0.5

[submission.folder]
path = "to-upload"
""",
        encoding="utf-8",
    )
    return config


def _approved(cli: Cli) -> list[str]:
    """The demo synced, every report approved, the clock at NOW (the certificates hold)."""
    cli.synced()
    ids = cli.ledger_ids()
    cli.ok("reports", "approve", *ids)
    cli.set_clock(NOW)
    return ids


def _states(cli: Cli) -> set[str]:
    return {r["state"] for r in cli.json("reports", "list", "--format", "json")["reports"]}


def _manifest(folder: Path) -> list[dict[str, object]]:
    batches: list[dict[str, object]] = json.loads((folder / MANIFEST).read_text())["batches"]
    return batches


def test_submit_seals_per_doctor_writes_each_envelope_and_the_reports_are_sent(
    cli: Cli, submission_pki: SubmissionPki
) -> None:
    """One batch per doctor, written whole into the folder with the manifest; the reports
    are sent; an envelope opens with the register's key to exactly its batch, signed by
    the practice; `outbox list` and `show` agree; a second submit finds nothing to do."""
    ids = _approved(cli)
    config = _practice(cli.tmp, submission_pki)
    out = cli.ok("submit", "--config", str(config))
    assert "Sealed 2 batch(es) into the outbox:" in out
    assert out.count(": sent – delivered (") == 2
    assert _states(cli) == {"sent"}
    folder = cli.tmp / "to-upload"
    listed = _manifest(folder)
    assert sorted(int(str(b["reports"])) for b in listed) == [5, 11]  # per doctor
    batches = cli.json("outbox", "list", "--format", "json")["batches"]
    assert {b["batch_id"] for b in batches} == {b["batch_id"] for b in listed}
    assert {(b["state"], b["transport"]) for b in batches} == {("sent", "folder")}
    first = batches[0]["batch_id"]
    keys = cli.tmp / "keys"
    opened = cli.tmp / "opened.json"
    cli.ok(
        "envelope", "open", "--key", str(keys / "register-private.key"),
        "--cert", str(keys / "register.pem"), "--signer-cert", str(keys / "signer.pem"),
        str(folder / f"{first}.p7m"), str(opened),
    )  # fmt: skip
    batch = json.loads(opened.read_text())
    assert batch["batch_id"] == first
    shown = cli.json("outbox", "show", first, "--format", "json")
    assert [r["report_id"] for r in shown["reports"]] == [r["id"] for r in batch["reports"]]
    assert {r["ledger_state"] for r in shown["reports"]} == {"sent"}
    assert set(ids) == {r["ledger_id"] for b in batches for r in cli.json(
        "outbox", "show", b["batch_id"], "--format", "json")["reports"]}  # fmt: skip
    again = cli.ok("submit", "--config", str(config))
    assert "No approved report waits to be sent." in again
    assert len(_manifest(folder)) == 2
    assert [e["action"] for e in cli.audit("outbox.sealed")] == ["outbox.sealed"] * 2


def test_an_encrypted_signer_key_takes_its_passphrase_from_the_environment(
    cli: Cli, submission_pki: SubmissionPki
) -> None:
    """SUBSTREG_KEY_PASSPHRASE opens the signer key; without it submit refuses to seal."""
    _approved(cli)
    config = _practice(cli.tmp, submission_pki)
    (cli.tmp / "keys" / "signer.key").write_bytes(submission_pki.signer.key_pem(b"s3cret pass"))
    assert "give its passphrase" in cli.refused("submit", "--config", str(config), "--queue-only")
    cli.setenv("SUBSTREG_KEY_PASSPHRASE", "s3cret pass")
    assert "Sealed 2 batch(es)" in cli.ok("submit", "--config", str(config), "--queue-only")


def test_ledger_export_proves_each_report_sent(cli: Cli, submission_pki: SubmissionPki) -> None:
    """R-CH-2: the CSV gives every report its batch, the folder route, and when it left."""
    _approved(cli)
    config = _practice(cli.tmp, submission_pki)
    document = cli.json("submit", "--config", str(config), "--format", "json")
    assert (document["due"], document["waiting"], len(document["sealed"])) == (True, 0, 2)
    assert [o["state"] for o in document["outcomes"]] == ["sent", "sent"]
    target = cli.tmp / "ledger.csv"
    cli.ok(
        "ledger", "export", "--from", "2025-01-01", "--to", AS_OF, "--format", "csv",
        "--out", str(target), "--purpose", PURPOSE,
    )  # fmt: skip
    with target.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file, delimiter=";"))
    batches = {b["batch_id"] for b in cli.json("outbox", "list", "--format", "json")["batches"]}
    assert len(rows) == 16
    assert {r["Batch-ID"] for r in rows} == batches
    assert all(r["Übertragung"] == f"folder ({r['Batch-ID']}.p7m)" for r in rows)
    assert {r["Zugestellt am"] for r in rows} == {"01.12.2026 10:00"}  # NOW in Berlin
    assert {r["Quittung"] for r in rows} == {""}  # a folder gives no receipt


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("signer-key", "the signer key"),
        ("expired", "expired on"),
        ("unpinned", "is not the pinned one"),
        ("no-pin", "no SHA-256 fingerprint of the register's certificate is pinned"),
    ],
    ids=[
        "missing-signer-key",
        "expired-register-certificate",
        "unpinned-register-certificate",
        "no-pin",
    ],
)
def test_a_key_or_certificate_that_cannot_be_used_sends_nothing_and_says_why_on_each_report(
    cli: Cli, submission_pki: SubmissionPki, damage: str, words: str
) -> None:
    """Fail closed: exit 2 with one line, nothing written into the folder or the outbox,
    the reports approved, the reason on each report's note and in the audit log."""
    ids = _approved(cli)
    config = _practice(cli.tmp, submission_pki, register="register")
    if damage == "signer-key":
        (cli.tmp / "keys" / "signer.key").unlink()
    elif damage == "unpinned":  # a certificate of the register's key, but not the pinned one
        config.write_text(
            config.read_text().replace("keys/register.pem", "keys/stranger.pem"), encoding="utf-8"
        )
    elif damage == "no-pin":
        config.write_text(
            config.read_text().replace(f'certificate_sha256 = "{submission_pki.pin}"', ""),
            encoding="utf-8",
        )
    else:  # the expired certificate, pinned: it is refused for its period
        config.write_text(
            config.read_text()
            .replace("keys/register.pem", "keys/expired.pem")
            .replace(submission_pki.pin, _fingerprint(submission_pki.expired.cert)),
            encoding="utf-8",
        )
    line = cli.refused("submit", "--config", str(config))
    assert words in line
    assert not (cli.tmp / "to-upload").exists()
    assert cli.json("outbox", "list", "--format", "json")["batches"] == []
    assert _states(cli) == {"approved"}
    note = cli.json("reports", "show", ids[0])["note"]
    assert words in note and note.startswith("Not sent on 2026-12-01 10:00 CET: ")
    assert len(cli.audit("submit.refused")) == 1


def _fingerprint(certificate: object) -> str:
    from adapter.crypto.envelope import certificate_fingerprint

    return certificate_fingerprint(certificate)  # type: ignore[arg-type]


def test_the_outbox_commands_refuse_what_they_may_not_do(
    cli: Cli, submission_pki: SubmissionPki
) -> None:
    """`retry` of a batch that did not fail, `show` of an unknown id, `--once` without
    `--worker`, an unknown transport: exit 2, one line each, nothing changed."""
    _approved(cli)
    config = _practice(cli.tmp, submission_pki)
    cli.ok("submit", "--config", str(config))
    batch = cli.json("outbox", "list", "--format", "json")["batches"][0]["batch_id"]
    assert batch in cli.ok("outbox", "list", "--state", "sent")
    assert cli.ok("outbox", "list", "--state", "failed") == "The outbox is empty.\n"
    shown = cli.ok("outbox", "show", batch)
    assert shown.startswith(f"Batch {batch}: sent,") and "via folder" in shown
    assert cli.audit("outbox.show") == []  # no receipt opened: nothing to audit
    assert "cannot become sealed: it is sent" in cli.refused("outbox", "retry", batch)
    assert "no batch nope" in cli.refused("outbox", "show", "nope")
    assert "--once goes with --worker" in cli.refused("submit", "--once", "--config", str(config))
    config.write_text(config.read_text().replace('"folder"', '"pigeon"', 1), encoding="utf-8")
    assert "the transport 'pigeon' is unknown" in cli.refused("submit", "--config", str(config))


def test_a_lost_file_is_resent_as_a_new_batch_after_asking(
    cli: Cli, submission_pki: SubmissionPki
) -> None:
    """`outbox resend ID --yes` of a folder batch (no receipt: the uploader lost it): a new
    batch of the same reports, written by the next submit; the old one is replaced."""
    _approved(cli)
    config = _practice(cli.tmp, submission_pki)
    cli.ok("submit", "--config", str(config))
    old = cli.json("outbox", "list", "--format", "json")["batches"][0]["batch_id"]
    asked = cli.run("outbox", "resend", old, "--config", str(config))
    assert asked.status == 2 and "give --yes" in asked.err  # no terminal: not asked, refused
    out = cli.ok("outbox", "resend", old, "--config", str(config), "--yes")
    assert f"batch {old} is replaced" in out
    cli.ok("submit", "--config", str(config))
    listed = _manifest(cli.tmp / "to-upload")
    assert len(listed) == 3
    shown = cli.json("outbox", "show", old, "--format", "json")
    assert shown["replaced_by"] in {str(b["batch_id"]) for b in listed}
    assert "sealed again as" in cli.refused(
        "outbox", "resend", old, "--config", str(config), "--yes"
    )
    assert len(cli.audit("outbox.resend")) == 1


def test_a_worker_process_delivers_what_submit_queued_and_stops_on_sigterm(
    cli: Cli, submission_pki: SubmissionPki
) -> None:
    """`submit --queue-only` seals; `substreg submit --worker` in a process of its own
    writes both batches, prints a JSON line each, and exits 0 on SIGTERM."""
    _approved(cli)
    config = _practice(cli.tmp, submission_pki)
    out = cli.ok("submit", "--config", str(config), "--queue-only")
    assert "wait for a worker" in out and _states(cli) == {"queued"}
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SUBSTREG_")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "adapter.cli", "submit", "--worker", "--config", str(config),
         "--format", "json"],
        env={**inherited, **cli.env}, cwd=ROOT, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _states(cli) != {"sent"} and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        stdout, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr
    assert stderr.splitlines()[-1].startswith("substreg: stopped; the batch in hand was finished")
    outcomes = [json.loads(line) for line in stdout.splitlines()]
    assert sorted(o["state"] for o in outcomes) == ["sent", "sent"]
    assert _states(cli) == {"sent"} and len(_manifest(cli.tmp / "to-upload")) == 2


def test_a_payload_the_keyring_cannot_open_sends_nothing_of_any_doctor(
    cli: Cli, submission_pki: SubmissionPki
) -> None:
    """One report's data key is gone (the pseudonym store cannot decrypt its payload):
    `submit` exits 2 with one line naming the report, nothing is sealed or written for any
    doctor, the others carry the reason in their note, `submit.refused` is audited."""
    from adapter.store.opening import open_store
    from adapter.store.workspace import Workspace
    from tests.storage import ACTOR

    ids = _approved(cli)
    config = _practice(cli.tmp, submission_pki)
    store = open_store(cli.url, cli.keyring)

    def destroy(space: Workspace) -> None:
        space.keys.destroy_data_key(space.ledger.entry(ids[1]).dek_id)

    store.run(ACTOR, destroy)
    line = cli.refused("submit", "--config", str(config))
    assert f"payload of report {ids[1]}" in line
    assert not (cli.tmp / "to-upload").exists()
    assert cli.json("outbox", "list", "--format", "json")["batches"] == []
    assert _states(cli) == {"approved"}
    assert f"payload of report {ids[1]}" in cli.json("reports", "show", ids[0])["note"]
    (refused,) = cli.audit("submit.refused")
    assert "payload" in str(refused["details"])


def test_a_keyring_of_another_installation_seals_nothing_and_writes_nothing(
    cli: Cli, submission_pki: SubmissionPki
) -> None:
    """Another installation's keyring in place: exit 2 with one line, no batch, no file, no
    note and no audit entry (nothing can be written); with its own keyring back the same
    command seals and sends both batches."""
    from adapter.crypto import generate_keyring
    from adapter.crypto.keyring import save_keyring

    _approved(cli)
    config = _practice(cli.tmp, submission_pki)
    own = cli.keyring.read_bytes()
    before = cli.tables()
    save_keyring(generate_keyring(NOW.isoformat()), cli.keyring)
    line = cli.refused("submit", "--config", str(config))
    assert "keyring" in line
    assert cli.tables() == before
    assert not (cli.tmp / "to-upload").exists()
    cli.keyring.write_bytes(own)
    assert "Sealed 2 batch(es)" in cli.ok("submit", "--config", str(config))
    assert _states(cli) == {"sent"}


def test_an_inventory_approved_with_its_anmeldungen_is_sent_by_the_same_submit(
    cli: Cli, submission_pki: SubmissionPki
) -> None:
    """D-196, D-232: one submit sends the Anmeldungen, then seals and sends the inventory
    reports it held back for them, and says so; a second submit has nothing to do."""
    cli.synced()
    cli.ok("inventory", "--key-date", "2025-12-31", "--doctor", "3990101")
    cli.ok("reports", "approve", *cli.ledger_ids())
    cli.set_clock(NOW)
    config = _practice(cli.tmp, submission_pki)
    first = cli.ok("submit", "--config", str(config))
    assert "Held back" not in first
    # D-250 (review r1 item 11f): said of the sealed batches, after them, in plain words.
    released = first.index("Inventur-Meldung(en) were sealed only after the reports they confirm")
    assert first.index("Sealed ") < released
    assert "Of these, " in first and "sealed too" not in first
    assert _states(cli) == {"sent"}
    assert "No approved report waits to be sent." in cli.ok("submit", "--config", str(config))


def test_a_worker_seals_the_inventory_its_pass_freed_and_sends_it_next(
    cli: Cli, submission_pki: SubmissionPki
) -> None:
    """D-232: `submit --queue-only` holds the inventory reports back; the worker's pass
    (`--once`) writes the Anmeldungen and seals the inventory reports they freed, and the
    next pass writes those."""
    cli.synced()
    cli.ok("inventory", "--key-date", "2025-12-31", "--doctor", "3990101")
    cli.ok("reports", "approve", *cli.ledger_ids())
    cli.set_clock(NOW)
    config = _practice(cli.tmp, submission_pki)
    assert "Held back" in cli.ok("submit", "--config", str(config), "--queue-only")
    first = cli.ok("submit", "--worker", "--once", "--config", str(config))
    assert "held Inventur-Meldung(en)" in first
    assert _states(cli) == {"sent", "queued"}
    cli.ok("submit", "--worker", "--once", "--config", str(config))
    assert _states(cli) == {"sent"}
