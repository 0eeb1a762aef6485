"""`substreg handover` refusing as a person meets it: a changed document, an unknown signer,
an unknown patient are one line on stderr, exit 2, and nothing stored or written; the
export and the import are audited without a name or a code (PRIVACY.md T2)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.handover.cases import fhir
from tests.handover.cases.sites import Site, site

SOMMER = fhir.Doctor("sommer", "3810101", "381010101", "Sommer", "Heike", "1968-02-14")
WINTER = fhir.Person("p-4711", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
NONE_RECEIVED = "No handover received.\n"


@pytest.fixture
def sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[Site, Site, Path, str]:
    """A sender that exported Marcel Winter's handover, and a fresh receiver."""
    sender = site(tmp_path / "sender", monkeypatch, capsys)
    first, last = date(2025, 3, 3), date(2025, 5, 14)
    data = fhir.write_export(
        tmp_path / "data",
        [
            fhir.practitioner(SOMMER),
            fhir.patient(WINTER),
            fhir.episode("eoc-1", WINTER, SOMMER, first),
            fhir.request("mr-1", WINTER, SOMMER, first),
            *fhir.doses("ma", WINTER, SOMMER, links=("eoc-1", "mr-1"), days=(first, last)),
        ],
    )
    sender.sync(data, "2025-05-14")
    document, signer = sender.export("Patient/p-4711", "JVA Dresden", "2025-05-15")
    return sender, site(tmp_path / "receiver", monkeypatch, capsys), document, signer


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
    assert "Registration recorded" in receiver.ok(
        "handover", "import", str(document), "--trust", signer
    )
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
