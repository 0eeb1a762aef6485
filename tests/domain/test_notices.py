"""Notices about a doctor whose register data change during open phases (R-CHG-4, R-CHG-5)."""

from __future__ import annotations

from datetime import date

import pytest

from adapter.domain.model import Address, Doctor, Spell
from adapter.domain.notices import doctor_notices

from .builders import (
    ADDRESS,
    CONSULT_1,
    DOC_A,
    DOC_B,
    consultant,
    daily,
    derive,
    doctor,
    doctors,
    history,
    span,
)

NEW_ADDRESS = Address(("Neue Straße 1",), "44137", "Dortmund")
OPEN = [span(date(2025, 3, 1), date(2025, 3, 31))]


def _phone_from(day: date) -> list[Spell[str]]:
    return [Spell("0231 123456", None, None), Spell("0231 999", day)]


def test_phone_change_during_an_open_phase_is_one_notice() -> None:
    """R-CHG-4: a new phone while the doctor has open phases is a Mitteilung, no Ab-/Anmeldung."""
    docs = doctors(doctor(DOC_A, phones=_phone_from(date(2025, 3, 10))))
    [notice] = doctor_notices(docs, OPEN, as_of=date(2025, 3, 31))
    assert (notice.kind, notice.made_on, notice.date) == (
        "mitteilung",
        date(2025, 3, 10),
        date(2025, 3, 10),
    )
    assert notice.patient_code is None
    assert notice.substance is None
    assert notice.consultant is None
    assert notice.rule == "R-CHG-4"
    assert notice.remarks == ("Neue Telefonnummer ab 10.03.2025: 0231 999",)
    assert notice.doctor.phone == "0231 999"
    assert notice.sources == (DOC_A,)
    assert notice.id.startswith("mit-")


def test_address_and_phone_on_one_day_are_one_notice() -> None:
    """R-CHG-4 (edge case 11): one notice per doctor and day, naming every change."""
    docs = doctors(
        doctor(
            DOC_A,
            addresses=[Spell(ADDRESS), Spell(NEW_ADDRESS, date(2025, 3, 10))],
            phones=_phone_from(date(2025, 3, 10)),
        )
    )
    [notice] = doctor_notices(docs, OPEN, as_of=date(2025, 3, 31))
    assert notice.remarks == (
        "Neue Praxisanschrift ab 10.03.2025: Neue Straße 1, 44137 Dortmund",
        "Neue Telefonnummer ab 10.03.2025: 0231 999",
    )
    assert notice.doctor.address == NEW_ADDRESS


def test_name_change_notice_gives_the_new_name() -> None:
    """R-CHG-4: a doctor's new name is a notice with the name in the remarks."""
    docs = doctors(
        doctor(DOC_A, names=[Spell(("Berger", "Anna")), Spell(("Weiß", "Anna"), date(2025, 3, 10))])
    )
    [notice] = doctor_notices(docs, OPEN, as_of=date(2025, 3, 31))
    assert notice.remarks == ("Neuer Name ab 10.03.2025: Anna Weiß",)
    assert notice.doctor.family_name == "Weiß"


def test_address_without_postal_code_or_city_is_the_street_only() -> None:
    """R-CHG-4: the remark lists the parts of the address that are known."""
    docs = doctors(
        doctor(DOC_A, addresses=[Spell(Address(("Hof 2",), None, None), date(2025, 3, 10))])
    )
    [notice] = doctor_notices(docs, OPEN, as_of=date(2025, 3, 31))
    assert notice.remarks == ("Neue Praxisanschrift ab 10.03.2025: Hof 2",)


def test_changes_on_two_days_are_two_notices() -> None:
    """R-CHG-4: each day with a change gets its own notice, in date order."""
    docs = doctors(
        doctor(
            DOC_A,
            addresses=[Spell(ADDRESS), Spell(NEW_ADDRESS, date(2025, 3, 20))],
            phones=_phone_from(date(2025, 3, 10)),
        )
    )
    notices = doctor_notices(docs, OPEN, as_of=date(2025, 3, 31))
    assert [n.made_on for n in notices] == [date(2025, 3, 10), date(2025, 3, 20)]
    assert len({n.id for n in notices}) == 2


def test_many_open_phases_still_give_one_notice() -> None:
    """R-CHG-4: the notice is per doctor, not per patient."""
    spans = [
        span(date(2025, 3, 1), date(2025, 3, 31), patient_key=f"Patient/p{n}") for n in range(3)
    ]
    docs = doctors(doctor(DOC_A, phones=_phone_from(date(2025, 3, 10))))
    assert len(doctor_notices(docs, spans, as_of=date(2025, 3, 31))) == 1


def test_notices_are_per_doctor() -> None:
    """R-CHG-4: each doctor with open phases gets their own notice."""
    docs = doctors(
        doctor(DOC_A, phones=_phone_from(date(2025, 3, 10))),
        doctor(DOC_B, btm_number="2222222", phones=_phone_from(date(2025, 3, 10))),
    )
    spans = [*OPEN, span(date(2025, 3, 1), date(2025, 3, 31), doctor_key=DOC_B)]
    notices = doctor_notices(docs, spans, as_of=date(2025, 3, 31))
    assert sorted(n.doctor.btm_number or "" for n in notices) == ["1234567", "2222222"]


@pytest.mark.parametrize(
    "change",
    [date(2025, 2, 10), date(2025, 3, 1), date(2025, 4, 1)],
    ids=["before-the-phase", "on-the-phases-first-day", "after-the-phase"],
)
def test_change_outside_an_open_phase_is_no_notice(change: date) -> None:
    """R-CHG-4: only a change while the doctor has an open phase is reported."""
    docs = doctors(doctor(DOC_A, phones=_phone_from(change)))
    assert doctor_notices(docs, OPEN, as_of=date(2025, 6, 30)) == []


def test_change_on_the_abmeldung_date_is_a_notice() -> None:
    """R-CHG-4 (edge case 6): a phase is open up to its Abmeldung's date."""
    docs = doctors(doctor(DOC_A, phones=_phone_from(date(2025, 3, 31))))
    assert len(doctor_notices(docs, OPEN, as_of=date(2025, 6, 30))) == 1


def test_change_after_as_of_waits() -> None:
    """R-DATE-3: a notice dated after as-of is not made yet."""
    docs = doctors(doctor(DOC_A, phones=_phone_from(date(2025, 3, 10))))
    assert doctor_notices(docs, OPEN, as_of=date(2025, 3, 9)) == []


@pytest.mark.parametrize(
    ("docs", "doctor_key"),
    [
        (doctors(doctor(DOC_A, btm_number=None, phones=_phone_from(date(2025, 3, 10)))), DOC_A),
        (doctors(), DOC_A),
        (doctors(doctor(DOC_A, phones=_phone_from(date(2025, 3, 10)))), None),
    ],
    ids=["doctor-without-btm-number", "unknown-doctor", "span-without-doctor"],
)
def test_no_notice_without_a_reportable_doctor(
    docs: dict[str, Doctor], doctor_key: str | None
) -> None:
    """R-DOC-1: without a known doctor with BtM number no notice can be made."""
    spans = [span(date(2025, 3, 1), date(2025, 3, 31), doctor_key=doctor_key)]
    assert doctor_notices(docs, spans, as_of=date(2025, 3, 31)) == []


def test_notice_ids_are_stable() -> None:
    """REPORTS.md: the same input gives the same notice id."""
    docs = doctors(doctor(DOC_A, phones=_phone_from(date(2025, 3, 10))))
    first = doctor_notices(docs, OPEN, as_of=date(2025, 3, 31))
    again = doctor_notices(docs, list(OPEN), as_of=date(2025, 3, 31))
    assert [n.id for n in first] == [n.id for n in again]


def test_notice_from_derived_phases() -> None:
    """R-CHG-4: the phase engine's open spans drive the notices."""
    docs = doctors(doctor(DOC_A, phones=_phone_from(date(2025, 3, 10))))
    outcome = derive(
        history(*daily(date(2025, 3, 1), date(2025, 3, 5))), as_of=date(2025, 4, 30), docs=docs
    )
    # Open 1–5 March only (the Abmeldung's date): a change on 10 March is no notice.
    assert doctor_notices(docs, outcome.spans, as_of=date(2025, 4, 30)) == []
    outcome = derive(
        history(*daily(date(2025, 3, 1), date(2025, 3, 15))), as_of=date(2025, 4, 30), docs=docs
    )
    assert [n.made_on for n in doctor_notices(docs, outcome.spans, as_of=date(2025, 4, 30))] == [
        date(2025, 3, 10)
    ]


# -- R-CHG-5: qualification ------------------------------------------------------------------


def test_qualification_acquired_during_an_open_phase_is_a_notice() -> None:
    """R-CHG-5: 'suchtmedizinische Qualifikation erworben am …' as a notice."""
    docs = doctors(doctor(DOC_A, qualified=True, qualified_since=date(2025, 3, 10)))
    [notice] = doctor_notices(docs, OPEN, as_of=date(2025, 3, 31))
    assert notice.rule == "R-CHG-5"
    assert notice.remarks == ("suchtmedizinische Qualifikation erworben am 10.03.2025",)


def test_qualification_with_a_phone_change_is_one_r_chg_5_notice() -> None:
    """R-CHG-5: one notice per day; the qualification names the rule."""
    docs = doctors(
        doctor(
            DOC_A,
            qualified=True,
            qualified_since=date(2025, 3, 10),
            phones=_phone_from(date(2025, 3, 10)),
        )
    )
    [notice] = doctor_notices(docs, OPEN, as_of=date(2025, 3, 31))
    assert notice.rule == "R-CHG-5"
    assert len(notice.remarks) == 2


def test_qualification_before_the_phase_is_no_notice() -> None:
    """R-CHG-5: a qualification held before the phase is no change."""
    docs = doctors(doctor(DOC_A, qualified=True, qualified_since=date(2020, 1, 1)))
    assert doctor_notices(docs, OPEN, as_of=date(2025, 3, 31)) == []


def test_consulting_doctors_phone_change_during_an_open_phase_is_a_notice() -> None:
    """R-CHG-4: a change of the consulting doctor's phone is a notice as well."""
    docs = doctors(
        doctor(DOC_A, qualified=False),
        doctor(CONSULT_1, btm_number="7777777", phones=_phone_from(date(2025, 3, 10))),
    )
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 31)), consultants=[consultant()])
    outcome = derive(hist, as_of=date(2025, 3, 31), docs=docs)
    notices = doctor_notices(docs, outcome.spans, as_of=date(2025, 3, 31))
    assert [(n.made_on, n.rule) for n in notices] == [(date(2025, 3, 10), "R-CHG-4")]


def test_consulting_doctors_change_names_them_as_the_register_knows_them() -> None:
    """R-CHG-4 (004 §6.2): the substituting doctor's notice names the consultant and the change."""
    docs = doctors(
        doctor(DOC_A, qualified=False),
        doctor(
            CONSULT_1,
            btm_number="7777777",
            names=[Spell(("Kunz", "Karl")), Spell(("Weiß", "Karl"), date(2025, 3, 10))],
        ),
    )
    spans = [span(date(2025, 3, 1), date(2025, 3, 31), consultant_key=CONSULT_1)]
    [notice] = doctor_notices(docs, spans, as_of=date(2025, 3, 31))
    assert notice.remarks == (
        "Konsiliararzt Karl Kunz (BtM-Nr. 7777777): Neuer Name ab 10.03.2025: Karl Weiß",
    )
    assert (notice.doctor.btm_number, notice.consultant, notice.rule) == (
        "1234567",
        None,
        "R-CHG-4",
    )


@pytest.mark.parametrize(
    ("docs", "consultant_key", "rules"),
    [
        (
            doctors(
                doctor(DOC_A, qualified=True, qualified_since=date(2025, 3, 5)),
                doctor(CONSULT_1, phones=_phone_from(date(2025, 3, 10))),
            ),
            CONSULT_1,
            ["R-CHG-5"],
        ),
        (doctors(doctor(DOC_A, qualified=False)), CONSULT_1, []),
        (
            doctors(
                doctor(DOC_A, qualified=False),
                doctor(CONSULT_1, phones=_phone_from(date(2025, 3, 10))),
            ),
            None,
            [],
        ),
    ],
    ids=["after-the-qualification", "unknown-consultant", "not-on-the-anmeldung"],
)
def test_consultant_change_the_register_does_not_hold_is_no_notice(
    docs: dict[str, Doctor], consultant_key: str | None, rules: list[str]
) -> None:
    """R-CHG-4, R-CHG-5: only a consultant the register holds for the open phase is notified."""
    spans = [span(date(2025, 3, 1), date(2025, 3, 31), consultant_key=consultant_key)]
    assert [n.rule for n in doctor_notices(docs, spans, as_of=date(2025, 3, 31))] == rules
