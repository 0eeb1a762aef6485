"""The days `substreg handover` is told (D-244, D-245): a release or a return is no
earlier than the handover day, a return no later than day 30 (R-ABS-1, R-ABS-3); an
export states the stored data of the day the last sync walked to, so an earlier handover
day is refused and a later one warned of, as is a last dose long past (R-HO-1)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pypdf
import pytest

from tests.cli_helpers import Run, one_line
from tests.handover.cases.sites import Site

# `sent`: synced to 2025-05-14 (last dose that day), exported with handover day 2025-05-15.
HANDOVER_DAY, DAY_30 = "2025-05-15", "2025-06-13"


def _export(sender: Site, day: str) -> Run:
    """`handover export` of the patient with the handover day `day`."""
    return sender.run(
        "handover", "export", "--patient", "Patient/p-4711", "--to", "JVA Dresden",
        "--on", day, "--out", str(sender.root),
    )  # fmt: skip


def _imported(receiver: Site, document: Path, signer: str) -> str:
    out = receiver.ok("handover", "import", str(document), "--trust", signer)
    return out.split("Handover ", 1)[1].split(" ", 1)[0]


@pytest.mark.parametrize("action", ["release", "return"])
def test_a_day_before_the_handover_day_is_refused(
    sent: tuple[Site, Site, Path, str], action: str
) -> None:
    """R-ABS-1, D-244: a release or return before the handover began: one line, exit 2,
    the handover still open."""
    _, receiver, document, signer = sent
    handover = _imported(receiver, document, signer)
    line = receiver.refused("handover", action, handover, "--on", "2025-05-14")
    assert f"lies before the handover day {HANDOVER_DAY}" in line
    assert f"{handover}  open" in receiver.ok("handover", "list")


def test_a_return_after_day_30_is_refused_and_points_to_release(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """R-ABS-1, R-ABS-3: back on day 31 was no substitution, so it is not waived as one;
    the line points to `release`, which day 31 takes."""
    _, receiver, document, signer = sent
    handover = _imported(receiver, document, signer)
    line = receiver.refused("handover", "return", handover, "--on", "2025-06-14")
    assert f"lies after day 30 of the handover ({DAY_30})" in line
    assert "substreg handover release" in line
    assert f"{handover}  open" in receiver.ok("handover", "list")
    out = receiver.ok("handover", "release", handover, "--on", "2025-06-14")
    assert "released as of 2025-06-14" in out


@pytest.mark.parametrize("day", [HANDOVER_DAY, DAY_30])
def test_a_return_from_the_handover_day_to_day_30_is_taken(
    sent: tuple[Site, Site, Path, str], day: str
) -> None:
    """The bounds themselves: day 1 and day 30 of the substitute time."""
    _, receiver, document, signer = sent
    handover = _imported(receiver, document, signer)
    assert f"returned as of {day}" in receiver.ok("handover", "return", handover, "--on", day)


def test_an_export_before_the_synced_day_is_refused(sent: tuple[Site, Site, Path, str]) -> None:
    """D-245: synced to 2025-05-14, a handover day 2025-05-13 would state that day's data
    as of the day before: refused, no file written."""
    sender, *_ = sent
    before = sorted(sender.root.glob("handover-*"))
    result = _export(sender, "2025-05-13")
    assert result.status == 2
    line = one_line(result.err)
    assert "lies before the day this patient's data was last synced to (2025-05-14)" in line
    assert sorted(sender.root.glob("handover-*")) == before


def test_an_export_after_the_synced_day_warns_and_of_stale_data(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """D-245 (as D-210): a handover day after the sync's day is written with a warning on
    stderr; 48 days after the last dose it warns that the data looks stale."""
    sender, *_ = sent
    near = _export(sender, "2025-05-15")
    assert near.status == 0
    assert "synced to 2025-05-14, 1 day(s) before the handover day 2025-05-15" in near.err
    assert "stale" not in near.err
    far = _export(sender, "2025-07-01")
    assert far.status == 0
    assert "last dose on 2025-05-14, 48 days before the handover day" in far.err
    assert "looks stale" in far.err


def test_an_export_on_the_synced_day_warns_of_nothing(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """The day the sync walked to: the data is that day's, nothing to warn of."""
    sender, *_ = sent
    result = _export(sender, "2025-05-14")
    assert (result.status, result.err) == (0, "")


def test_neither_the_pdf_nor_the_document_text_carries_the_fingerprint(
    sent: tuple[Site, Site, Path, str],
) -> None:
    """D-160, D-246: the fingerprint is printed for the sender to phone or write; the PDF
    says so instead, and the JSON names it nowhere (its key is in the signature only)."""
    _, _, document, signer = sent
    pdf = pypdf.PdfReader(document.with_suffix(".pdf"))
    text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    digits = signer.replace(" ", "")
    assert signer not in text and digits not in text.replace(" ", "")
    assert "telefonisch oder per Brief" in text
    raw = document.read_text("utf-8")
    assert digits not in raw and signer not in raw
    assert not re.search("fingerabdruck|fingerprint", raw, re.IGNORECASE)
    assert json.loads(raw)["signature"]["sigFormat"] == "application/jose"
