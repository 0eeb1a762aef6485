"""The paper transport (R-CH-1): the register's report form as a PDF, read back with pypdf.

Batches are the demo practice's reports (`derive demo/ --config demo/practice.toml
--as-of 2025-12-31`), one per doctor, and made-up ones where a case needs it.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.domain.batch import Batch
from adapter.domain.bulk import Held, blanket_report, blanket_statement, inventory_reports
from adapter.domain.bulk_deceased import Deceased
from adapter.domain.model import SUBSTANCES, Address, RegisterDoctor, Report
from adapter.errors import PermanentTransportError, TransientTransportError
from adapter.pdf.fonts import find_fonts
from adapter.services import derive
from adapter.settings.practice import load_config
from adapter.transport import paper_form
from adapter.transport.base import Parcel, Transport
from adapter.transport.paper import PaperTransport
from adapter.transport.paper_content import KIND_NAMES
from adapter.transport.paper_form import render_form
from tests.transport.paper_reading import (
    PRINTED_AT,
    batches_by_doctor,
    doctor_texts,
    find_in_order,
    pages,
    placed_texts,
    report_texts,
    squeeze,
)

DEMO = Path(__file__).resolve().parents[2] / "demo"
FALKNER, BRANDT = "3990101", "3990202"
A4_LANDSCAPE_HEIGHT, BODY_BOTTOM = 595.3, 16 / 25.4 * 72  # points; the footer is below 16 mm


@pytest.fixture(scope="module")
def demo() -> dict[str, Batch]:
    """The demo's reports as of 2025-12-31, one batch per doctor."""
    config = load_config(DEMO / "practice.toml")
    derivation = derive([DEMO], as_of=date(2025, 12, 31), config=config)
    return batches_by_doctor(derivation.reports, prefix="b-2026-01-05")


@pytest.fixture
def unicode_font() -> None:
    """Skip where DejaVu Sans is missing (SUBSTREG_PDF_FONT can name it)."""
    if find_fonts() is None:
        pytest.skip("no DejaVu Sans here (set SUBSTREG_PDF_FONT to test the Unicode font)")


def expected(batch: Batch, place: str, day: str) -> list[str]:
    """All a batch's form must show, in order: per version of the doctor's data its block
    and its reports, then place and date."""
    versions: dict[RegisterDoctor, list[Report]] = {}
    for report in batch.reports:
        versions.setdefault(report.doctor, []).append(report)
    texts: list[str] = []
    for doctor, reports in versions.items():
        texts += doctor_texts(doctor)
        for report in reports:
            texts += report_texts(report)
        texts.append(f"{place}, {day}")
    return texts


def clock_from(start: datetime) -> Callable[[], datetime]:
    """A clock that moves on a minute each time it is read."""
    ticks: Iterator[datetime] = (start + timedelta(minutes=n) for n in range(1_000))
    return lambda: next(ticks)


def parcel(batch: Batch) -> Parcel:
    return Parcel(batch_id=batch.batch_id, envelope=b"\x30\x80 sealed", batch=batch)


def many_reports(template: Report, count: int) -> tuple[Report, ...]:
    """`count` reports like `template`, each with its own code, id and days."""
    return tuple(
        dataclasses.replace(
            template,
            id=f"r-{n:04d}",
            patient_code=f"AB{n:03d}MX{n % 10}",
            date=date(2025, 1, 1) + timedelta(days=n),
            made_on=date(2025, 1, 1) + timedelta(days=n + 1),
            remarks=("Konsiliararztwechsel",) if n % 7 == 0 else (),
        )
        for n in range(count)
    )


@pytest.mark.usefixtures("unicode_font")
@pytest.mark.parametrize("btm", [FALKNER, BRANDT], ids=["Falkner", "Brandt"])
def test_every_field_of_the_demo_batches_reads_back_in_order(
    demo: dict[str, Batch], btm: str
) -> None:
    """Doctor block, each report's code, dates, substance, consultant, remarks, made-on day
    and id, then place and date: all read back from the PDF, in order."""
    document = render_form(demo[btm], "Musterstadt", PRINTED_AT)
    text = "\n".join(pages(document))
    find_in_order(text, expected(demo[btm], "Musterstadt", "05.01.2026"))


@pytest.mark.usefixtures("unicode_font")
def test_a_form_holds_nothing_of_another_batch(demo: dict[str, Batch]) -> None:
    """Brandt's form names none of Falkner's reports, nor Falkner, and the reverse."""
    for mine, theirs in ((FALKNER, BRANDT), (BRANDT, FALKNER)):
        text = squeeze("\n".join(pages(render_form(demo[mine], "Musterstadt", PRINTED_AT))))
        other = demo[theirs].reports[0].doctor
        for report in demo[theirs].reports:
            assert report.id not in text
        assert other.family_name not in text
        assert theirs not in text


@pytest.mark.usefixtures("unicode_font")
def test_new_doctor_data_start_a_second_form_with_its_own_block(
    demo: dict[str, Batch],
) -> None:
    """Falkner's phone changed on 01.10.2025: the reports before are on a form with the
    old number, the notice and what follows on a second one with the new number; each
    form has its place, date, stamp and signature fields."""
    text = "\n".join(pages(render_form(demo[FALKNER], "Musterstadt", PRINTED_AT)))
    find_in_order(
        text,
        [
            *("Formular 1 von 2", "01234 567810", "THREM249", "HELIM831", "Arztstempel"),
            *("Formular 2 von 2", "01234 567820", "Mitteilung vom 01.10.2025"),
            *("Neue Telefonnummer ab 01.10.2025: 01234 567820", "OLMÜM522", "Arztstempel"),
        ],
    )
    assert text.count("Unterschrift des Arztes") == 2


@pytest.mark.usefixtures("unicode_font")
def test_the_form_has_the_labels_of_the_official_form(demo: dict[str, Batch]) -> None:
    """The German labels of 004 §4, §6, §7, §9 and the stamp and signature fields."""
    text = squeeze("\n".join(pages(render_form(demo[BRANDT], "Musterstadt", PRINTED_AT))))
    for label in (
        "Meldung an das Substitutionsregister",
        "Angaben zum substituierenden Arzt",
        "BtM-Nummer",
        "Geburtsdatum",
        "Dienstliche Anschrift",
        "Telefon",
        "Patientencode",
        "Datum der ersten Anwendung eines Substitutions-mittels",
        "Datum der letzten Anwendung eines Substitutions-mittels",
        "Substitutionsmittel",
        "Angaben zum Konsiliararzt",
        "Sonstige Anmerkungen des Arztes",
        "Ort, Datum",
        "Arztstempel",
        "Unterschrift des Arztes (im Vertretungsfall mit „i.V.“)",
    ):
        assert squeeze(label) in text, label


def test_every_page_names_the_batch_and_counts_the_pages(demo: dict[str, Batch]) -> None:
    """ "Batch-ID …" and "Seite x von y" on each page."""
    texts = pages(render_form(demo[FALKNER], "Musterstadt", PRINTED_AT))
    assert len(texts) > 1
    for number, text in enumerate(texts, 1):
        assert f"Batch-ID {demo[FALKNER].batch_id}" in text
        assert f"Seite {number} von {len(texts)}" in text


@pytest.mark.usefixtures("unicode_font")
def test_two_hundred_reports_paginate_and_no_line_is_cut(demo: dict[str, Batch]) -> None:
    """200 reports take many pages; each report's whole line is on one page, above the
    footer; the column headings and the doctor are repeated on every further page."""
    template = demo[BRANDT].reports[0]  # an Anmeldung with a consulting doctor
    batch = Batch("b-200", BRANDT, PRINTED_AT, many_reports(template, 200))
    document = render_form(batch, "Musterstadt", PRINTED_AT)
    texts = pages(document)
    assert len(texts) >= 10
    on_page = {}
    for number, report in enumerate(batch.reports, 1):
        [page] = [p for p, text in enumerate(texts) if report.id in text]
        start = squeeze(texts[page]).index(squeeze(f"{number} Anmeldung {report.patient_code}"))
        find_in_order(texts[page], report_texts(report), start)
        on_page[report.id] = page
    assert list(on_page.values()) == sorted(on_page.values())
    for text in texts[1:]:
        assert "(Fortsetzung) – Brandt, Jonas, BtM-Nummer 3990202" in text
        assert "Patientencode" in text
    find_in_order(texts[-1], [batch.reports[-1].id, "Musterstadt, 05.01.2026", "Arztstempel"])
    for placed in placed_texts(document):  # nothing runs into the footer or off the page
        assert all(0 < height < A4_LANDSCAPE_HEIGHT for height, _ in placed)
        low = [text for height, text in placed if height < BODY_BOTTOM]
        assert low and all(text.startswith(("Batch-ID", "Seite")) for text in low), low


@pytest.mark.usefixtures("unicode_font")
def test_a_remark_longer_than_a_page_goes_on_to_the_next(demo: dict[str, Batch]) -> None:
    """The one case a line is continued: its short cells on the first page, every word
    of the remark of pages read back in order over the pages."""
    words = [f"Wort{n}-Änderung" for n in range(900)]
    report = dataclasses.replace(demo[BRANDT].reports[1], remarks=(" ".join(words),))
    texts = pages(render_form(Batch("b-long", BRANDT, PRINTED_AT, (report,)), "X", PRINTED_AT))
    assert len(texts) >= 3
    find_in_order(texts[0], [report.patient_code or "", words[0], report.id])
    find_in_order("\n".join(texts), words)


@pytest.mark.usefixtures("unicode_font")
def test_umlauts_sharp_s_and_particles_print_as_recorded(demo: dict[str, Batch]) -> None:
    """Ä, Ö, Ü, ß and names with particles read back exactly, not only squeezed."""
    doctor = RegisterDoctor(
        btm_number=BRANDT,
        family_name="von Müller-Lüdenscheidt",
        given_name="Jürgen",
        birth_date="1970-05-31",
        address=Address(("Große Straße 5",), "12345", "Köln"),
        phone="0221 1234",
    )
    report = dataclasses.replace(
        demo[BRANDT].reports[0], doctor=doctor, patient_code="JÖMÜM801", remarks=("Weiß, Ärztin",)
    )
    text = "\n".join(
        pages(render_form(Batch("b-u", BRANDT, PRINTED_AT, (report,)), "Köln", PRINTED_AT))
    )
    for exact in ("von Müller-Lüdenscheidt", "Jürgen", "Große Straße 5, 12345 Köln", "JÖMÜM801"):
        assert exact in text
    assert "Weiß, Ärztin" in text
    assert "Köln, 05.01.2026" in text


def test_without_a_unicode_font_umlauts_survive_and_the_rest_is_made_ascii(
    demo: dict[str, Batch], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The core font keeps Latin-1 (Ü, ß) and writes Ł as L."""
    monkeypatch.setattr(paper_form, "find_fonts", lambda: None)
    report = dataclasses.replace(
        demo[BRANDT].reports[0], patient_code="OLMÜM522", remarks=("Łukasz Weiß",)
    )
    text = "\n".join(
        pages(render_form(Batch("b-l", BRANDT, PRINTED_AT, (report,)), "M", PRINTED_AT))
    )
    assert "OLMÜM522" in text
    assert "Lukasz Weiß" in text


def test_the_same_arguments_give_the_same_bytes(demo: dict[str, Batch]) -> None:
    """render_form reads no clock: equal arguments, equal PDFs; another day, another PDF."""
    first = render_form(demo[BRANDT], "Musterstadt", PRINTED_AT)
    assert render_form(demo[BRANDT], "Musterstadt", PRINTED_AT) == first
    assert render_form(demo[BRANDT], "Musterstadt", PRINTED_AT + timedelta(days=1)) != first


def test_the_date_is_the_german_day_of_printing(demo: dict[str, Batch]) -> None:
    """23:30 UTC on 4 January is 5 January in Berlin: the form says 05.01.2026."""
    late = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)
    text = "\n".join(pages(render_form(demo[BRANDT], "Musterstadt", late)))
    assert "Musterstadt, 05.01.2026" in text


def test_a_time_without_zone_is_refused(demo: dict[str, Batch]) -> None:
    """printed_at must say its time zone."""
    with pytest.raises(ValueError, match="time zone"):
        render_form(demo[BRANDT], "M", datetime(2026, 1, 5, 8, 0))


# The transport.


def test_deliver_writes_the_form_and_says_when_it_was_printed(
    demo: dict[str, Batch], tmp_path: Path
) -> None:
    """{folder}/{batch_id}.pdf, mode 0600, the clock's time as `at`, the file name as
    proof, no receipt; the folder is made when missing."""
    folder = tmp_path / "forms" / "out"
    transport: Transport = PaperTransport(folder, place="Musterstadt", clock=lambda: PRINTED_AT)
    delivered = transport.deliver(parcel(demo[BRANDT]))
    path = folder / f"{demo[BRANDT].batch_id}.pdf"
    assert (delivered.at, delivered.receipt, delivered.proof) == (PRINTED_AT, None, path.name)
    assert path.read_bytes() == render_form(demo[BRANDT], "Musterstadt", PRINTED_AT)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert transport.name == "paper"
    assert sorted(p.name for p in folder.iterdir()) == [path.name]


def test_delivering_the_same_batch_again_keeps_the_first_form(
    demo: dict[str, Batch], tmp_path: Path
) -> None:
    """A retry finds the form of the same batch: nothing is written, the first printing
    time is the answer."""
    transport = PaperTransport(tmp_path, place="Musterstadt", clock=clock_from(PRINTED_AT))
    first = transport.deliver(parcel(demo[FALKNER]))
    path = tmp_path / first.proof
    before = path.read_bytes(), path.stat().st_mtime_ns
    again = transport.deliver(parcel(demo[FALKNER]))
    assert again == first
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


@pytest.mark.parametrize(
    "existing",
    ["other batch", "no form"],
    ids=["another batch's form", "a file that is no form"],
)
def test_a_file_of_another_batch_is_refused_and_kept(
    demo: dict[str, Batch], tmp_path: Path, existing: str
) -> None:
    """Under an existing name stands another batch's form (or any other file): refused
    for good, the file left as it was."""
    batch = demo[BRANDT]
    path = tmp_path / f"{batch.batch_id}.pdf"
    if existing == "other batch":
        other = Batch(batch.batch_id, BRANDT, PRINTED_AT, batch.reports[:2])
        path.write_bytes(render_form(other, "Musterstadt", PRINTED_AT))
    else:
        path.write_bytes(b"%PDF-1.4 a letter to the register\n%%EOF\n")
    before = path.read_bytes()
    transport = PaperTransport(tmp_path, place="Musterstadt", clock=lambda: PRINTED_AT)
    with pytest.raises(PermanentTransportError, match="holds another batch") as refused:
        transport.deliver(parcel(batch))
    assert path.read_bytes() == before
    assert batch.reports[0].patient_code not in str(refused.value)


def test_a_parcel_whose_batch_has_another_id_is_refused(
    demo: dict[str, Batch], tmp_path: Path
) -> None:
    """The file name is the parcel's id: a batch of another id is not printed under it."""
    transport = PaperTransport(tmp_path, place="M", clock=lambda: PRINTED_AT)
    mixed = Parcel(batch_id="b-other", envelope=b"", batch=demo[BRANDT])
    with pytest.raises(PermanentTransportError):
        transport.deliver(mixed)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("step", ["fsync", "replace"], ids=["fsync fails", "rename fails"])
def test_a_failed_write_leaves_no_file_and_can_be_retried(
    demo: dict[str, Batch], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """Disk full while writing: a transient error, neither the form nor its temporary
    file in the folder; the next attempt writes the form."""
    real = getattr(os, step)

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, step, full)
    transport = PaperTransport(tmp_path, place="M", clock=lambda: PRINTED_AT)
    with pytest.raises(TransientTransportError, match="No space left on device") as failed:
        transport.deliver(parcel(demo[BRANDT]))
    assert list(tmp_path.iterdir()) == []
    assert "MAVOM407" not in str(failed.value)
    monkeypatch.setattr(os, step, real)
    delivered = transport.deliver(parcel(demo[BRANDT]))
    assert [p.name for p in tmp_path.iterdir()] == [delivered.proof]


# Generated reports: names with particles and umlauts, remarks of any length up to a
# third of a page, every kind of report.

_LETTERS = "abcdefghijklmnopqrstuvwxyzäöüßéçñłżABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜŁ"
_TEXT = _LETTERS + "0123456789 .,;:-/()'\"&%!?§"
_PARTICLES = ("", "von ", "van de ", "zu ", "de ", "von der ", "Dr. ")
_name = st.builds(
    lambda particle, name: particle + name,
    st.sampled_from(_PARTICLES),
    st.text(_LETTERS, min_size=1, max_size=24),
)
_address = st.builds(
    Address,
    st.lists(st.text(_TEXT, min_size=1, max_size=40), min_size=1, max_size=2).map(tuple),
    st.from_regex(r"[0-9]{5}", fullmatch=True),
    st.text(_LETTERS + " -", min_size=1, max_size=30),
)
_phone = st.from_regex(r"0[1-9][0-9]{2,4} [0-9]{4,8}", fullmatch=True)


def _doctor(btm: st.SearchStrategy[str | None]) -> st.SearchStrategy[RegisterDoctor]:
    return st.builds(
        RegisterDoctor,
        btm_number=btm,
        family_name=_name,
        given_name=_name,
        birth_date=st.dates(date(1940, 1, 1), date(2000, 12, 31)).map(date.isoformat),
        address=st.one_of(st.none(), _address),
        phone=st.one_of(st.none(), _phone),
    )


@st.composite
def _reports(draw: st.DrawFn) -> tuple[Report, ...]:
    doctor = draw(_doctor(st.just(BRANDT)))
    count = draw(st.integers(1, 5))
    reports = []
    for number in range(count):
        kind = draw(st.sampled_from(list(KIND_NAMES)))
        coded = kind in ("anmeldung", "abmeldung", "inventur")
        day = draw(st.dates(date(2020, 1, 1), date(2026, 12, 31)))
        reports.append(
            Report(
                kind=kind,
                made_on=day + timedelta(days=draw(st.integers(0, 30))),
                date=day,
                patient_code=draw(st.text(_LETTERS[:26].upper() + "ÄÖÜß", min_size=8, max_size=8))
                if coded
                else None,
                substance=draw(st.sampled_from(SUBSTANCES))
                if kind in ("anmeldung", "inventur")
                else None,
                doctor=doctor,
                consultant=draw(st.one_of(st.none(), _doctor(st.one_of(st.none(), _phone))))
                if kind == "anmeldung"
                else None,
                remarks=tuple(draw(st.lists(st.text(_TEXT, max_size=300), max_size=2))),
                rule="R-EP-1",
                sources=(),
                id=f"r-{number}",
            )
        )
    return tuple(reports)


@pytest.mark.usefixtures("unicode_font")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports=_reports(), place=st.text(_LETTERS + " -", max_size=30))
def test_any_batch_renders_and_every_field_reads_back(
    reports: tuple[Report, ...], place: str
) -> None:
    """Whatever the names, particles, umlauts and remarks: the form is made, and every
    field of every report reads back in order."""
    batch = Batch("b-gen", BRANDT, PRINTED_AT, reports)
    text = "\n".join(pages(render_form(batch, place, PRINTED_AT)))
    find_in_order(text, expected(batch, place, "05.01.2026"))


@pytest.mark.usefixtures("unicode_font")
def test_the_bulk_reports_print_their_marking_and_the_statement_once() -> None:
    """R-INV-1: "Inventur-Meldung zum Stichtag" with the key date and the first use;
    R-PAU-1: the signed statement once, its date under the last use."""
    doctor = RegisterDoctor(BRANDT, "Brandt", "Jonas", "1969-03-11", None, "0341 5550202")
    anmeldung = Report(
        "anmeldung", date(2025, 3, 1), date(2025, 3, 1), "HAMÜF284", "Methadon", doctor,
        None, (), "R-EP-1", (), "anm-1",
    )  # fmt: skip
    held = Held("m1", "l1", date(2025, 3, 1), anmeldung)
    [stock] = [p.report for p in inventory_reports([held], doctor, date(2025, 6, 1))]
    blanket = blanket_report(doctor, date(2025, 6, 15), made_on=date(2025, 6, 16)).report
    batch = Batch("b-bulk", BRANDT, PRINTED_AT, (stock, blanket))
    text = "\n".join(pages(render_form(batch, "Musterstadt", PRINTED_AT)))
    inventur = ["Inventur-Meldung zum Stichtag 01.06.2025", "HAMÜF284", "01.03.2025", "Methadon"]
    find_in_order(
        text, [*inventur, "Pauschalabmeldung", "15.06.2025", blanket_statement(date(2025, 6, 15))]
    )
    assert squeeze(text).count(squeeze("habe ich alle von mir")) == 1


@pytest.mark.usefixtures("unicode_font")
def test_a_deceased_doctor_s_blanket_prints_its_statement_and_who_signs() -> None:
    """D-197: the statement with the date of death and the successor's declaration, never
    the first-person sentence of the doctor's own blanket deregistration (004 §3.7)."""
    doctor = RegisterDoctor(BRANDT, "Brandt", "Jonas", "1969-03-11", None, "0341 5550202")
    died = date(2025, 6, 15)
    deceased = Deceased(died, "Dr. Lea Winter", "successor", successor_btm="3990303")
    blanket = blanket_report(doctor, died, made_on=date(2025, 6, 20), deceased=deceased).report
    text = "\n".join(
        pages(
            render_form(Batch("b-dead", BRANDT, PRINTED_AT, (blanket,)), "Musterstadt", PRINTED_AT)
        )
    )
    find_in_order(text, ["Pauschalabmeldung", "15.06.2025", *blanket.remarks])
    assert "habe ich alle von mir" not in squeeze(text)
