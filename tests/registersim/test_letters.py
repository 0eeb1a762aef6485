"""The simulator's letters on a duplicate (004 §10, D-172): written only to `--letters`,
one to each doctor, each a notice `substreg duplicate import` reads."""

from __future__ import annotations

import stat
from dataclasses import replace
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from adapter.domain.duplicate_notice import parse_notice
from adapter.registersim import create_app
from tests.registersim.helpers import (
    OTHER_DOCTOR,
    Practice,
    batch,
    clock,
    fresh_state,
    headers,
    report,
    sealed,
)

CODE = "HAMÜF284"
JAN5, JAN10 = date(2026, 1, 5), date(2026, 1, 10)


def _duplicate(client: TestClient, state: Path, practice: Practice) -> None:
    """One code registered by the practice's doctor, then by another."""
    for key, item, signer in (
        ("b-1", report("anmeldung", CODE, JAN5), practice.signer),
        ("b-2", report("anmeldung", CODE, JAN10, doctor=OTHER_DOCTOR), practice.stranger),
    ):
        envelope = sealed(batch(key, item), state, signer)
        assert (
            client.post("/submissions", content=envelope, headers=headers(key)).status_code == 200
        )


def test_each_doctor_gets_a_letter_with_the_code_and_the_other_doctor(
    state: Path, tmp_path: Path, practice: Practice
) -> None:
    """Two letters, 0600 in folders per BtM number; each names the other doctor and their
    first use, and reads back as a duplicate notice."""
    letters = tmp_path / "letters"
    _duplicate(TestClient(create_app(state, clock=clock, letters=letters)), state, practice)
    first, second = "3990101", OTHER_DOCTOR.btm_number or ""
    [to_first] = (letters / first).iterdir()
    [to_second] = (letters / second).iterdir()
    assert stat.S_IMODE(to_first.stat().st_mode) == 0o600
    assert stat.S_IMODE((letters / first).stat().st_mode) == 0o700
    one, two = parse_notice(to_first.read_bytes()), parse_notice(to_second.read_bytes())
    assert one.patient_code == two.patient_code == CODE
    assert (one.doctor_btm_number, two.doctor_btm_number) == (first, second)
    assert one.other_doctors[0].btm_number == second and one.other_doctors[0].first_use == JAN10
    assert two.other_doctors[0].btm_number == first and two.other_doctors[0].first_use == JAN5
    assert "Miriam Falkner" in two.other_doctors[0].name
    assert one.reference == two.reference


def test_without_a_letters_folder_no_letter_is_written(
    client: TestClient, state: Path, tmp_path: Path, practice: Practice
) -> None:
    """The default: the code goes nowhere but the receipt's notice, which never names it."""
    _duplicate(client, state, practice)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written
    assert all(CODE.encode() not in p.read_bytes() for p in written)


def test_a_doctor_without_a_name_is_named_so_not_by_the_number_or_the_street(
    state_template: Path, tmp_path: Path, practice: Practice
) -> None:
    """D-251 (review r1 item 11h): the other doctor's reports gave no name. The letter's
    name field says so; the BtM number stands in its own field only (no "Arzt mit BtM-Nr.
    3990202, BtM-Nr. 3990202"), and the street stays in the contact."""
    nameless = replace(OTHER_DOCTOR, family_name=None, given_name=None)
    contacts = {}
    for folder, other in (("street", nameless), ("bare", replace(nameless, address=None))):
        letters = tmp_path / folder
        state = fresh_state(state_template, tmp_path / f"state-{folder}")
        client = TestClient(create_app(state, clock=clock, letters=letters))
        for key, item, signer in (  # the nameless doctor first: the register knows them
            ("b-1", report("anmeldung", CODE, JAN5, doctor=other), practice.stranger),
            ("b-2", report("anmeldung", CODE, JAN10), practice.signer),
        ):
            envelope = sealed(batch(key, item), state, signer)
            client.post("/submissions", content=envelope, headers=headers(key))
        [letter] = (letters / "3990101").iterdir()
        [named] = parse_notice(letter.read_bytes()).other_doctors
        assert named.name == "Name nicht hinterlegt", folder
        assert named.btm_number == "3990202"
        contacts[folder] = named.contact
    assert contacts == {
        "street": "Ringstraße 9, 04103 Leipzig, Tel. 0341 5550202",
        "bare": "Tel. 0341 5550202",
    }
