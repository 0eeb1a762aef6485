"""`substreg handover` refusing as a person meets it: a changed document, an unknown signer,
an unknown patient are one line on stderr, exit 2, and nothing stored or written; the
export and the import are audited without a name or a code (PRIVACY.md T2)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from adapter.cli.exits import EXIT_INTERRUPTED
from adapter.cli.handover import _treatment, sender_named
from adapter.services.handover import UNNAMED_SENDER, _unnamed
from tests.handover.cases.sites import Site
from tests.handover.values import HANDOVER

NONE_RECEIVED = "No handover received.\n"


def test_a_document_changed_after_signing_is_refused_and_nothing_stored(
    sent: tuple[Site, Site, Path, str], tmp_path: Path
) -> None:
    """One changed birth date: the signature does not verify; exit 2, one line."""
    _, receiver, document, signer = sent
    changed = tmp_path / "changed.json"
    changed.write_text(
        document.read_text(encoding="utf-8").replace("1988-06-21", "1988-06-22"), "utf-8"
    )
    line = receiver.refused("handover", "import", str(changed), "--trust", signer)
    assert "signature does not verify" in line
    assert "nothing was stored" in line
    assert receiver.ok("handover", "list") == NONE_RECEIVED


@pytest.mark.parametrize(
    "trust",
    [(), ("--trust", "00" * 32)],
    ids=["no-trust-given", "another-fingerprint"],
)
def test_an_unknown_signer_is_refused_with_the_fingerprint_to_confirm(
    sent: tuple[Site, Site, Path, str], trust: tuple[str, ...]
) -> None:
    """Without the sender's fingerprint confirmed, nothing is stored; the line names it."""
    _, receiver, document, signer = sent
    line = receiver.refused("handover", "import", str(document), *trust)
    assert f"fingerprint {signer}" in line
    assert "--trust '" not in line  # no ready-to-copy command that trusts the file's key
    assert line.count(signer) == 1
    assert receiver.ok("handover", "list") == NONE_RECEIVED


def test_a_fingerprint_with_colons_is_the_same_fingerprint(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """As `openssl` would print it: colons and capitals are accepted."""
    _, receiver, document, signer = sent
    digits = signer.replace(" ", "").upper()
    colons = ":".join(digits[i : i + 2] for i in range(0, 64, 2))
    assert "signature verified" in receiver.ok(
        "handover", "import", str(document), "--trust", colons
    )


def test_a_document_imported_twice_is_recorded_once(sent: tuple[Site, Site, Path, str]) -> None:
    """The second import verifies again and records nothing new."""
    _, receiver, document, signer = sent
    first = receiver.ok("handover", "import", str(document), "--trust", signer)
    assert "Registration recorded" in first
    assert ' from "Praxis/Einrichtung von ' in first  # the document's German name, quoted
    again = receiver.ok("handover", "import", str(document), "--trust", signer)
    assert "Nothing new recorded" in again
    assert receiver.ok("handover", "list").count(" open ") == 1


def test_an_unknown_patient_is_refused_and_no_file_written(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """A reference this installation never synced: one line that does not echo it."""
    sender, _, document, _ = sent
    before = sorted(sender.root.glob("handover-*"))
    line = sender.refused(
        "handover", "export", "--patient", "Patient/nobody-here", "--to", "JVA Dresden",
        "--out", str(sender.root),
    )  # fmt: skip
    assert "No patient of this installation" in line
    assert "nobody-here" not in line
    assert (
        sorted(sender.root.glob("handover-*")) == before == [document, document.with_suffix(".pdf")]
    )


def test_export_and_import_are_audited_without_a_name_or_a_code(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """The audit log says who handed over and received which document, never whom."""
    sender, receiver, document, signer = sent
    receiver.ok("handover", "import", str(document), "--trust", signer)
    document_id = json.loads(document.read_text("utf-8"))["identifier"]["value"][9:]
    for installation, action in ((sender, "handover.export"), (receiver, "handover.import")):
        audit = installation.ok("audit", "list", "--action", action, "--format", "json")
        assert document_id in audit
        for secret in ("Winter", "Marcel", "1988-06-21", "p-4711", "MAWIM168"):
            assert secret not in audit


def test_a_second_release_says_the_first_day_and_a_return_after_it_is_refused(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """Released again (a retry): the day it stands released on, nothing changed; a
    return of a released handover: one line, exit 2 (D-193)."""
    _, receiver, document, signer = sent
    out = receiver.ok("handover", "import", str(document), "--trust", signer)
    handover = out.split("Handover ", 1)[1].split(" ", 1)[0]
    first = receiver.ok("handover", "release", handover, "--on", "2025-05-16")
    again = receiver.ok("handover", "release", handover, "--on", "2025-05-20")
    assert "released as of 2025-05-16" in first
    assert again == first
    line = receiver.refused("handover", "return", handover, "--on", "2025-05-20")
    assert f"No open handover {handover}" in line


def test_a_second_copy_of_a_registration_replaces_the_open_one(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """Two exports of one registration: the second import names the first as open and
    replaces it, so one hold stands and releasing it ends the hold (R-EP-5, D-201)."""
    sender, receiver, document, signer = sent
    second, _ = sender.export("Patient/p-4711", "JVA Dresden", "2025-05-16")
    first_out = receiver.ok("handover", "import", str(document), "--trust", signer)
    first = first_out.split("Handover ", 1)[1].split(" ", 1)[0]
    out = receiver.ok("handover", "import", str(second), "--trust", signer)
    newer = out.split("Handover ", 1)[1].split(" ", 1)[0]
    assert f"A handover of this registration was already open ({first})" in out
    listed = receiver.ok("handover", "list")
    assert listed.count(" open ") == 1 and f"{newer}  open" in listed
    assert f"{first}  replaced" in listed
    assert f"No open handover {first}" in receiver.refused("handover", "release", first)
    receiver.ok("handover", "release", newer, "--on", "2025-05-17")
    assert " open " not in receiver.ok("handover", "list")


def test_a_day_still_to_come_is_refused_for_export_and_return(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """`--on` after today (by the clock): one line, exit 2, no file, nothing ended."""
    sender, receiver, document, signer = sent
    before = sorted(sender.root.glob("handover-*"))
    line = sender.refused(
        "handover", "export", "--patient", "Patient/p-4711", "--to", "JVA Dresden",
        "--on", "2031-01-01", "--out", str(sender.root),
    )  # fmt: skip
    assert "2031-01-01 lies after today" in line  # no flag: the API says it too (r1 11d)
    assert sorted(sender.root.glob("handover-*")) == before
    out = receiver.ok("handover", "import", str(document), "--trust", signer)
    handover = out.split("Handover ", 1)[1].split(" ", 1)[0]
    for action in ("return", "release"):
        line = receiver.refused("handover", action, handover, "--on", "2031-01-01")
        assert "lies after today" in line
    assert f"{handover}  open" in receiver.ok("handover", "list")


def test_an_installation_refuses_its_own_document(sent: tuple[Site, Site, Path, str]) -> None:
    """The sender imports what it exported: one line, exit 2, nothing recorded (D-202)."""
    sender, _, document, signer = sent
    _refused_as_its_own(sender, document, signer)


def test_export_makes_a_missing_out_folder_for_its_owner_only(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """`--out` that does not exist yet: made mode 0700, the files written into it."""
    sender, *_ = sent
    out = sender.root / "new" / "handovers"
    sender.ok(
        "handover", "export", "--patient", "Patient/p-4711", "--to", "JVA Dresden",
        "--on", "2025-05-15", "--out", str(out),
    )  # fmt: skip
    assert out.stat().st_mode & 0o777 == 0o700
    assert len(list(out.glob("handover-*.json"))) == 1


def test_an_export_stopped_while_rendering_the_pdf_leaves_no_file_and_no_audit(
    sent: tuple[Site, Site, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the PDF is rendered, after the JSON is made: neither file (nor a
    temporary one) is left in --out, and the export is not audited (both or neither)."""
    sender, *_ = sent
    audited = sender.ok("audit", "list", "--action", "handover.export", "--format", "json")
    before = sorted(sender.root.glob("*handover-*"))

    def stopped(*_: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr("adapter.cli.handover.handover_pdf", stopped)
    result = sender.run(
        "handover", "export", "--patient", "Patient/p-4711", "--to", "JVA Dresden",
        "--on", "2025-05-15", "--out", str(sender.root),
    )  # fmt: skip
    assert result.status == EXIT_INTERRUPTED
    assert sorted(sender.root.glob("*handover-*")) == before and len(before) == 2
    assert sender.ok("audit", "list", "--action", "handover.export", "--format", "json") == (
        audited
    )


def test_doses_without_an_open_phase_say_what_is_known() -> None:
    """The last dose is named; the reach is said to be unknown, not "until unknown"."""
    ended = replace(HANDOVER, covered_until=None)
    text = _treatment(ended)
    assert "last dose 2025-12-30 (no open treatment phase" in text
    assert "until unknown" not in text


def test_a_sender_without_a_name_is_said_in_english() -> None:
    """N8: a document whose sender gave no name reads "sendende Einrichtung" (German, as
    the document is); the English line says so around it, in quotes."""
    unnamed = sender_named(replace(HANDOVER, sender=UNNAMED_SENDER))
    assert unnamed == (
        'a sending facility that gave no name ("sendende Einrichtung" in the document)'
    )
    assert sender_named(HANDOVER) == '"Praxis Falkner"'


# -- across a rotation of the audit key, whence the document key (D-160, D-230) ----------


def test_the_sender_still_knows_its_own_document_after_rotating_the_audit_key(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """R-HO-1, D-230: exported, then `keys rotate audit`; importing that document at the
    sender is still refused as its own export, nothing recorded (D-202)."""
    sender, _, document, signer = sent
    rotated = sender.ok("keys", "rotate", "audit")
    assert "Handover documents are signed under a new key from now on" in rotated
    _refused_as_its_own(sender, document, signer)


def test_a_document_exported_after_the_rotation_names_the_new_key(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """The new export is signed under the new document key, and the receiver takes both
    copies, each under the fingerprint the sender gave for it (the newer replaces, D-201)."""
    sender, receiver, document, signer = sent
    sender.ok("keys", "rotate", "audit")
    newer, new_signer = sender.export("Patient/p-4711", "JVA Dresden", "2025-05-15")
    assert new_signer != signer
    _refused_as_its_own(sender, newer, new_signer)
    receiver.ok("handover", "import", str(document), "--trust", signer)
    out = receiver.ok("handover", "import", str(newer), "--trust", new_signer)
    assert "this newer copy replaces it" in out


def test_release_and_return_of_an_earlier_handover_after_the_receiver_rotates_its_keys(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """Received, then the receiver rotates its audit, wrap and index keys: the handover is
    still listed open and is released by its id; a second one is returned by its id."""
    sender, receiver, document, signer = sent
    handover = _imported(receiver, document, signer)
    for purpose in ("audit", "wrap", "index"):
        receiver.ok("keys", "rotate", purpose)
    assert f"{handover}  open" in receiver.ok("handover", "list")
    assert "released as of 2025-05-16" in receiver.ok(
        "handover", "release", handover, "--on", "2025-05-16"
    )
    sender.ok("keys", "rotate", "audit")
    newer, new_signer = sender.export("Patient/p-4711", "JVA Dresden", "2025-05-17")
    again = _imported(receiver, newer, new_signer)
    receiver.ok("keys", "rotate", "audit")
    assert "returned" in receiver.ok("handover", "return", again, "--on", "2025-05-18")
    assert f"{again}  returned" in receiver.ok("handover", "list")


def _imported(receiver: Site, document: Path, signer: str) -> str:
    out = receiver.ok("handover", "import", str(document), "--trust", signer)
    return out.split("Handover ", 1)[1].split(" ", 1)[0]


def _refused_as_its_own(sender: Site, document: Path, signer: str) -> None:
    """D-202: one line, exit 2, nothing recorded."""
    line = sender.refused("handover", "import", str(document), "--trust", signer)
    assert "signed by this installation itself" in line
    assert sender.ok("handover", "list") == NONE_RECEIVED


# -- the list and a document imported again (D-247) -----------------------------------


def test_the_list_shows_the_handover_day_the_registration_and_the_sender(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """Review r1 11a: each row names the handover day, the registering doctor and since
    when, and the sending facility; the ending column is "ended on" (a replaced row's day
    is the day it was replaced, not a release)."""
    sender, receiver, document, signer = sent
    second, _ = sender.export("Patient/p-4711", "JVA Dresden", "2025-05-16")
    first = _imported(receiver, document, signer)
    newer = _imported(receiver, second, signer)
    listed = receiver.ok("handover", "list")
    header, *rows = listed.splitlines()
    assert "day" in header and "ended on" in header and "released" not in header
    [old] = [r for r in rows if r.startswith(first)]
    [new] = [r for r in rows if r.startswith(newer)]
    assert f"{first}  replaced  2025-05-15" in old
    assert f"{newer}  open      2025-05-16" in new
    assert "BtM 3810101 since 2025-03-03" in new
    assert new.endswith("Praxis/Einrichtung von Heike Sommer, BtM 3810101")


def test_a_replaced_document_imported_again_offers_no_steps(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """Review r1 11b: the first copy again, after a newer one replaced it: it says so and
    offers none of its old steps, which would contradict the open handover's."""
    sender, receiver, document, signer = sent
    second, _ = sender.export("Patient/p-4711", "JVA Dresden", "2025-05-16")
    _imported(receiver, document, signer)
    _imported(receiver, second, signer)
    again = receiver.ok("handover", "import", str(document), "--trust", signer)
    assert "imported before and is replaced here" in again
    assert "a newer copy of its registration holds instead" in again
    assert "What follows" not in again and "R-ABS-1" not in again


def test_an_export_that_names_no_sender_warns() -> None:
    """Review r1 11c: no facility name given and no registration to name a doctor by:
    the export warns that the receiver reads no sender's name (D-247)."""
    unnamed = replace(HANDOVER, sender=UNNAMED_SENDER, registration=None)
    [warning] = _unnamed(unnamed)
    assert "names its sender only as" in warning and "--from" in warning
    assert _unnamed(HANDOVER) == ()
