"""The worked handover cases (tests/handover/cases/README.md), each end to end from the CLI
between two installations with separate keyrings and databases, on SQLite, and two of them
on PostgreSQL too (R-HO-1, R-EP-5, R-ABS-1/2/3, R-EP-2)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.handover.cases import fhir
from tests.handover.cases.sites import Site, handover_findings, reports
from tests.storage import BACKENDS

SOMMER = fhir.Doctor("sommer", "3810101", "381010101", "Sommer", "Heike", "1968-02-14")
ROTH = fhir.Doctor("roth", "3820202", "382020201", "Roth", "Lars", "1971-07-30")
WOLFF = fhir.Doctor("wolff", "3800101", "123456701", "Wolff", "Klara", "1970-05-11")
KLINIK = fhir.Doctor("brandt-j", "3880202", "388020201", "Brandt", "Jonas", "1975-01-20")
NEUMANN = fhir.Doctor("neumann", "3830303", "383030301", "Neumann", "Eva", "1980-10-02")


def _treatment(
    folder: Path,
    doctor: fhir.Doctor,
    person: fhir.Person,
    first: date,
    last: date,
    *,
    end: date | None = None,
    onhold: tuple[date, date] | None = None,
    again: tuple[date, date] | None = None,
) -> Path:
    """One installation's export: the doctor, the patient, the episode and daily doses."""
    ep, rq = f"eoc-{person.key}", f"mr-{person.key}"
    doses = fhir.doses(f"ma-{person.key}", person, doctor, links=(ep, rq), days=(first, last))
    if again:
        doses += fhir.doses(f"ma2-{person.key}", person, doctor, links=(ep, rq), days=again)
    resources = [
        fhir.practitioner(doctor),
        fhir.patient(person),
        fhir.episode(ep, person, doctor, first, end=end, onhold=onhold),
        fhir.request(rq, person, doctor, first),
        *doses,
    ]
    return fhir.write_export(folder, resources)


def _olga_to_hospital(
    two: tuple[Site, Site], tmp_path: Path, first: date, day: date
) -> tuple[fhir.Person, Path, str]:
    """Olga Brandt, registered by Dr. Wolff's practice since `first`, handed to the hospital
    on `day` and imported there: her person at the practice, its export, the handover id."""
    practice, hospital = two
    at_a = fhir.Person("p-olga", "Brandt", "Olga", "1977-03-03", "female", "B987654321")
    before = day - timedelta(days=1)
    a = _treatment(tmp_path / "a-data", WOLFF, at_a, first, before)
    registered = [("anmeldung", first.isoformat(), "3800101")]
    assert reports(practice.sync(a, before.isoformat())) == registered
    document, signer = practice.export("Patient/p-olga", "Klinikum St. Georg", day.isoformat())
    handover, _ = _import(hospital, document, signer)
    return at_a, a, handover


def _import(receiver: Site, document: Path, signer: str) -> tuple[str, str]:
    """Import with the fingerprint confirmed: the handover id and what it printed."""
    out = receiver.ok("handover", "import", str(document), "--trust", signer)
    return out.split("Handover ", 1)[1].split(" ", 1)[0], out


@pytest.mark.parametrize("backend", BACKENDS)
def test_jva_to_jva_the_second_jva_registers_after_the_first_deregisters(
    two: tuple[Site, Site], tmp_path: Path
) -> None:
    """JVA Leipzig hands Marcel Winter to JVA Dresden on 2025-05-15. Dresden's Anmeldung is
    held back while Leipzig's registration is open (R-EP-5); Leipzig's finished episode
    gives its Abmeldung (R-EP-2); released, Dresden registers from 05-15 (R-ABS-2)."""
    leipzig, dresden = two
    at_a = fhir.Person("p-4711", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
    at_b = fhir.Person("gef-0815", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
    a = tmp_path / "a-data"
    _treatment(a, SOMMER, at_a, date(2025, 3, 3), date(2025, 5, 14))
    assert reports(leipzig.sync(a, "2025-05-14")) == [("anmeldung", "2025-03-03", "3810101")]
    document, signer = leipzig.export("Patient/p-4711", "JVA Dresden", "2025-05-15")

    b = _treatment(tmp_path / "b-data", ROTH, at_b, date(2025, 5, 15), date(2025, 5, 20))
    handover, out = _import(dresden, document, signer)
    assert "registered by Heike Sommer, BtM 3810101 since 2025-03-03" in out
    assert "Continue as a substitute (Vertretung) up to 2025-06-13" in out
    held = dresden.sync(b, "2025-05-20")
    assert reports(held) == []
    [finding] = handover_findings(held)
    assert finding["severity"] == "warning"
    assert f"handover release {handover}" in finding["message"]

    _treatment(a, SOMMER, at_a, date(2025, 3, 3), date(2025, 5, 14), end=date(2025, 5, 14))
    assert reports(leipzig.sync(a, "2025-05-16")) == [("abmeldung", "2025-05-14", "3810101")]
    dresden.ok("handover", "release", handover, "--on", "2025-05-16")
    after = dresden.sync(b, "2025-05-21")
    assert reports(after) == [("anmeldung", "2025-05-15", "3820202")]
    assert handover_findings(after) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_practice_to_hospital_for_twelve_days_and_back_reports_nothing_new(
    two: tuple[Site, Site], tmp_path: Path
) -> None:
    """Olga Brandt goes from Dr. Wolff's practice to hospital 2025-06-10..06-21 and back.
    The hospital is a substitute for 12 days (R-ABS-3): its reports are held, then waived
    on her return; the practice's onhold absence keeps its registration (no Abmeldung)."""
    practice, hospital = two
    at_a, a, handover = _olga_to_hospital(two, tmp_path, date(2025, 4, 1), date(2025, 6, 10))
    at_b = fhir.Person("fall-2025-0610", "Brandt", "Olga", "1977-03-03", "female", "B987654321")
    b = _treatment(tmp_path / "b-data", KLINIK, at_b, date(2025, 6, 10), date(2025, 6, 21))
    held = hospital.sync(b, "2025-06-12")
    assert reports(held) == []
    assert len(handover_findings(held)) == 1
    hospital.ok("handover", "return", handover, "--on", "2025-06-22")
    after = hospital.sync(b, "2025-07-05")
    assert [(r["kind"], r["origin"]) for r in after["recorded"]] == [
        ("anmeldung", "waived"),
        ("abmeldung", "waived"),
    ]
    assert {f["severity"] for f in handover_findings(after)} == {"info"}
    assert "pending" not in hospital.ok("reports", "list", "--state", "pending")

    onhold = (date(2025, 6, 10), date(2025, 6, 21))
    _treatment(
        a, WOLFF, at_a, date(2025, 4, 1), date(2025, 6, 9), onhold=onhold,
        again=(date(2025, 6, 22), date(2025, 7, 3)),
    )  # fmt: skip
    assert reports(practice.sync(a, "2025-07-03")) == []


def test_release_from_jva_into_a_practice_registers_the_practice_after_the_jva(
    two: tuple[Site, Site], tmp_path: Path
) -> None:
    """Dennis Krüger is released from JVA Leipzig on 2025-02-28 into Dr. Neumann's practice.
    The document states the JVA's registration and the last dose; the practice is held
    until the JVA's Abmeldung (R-EP-2), then registers from its first day (03-01)."""
    jva, practice = two
    at_a = fhir.Person("p-0042", "Krüger", "Dennis", "1992-11-05", "male", "K192837465")
    at_b = fhir.Person("pat-77", "Krüger", "Dennis", "1992-11-05", "male", "K192837465")
    a = _treatment(tmp_path / "a-data", SOMMER, at_a, date(2025, 1, 6), date(2025, 2, 28))
    assert reports(jva.sync(a, "2025-02-28")) == [("anmeldung", "2025-01-06", "3810101")]
    document, signer = jva.export("Patient/p-0042", "Praxis Dr. Neumann", "2025-02-28")
    assert document.with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
    assert '"family": "Krüger"' in document.read_text(encoding="utf-8")

    b = _treatment(tmp_path / "b-data", NEUMANN, at_b, date(2025, 3, 1), date(2025, 3, 3))
    handover, out = _import(practice, document, signer)
    assert "(Levomethadon; Anmeldung pending)" in out
    assert "Current treatment: Levomethadon, last dose 2025-02-28, doses until 2025-02-28." in out
    assert reports(practice.sync(b, "2025-03-01")) == []

    _treatment(a, SOMMER, at_a, date(2025, 1, 6), date(2025, 2, 28), end=date(2025, 2, 28))
    assert reports(jva.sync(a, "2025-03-02")) == [("abmeldung", "2025-02-28", "3810101")]
    practice.ok("handover", "release", handover, "--on", "2025-03-02")
    assert reports(practice.sync(b, "2025-03-03")) == [("anmeldung", "2025-03-01", "3830303")]


def test_a_hold_past_day_30_is_an_error_naming_the_overdue_abmeldung(
    two: tuple[Site, Site], tmp_path: Path
) -> None:
    """Marcel Winter handed over 2025-05-15 stays at JVA Dresden: on day 30 (06-13) the
    hold is a warning; on day 31 an error naming the day, the sender's overdue Abmeldung
    and `handover release` (R-ABS-1, R-ABS-2, R-EP-2, D-202)."""
    leipzig, dresden = two
    at_a = fhir.Person("p-4711", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
    at_b = fhir.Person("gef-0815", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
    _treatment(tmp_path / "a-data", SOMMER, at_a, date(2025, 3, 3), date(2025, 5, 14))
    leipzig.sync(tmp_path / "a-data", "2025-05-14")
    document, signer = leipzig.export("Patient/p-4711", "JVA Dresden", "2025-05-15")
    handover, _ = _import(dresden, document, signer)
    b = _treatment(tmp_path / "b-data", ROTH, at_b, date(2025, 5, 15), date(2025, 6, 13))
    [day30] = handover_findings(dresden.sync(b, "2025-06-13"))
    assert day30["severity"] == "warning"
    _treatment(tmp_path / "b-data", ROTH, at_b, date(2025, 5, 15), date(2025, 6, 14))
    [day31] = handover_findings(dresden.sync(b, "2025-06-14"))
    assert day31["severity"] == "error"
    assert "2025-06-14 is day 31 of handover" in day31["message"]
    assert "Overdue: the sending doctor's Abmeldung" in day31["message"]
    assert f"substreg handover release {handover}" in day31["message"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_abmeldung_not_yet_sent_is_handed_over_as_an_open_registration(
    two: tuple[Site, Site], tmp_path: Path
) -> None:
    """Leipzig's episode ended on 2025-05-14 and its Abmeldung is recorded but pending: the
    register still holds the registration, so the document states it open with the unsent
    Abmeldung (D-256), and Dresden holds its own Anmeldung back (R-EP-5)."""
    leipzig, dresden = two
    at_a = fhir.Person("p-4711", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
    at_b = fhir.Person("gef-0815", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
    end = date(2025, 5, 14)
    a = _treatment(tmp_path / "a-data", SOMMER, at_a, date(2025, 3, 3), end, end=end)
    assert [r[0] for r in reports(leipzig.sync(a, "2025-05-15"))] == ["anmeldung", "abmeldung"]
    out = leipzig.ok(
        "handover", "export", "--patient", "Patient/p-4711", "--to", "JVA Dresden",
        "--on", "2025-05-15", "--out", str(leipzig.root),
    )  # fmt: skip
    assert "no open registration" not in out
    assert "Register status: registered by Heike Sommer, BtM 3810101 since 2025-03-03" in out
    assert "Abmeldung of 2025-05-14 recorded but not yet sent (pending)" in out
    assert "(Anmeldung, R-EP-1)" not in out
    document, signer = leipzig.export("Patient/p-4711", "JVA Dresden", "2025-05-15")

    b = _treatment(tmp_path / "b-data", ROTH, at_b, date(2025, 5, 15), date(2025, 5, 20))
    _, imported = _import(dresden, document, signer)
    assert "registered by Heike Sommer, BtM 3810101 since 2025-03-03" in imported
    held = dresden.sync(b, "2025-05-20")
    assert reports(held) == []
    assert len(handover_findings(held)) == 1


def test_a_return_with_doses_here_after_the_day_back_withholds_the_stay(
    two: tuple[Site, Site], tmp_path: Path
) -> None:
    """Olga Brandt goes to hospital on 2026-01-05; the hospital records her return on 02-03,
    but its data doses her every day up to 03-20. The return cannot waive a stay that did
    not end by the day back, and a lone Abmeldung would name a registration this doctor
    never made: both reports are withheld with an error until a person decides (R-HO-1,
    R-ABS-1, R-ABS-3, D-258), and again on the next sync (never silent)."""
    hospital = two[1]
    _, _, handover = _olga_to_hospital(two, tmp_path, date(2025, 11, 3), date(2026, 1, 5))
    at_b = fhir.Person("fall-2026-0105", "Brandt", "Olga", "1977-03-03", "female", "B987654321")
    b = _treatment(tmp_path / "b-data", KLINIK, at_b, date(2026, 1, 5), date(2026, 3, 20))
    hospital.ok("handover", "return", handover, "--on", "2026-02-03")
    for as_of in ("2026-04-05", "2026-04-06"):
        after = hospital.sync(b, as_of)
        assert after["recorded"] == []
        found = handover_findings(after)
        assert {f["severity"] for f in found} == {"error"}
        assert all(handover in f["message"] for f in found)
        assert any("Abmeldung of 2026-03-20" in f["message"] for f in found)
        assert any("handover release" in f["message"] for f in found)
    assert "pending" not in hospital.ok("reports", "list", "--state", "pending")
