"""Changes inside a phase: name, Diamorphin, consulting doctor, leaving doctor (R-CHG-1 … 3, 6)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from adapter.domain.model import PatientFacts

from .builders import (
    CODE,
    CONSULT_1,
    CONSULT_2,
    DOC_A,
    DOC_B,
    PATIENT,
    consultant,
    cover,
    daily,
    derive,
    doctor,
    doctors,
    episode,
    history,
    name,
    patient,
    timeline,
)

UNQUALIFIED = doctors(doctor(DOC_A, qualified=False), doctor(CONSULT_1), doctor(CONSULT_2))


def _renamed(family: str, on: date) -> PatientFacts:
    """Hanna von Mühlenstein until the day before `on`, Hanna <family> from `on`."""
    return patient(PATIENT, name(end=on - timedelta(days=1)), name("Hanna", family, start=on))


# -- R-CHG-1: name change ---------------------------------------------------------------


def test_name_change_that_changes_the_code_splits_the_phase() -> None:
    """R-CHG-1: Abmeldung with the old code on the day of the change, Anmeldung the next day."""
    facts = _renamed("Schmidt", date(2025, 3, 10))
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 20)), facts=facts)
    outcome = derive(hist, as_of=date(2025, 3, 20))
    assert [(e.kind, e.made_on, e.date, e.code, e.rule) for e in outcome.events] == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), CODE, "R-EP-1"),
        ("abmeldung", date(2025, 3, 11), date(2025, 3, 10), CODE, "R-CHG-1"),
        ("anmeldung", date(2025, 3, 11), date(2025, 3, 11), "HASCF284", "R-CHG-1"),
    ]
    assert outcome.events[-1].substance == "Methadon"
    assert [(s.start, s.end) for s in outcome.spans] == [
        (date(2025, 3, 1), date(2025, 3, 10)),
        (date(2025, 3, 11), date(2025, 3, 20)),
    ]


def test_abmeldung_after_a_name_change_keeps_the_new_code() -> None:
    """R-CODE-8: the Abmeldung is spelled as the Anmeldung of its phase."""
    facts = _renamed("Schmidt", date(2025, 3, 10))
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 20)), facts=facts)
    outcome = derive(hist, as_of=date(2025, 4, 30))
    assert (outcome.events[-1].kind, outcome.events[-1].code) == ("abmeldung", "HASCF284")


def test_name_change_keeping_the_code_reports_nothing() -> None:
    """R-CHG-1: only a name change that changes the code is reported."""
    facts = _renamed("Mücke", date(2025, 3, 10))  # MÜ as in Mühlenstein
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 20)), facts=facts)
    outcome = derive(hist, as_of=date(2025, 3, 20))
    assert [e.kind for e in outcome.events] == ["anmeldung"]


def test_new_name_on_the_phases_first_day_is_no_name_change() -> None:
    """R-CHG-1 (edge case 9): a new name on a phase's first day is no name change."""
    facts = _renamed("Schmidt", date(2025, 3, 1))
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 20)), facts=facts)
    outcome = derive(hist, as_of=date(2025, 3, 20))
    assert [(e.kind, e.code) for e in outcome.events] == [("anmeldung", "HASCF284")]


def test_new_usual_name_under_an_official_name_is_no_change() -> None:
    """R-CHG-1 (edge case 9): the official name stays in force over a newer usual name."""
    facts = patient(PATIENT, name(), name("Hanna", "Schmidt", use="usual", start=date(2025, 3, 10)))
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 20)), facts=facts)
    assert [e.kind for e in derive(hist, as_of=date(2025, 3, 20)).events] == ["anmeldung"]


def test_name_change_to_an_uncodable_name_does_not_split() -> None:
    """R-CHG-1, R-CODE-1: a new name that gives no code is a finding, not a split."""
    facts = patient(
        PATIENT, name(end=date(2025, 3, 9)), name("H", "Schmidt", start=date(2025, 3, 10))
    )
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 20)), facts=facts)
    outcome = derive(hist, as_of=date(2025, 3, 20))
    assert [e.kind for e in outcome.events] == ["anmeldung"]
    assert [(f.severity, f.rule) for f in outcome.findings] == [("error", "R-CODE-1")]


# -- R-CHG-2: to or from Diamorphin ---------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [("Methadon", "Diamorphin"), ("Diamorphin", "Levomethadon")],
    ids=["to-diamorphin", "from-diamorphin"],
)
def test_change_to_or_from_diamorphin_splits_the_phase(before: str, after: str) -> None:
    """R-CHG-2: Abmeldung on the first day with the new substance, Anmeldung the next day;
    made when the switch is sure (D-33): to Diamorphin on its second day, from Diamorphin
    after a week without it."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 9), substance=before),
        *daily(date(2025, 3, 10), date(2025, 3, 20), substance=after),
    )
    outcome = derive(hist, as_of=date(2025, 3, 20))
    made = date(2025, 3, 11) if after == "Diamorphin" else date(2025, 3, 16)
    assert [(e.kind, e.made_on, e.date, e.substance, e.rule) for e in outcome.events] == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), before, "R-EP-1"),
        ("abmeldung", made, date(2025, 3, 10), None, "R-CHG-2"),
        ("anmeldung", made, date(2025, 3, 11), after, "R-CHG-2"),
    ]
    assert outcome.events[1].sources == ("MedicationAdministration/2025-03-10-2025-03-10",)


def test_other_substance_changes_are_not_reported() -> None:
    """R-SUB-3: a change of substance by the same doctor is not reported."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 9), substance="Methadon"),
        *daily(date(2025, 3, 10), date(2025, 3, 20), substance="Buprenorphin"),
    )
    assert [e.kind for e in derive(hist, as_of=date(2025, 3, 20)).events] == ["anmeldung"]


def test_substitutes_diamorphin_is_no_change_of_the_phase() -> None:
    """R-CHG-2, R-ABS-1: only the phase doctor's own events can change the substance."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 9)),
        *daily(date(2025, 3, 10), date(2025, 3, 20), doctor=DOC_B, substance="Diamorphin"),
    )
    assert [e.kind for e in derive(hist, as_of=date(2025, 3, 20)).events] == ["anmeldung"]


def test_mixed_day_with_diamorphin_and_methadon_is_no_change() -> None:
    """R-CHG-2: the change needs every own event of the day on the other side of Diamorphin."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20)),
        cover(date(2025, 3, 10), substance="Diamorphin", source="MedicationAdministration/dia"),
    )
    assert [e.kind for e in derive(hist, as_of=date(2025, 3, 20)).events] == ["anmeldung"]


def test_switch_on_the_last_day_of_treatment_is_no_pair() -> None:
    """R-CHG-2, R-DATE-1 (D-32): no Anmeldung is dated on a day without a drug; the
    Abmeldung dated with the last covered day ends the registration."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 9)),
        cover(date(2025, 3, 10), substance="Diamorphin"),  # last day of treatment
    )
    outcome = derive(hist, as_of=date(2025, 4, 30))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 3, 21), date(2025, 3, 10), DOC_A, "R-EP-3"),
    ]


def test_name_change_on_the_last_covered_day_is_no_pair() -> None:
    """R-CHG-1, R-DATE-1 (D-32): the phase ends that day under the code it was reported with."""
    facts = _renamed("Schmidt", date(2025, 3, 10))
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 10)), facts=facts)
    outcome = derive(hist, as_of=date(2025, 4, 30))
    assert [(e.kind, e.date, e.code) for e in outcome.events] == [
        ("anmeldung", date(2025, 3, 1), CODE),
        ("abmeldung", date(2025, 3, 10), CODE),
    ]


def test_name_change_in_a_gap_inside_the_phase_is_paired_when_the_drug_resumes() -> None:
    """R-CHG-1 (D-32): the pair keeps its dates D and D + 1, made on the next covered day."""
    facts = _renamed("Schmidt", date(2025, 3, 12))
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 3, 14), date(2025, 3, 20)),
        facts=facts,
    )
    outcome = derive(hist, as_of=date(2025, 3, 20))
    assert [(e.kind, e.made_on, e.date, e.code) for e in outcome.events] == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), CODE),
        ("abmeldung", date(2025, 3, 14), date(2025, 3, 12), CODE),
        ("anmeldung", date(2025, 3, 14), date(2025, 3, 13), "HASCF284"),
    ]


def test_name_change_in_the_tail_waits_across_an_as_of_and_resumes() -> None:
    """D-32: before the drug resumes nothing is due; the pair comes with the next cover."""
    facts = _renamed("Schmidt", date(2025, 3, 12))
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 3, 14), date(2025, 3, 20)),
        facts=facts,
    )
    assert [e.kind for e in derive(hist, as_of=date(2025, 3, 13)).events] == ["anmeldung"]


def test_name_and_diamorphin_change_on_one_day_make_one_pair() -> None:
    """R-CHG-1, R-CHG-2: the Anmeldung dated D + 1 carries the new code and substance."""
    facts = _renamed("Schmidt", date(2025, 3, 10))
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 9)),
        *daily(date(2025, 3, 10), date(2025, 3, 20), substance="Diamorphin"),
        facts=facts,
    )
    outcome = derive(hist, as_of=date(2025, 3, 20))
    assert [(e.kind, e.date, e.code, e.substance, e.rule) for e in outcome.events] == [
        ("anmeldung", date(2025, 3, 1), CODE, "Methadon", "R-EP-1"),
        ("abmeldung", date(2025, 3, 10), CODE, None, "R-CHG-1"),
        ("anmeldung", date(2025, 3, 11), "HASCF284", "Diamorphin", "R-CHG-1"),
    ]


def test_switch_to_diamorphin_while_a_depot_covers_is_dated_with_the_first_diamorphin_day() -> None:
    """R-CHG-2 (D-33): D is the first covered day with Diamorphin, not the depot's end."""
    hist = history(
        cover(date(2025, 3, 1), date(2025, 3, 28), substance="Buprenorphin"),  # monthly depot
        *daily(date(2025, 3, 20), date(2025, 4, 10), substance="Diamorphin"),
    )
    outcome = derive(hist, as_of=date(2025, 4, 10))
    assert [(e.kind, e.made_on, e.date, e.substance) for e in outcome.events] == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), "Buprenorphin"),
        ("abmeldung", date(2025, 3, 21), date(2025, 3, 20), None),
        ("anmeldung", date(2025, 3, 21), date(2025, 3, 21), "Diamorphin"),
    ]


def test_single_diamorphin_dose_under_a_take_home_then_the_old_substance_is_no_switch() -> None:
    """R-CHG-2, R-SUB-3 (D-33): no second Diamorphin day within a week: no switch, said in an
    info finding."""
    hist = history(
        cover(date(2025, 3, 1), date(2025, 3, 7)),  # methadone take-home
        cover(date(2025, 3, 5), substance="Diamorphin", source="MedicationAdministration/dia"),
        cover(date(2025, 3, 8), date(2025, 3, 14)),
    )
    outcome = derive(hist, as_of=date(2025, 3, 14))
    assert [e.kind for e in outcome.events] == ["anmeldung"]
    assert [(f.severity, f.rule, f.sources) for f in outcome.findings] == [
        ("info", "R-CHG-2", (PATIENT, "MedicationAdministration/dia"))
    ]


def test_diamorphin_on_weekdays_and_an_oral_weekend_take_home_is_no_switch() -> None:
    """R-SUB-3 (D-33): the clinic closed at weekends, an oral bridge: one registration."""
    covers = []
    for week in range(6):
        monday = date(2025, 3, 3) + timedelta(days=7 * week)
        covers += daily(monday, monday + timedelta(days=4), substance="Diamorphin")
        covers.append(
            cover(
                monday + timedelta(days=4),
                monday + timedelta(days=6),
                substance="Levomethadon",
                source=f"MedicationDispense/weekend-{week}",
            )
        )
    outcome = derive(history(*covers), as_of=date(2025, 4, 13))
    assert [(e.kind, e.substance) for e in outcome.events] == [("anmeldung", "Diamorphin")]


def test_switch_from_diamorphin_the_same_day_is_dated_that_day() -> None:
    """R-CHG-2 (D-33): the last Diaphin in the morning, the oral drug from the evening; made
    once a week has passed without Diamorphin."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10), substance="Diamorphin"),
        *daily(date(2025, 3, 10), date(2025, 3, 20), substance="Levomethadon"),
    )
    outcome = derive(hist, as_of=date(2025, 3, 20))
    assert [(e.kind, e.made_on, e.date, e.substance) for e in outcome.events] == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), "Diamorphin"),
        ("abmeldung", date(2025, 3, 17), date(2025, 3, 10), None),
        ("anmeldung", date(2025, 3, 17), date(2025, 3, 11), "Levomethadon"),
    ]


# -- R-CHG-3: new consulting doctor -------------------------------------------------------


def test_new_consulting_doctor_splits_the_phase_with_a_remark() -> None:
    """R-CHG-3: Abmeldung on the day of the change, Anmeldung next day 'Konsiliararztwechsel'."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20)),
        consultants=[
            consultant(CONSULT_1, date(2025, 1, 1), date(2025, 3, 9)),
            consultant(CONSULT_2, date(2025, 3, 10)),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=UNQUALIFIED)
    assert [
        (e.kind, e.made_on, e.date, e.consultant, e.remarks, e.rule) for e in outcome.events
    ] == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), CONSULT_1, (), "R-EP-1"),
        ("abmeldung", date(2025, 3, 11), date(2025, 3, 10), None, (), "R-CHG-3"),
        (
            "anmeldung",
            date(2025, 3, 11),
            date(2025, 3, 11),
            CONSULT_2,
            ("Konsiliararztwechsel",),
            "R-CHG-3",
        ),
    ]
    assert outcome.findings == []


def test_overlapping_consultant_spells_latest_start_wins() -> None:
    """R-CHG-3: of two consulting doctors in force, the one that started later counts."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20)),
        consultants=[consultant(CONSULT_1, None), consultant(CONSULT_2, date(2025, 3, 10))],
    )
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=UNQUALIFIED)
    assert [e.consultant for e in outcome.events] == [CONSULT_1, None, CONSULT_2]


def test_same_consultant_with_a_new_period_is_no_change() -> None:
    """R-CHG-3: a renewed period of the same consulting doctor is not a change."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20)),
        consultants=[
            consultant(CONSULT_1, date(2025, 1, 1), date(2025, 3, 9)),
            consultant(CONSULT_1, date(2025, 3, 10)),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=UNQUALIFIED)
    assert [e.kind for e in outcome.events] == ["anmeldung"]


def test_consultant_change_of_a_qualified_doctor_is_not_reported() -> None:
    """R-DOC-2 (edge case 6): a qualified doctor's consulting doctor is not reported."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20)),
        consultants=[
            consultant(CONSULT_1, date(2025, 1, 1)),
            consultant(CONSULT_2, date(2025, 3, 10)),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 3, 20))
    assert [(e.kind, e.consultant) for e in outcome.events] == [("anmeldung", None)]


def test_first_consultant_added_inside_a_phase_is_a_change() -> None:
    """R-CHG-3: a consultant period starting inside a phase is a change of consulting doctor."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20)),
        consultants=[consultant(CONSULT_1, date(2025, 3, 10))],
    )
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=UNQUALIFIED)
    assert [(e.kind, e.consultant, e.rule) for e in outcome.events] == [
        ("anmeldung", None, "R-EP-1"),
        ("abmeldung", None, "R-CHG-3"),
        ("anmeldung", CONSULT_1, "R-CHG-3"),
    ]
    assert [(f.severity, f.rule) for f in outcome.findings] == [("error", "R-DOC-2")]


def test_qualification_acquired_inside_a_phase_stops_consultant_changes() -> None:
    """R-CHG-5: once the doctor is qualified, a consulting doctor change is not reported."""
    docs = doctors(
        doctor(DOC_A, qualified=True, qualified_since=date(2025, 3, 5)),
        doctor(CONSULT_1),
        doctor(CONSULT_2),
    )
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20)),
        consultants=[
            consultant(CONSULT_1, date(2025, 1, 1)),
            consultant(CONSULT_2, date(2025, 3, 10)),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=docs)
    assert [(e.kind, e.consultant) for e in outcome.events] == [("anmeldung", CONSULT_1)]


# -- R-CHG-6: a doctor leaves the practice -----------------------------------------------


def test_leaving_doctor_deregisters_on_the_day_after_leaving() -> None:
    """R-CHG-6: Abmeldung dated the leaver's last covered day, made on H + 1; successor anew."""
    docs = doctors(doctor(DOC_A, role_end=date(2025, 3, 10)), doctor(DOC_B))
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 8)),
        *daily(date(2025, 3, 13), date(2025, 3, 20), doctor=DOC_B),
    )
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=docs)
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 3, 11), date(2025, 3, 8), DOC_A, "R-CHG-6"),
        ("anmeldung", date(2025, 3, 13), date(2025, 3, 13), DOC_B, "R-EP-1"),
    ]


def test_leaving_doctors_abmeldung_is_dated_with_their_own_last_day() -> None:
    """R-CHG-6 (edge case 12): days a substitute covered do not count as the leaver's."""
    docs = doctors(doctor(DOC_A, role_end=date(2025, 3, 10)), doctor(DOC_B))
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 5)),
        *daily(date(2025, 3, 6), date(2025, 3, 10), doctor=DOC_B),
    )
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=docs)
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 3, 11), date(2025, 3, 5), DOC_A, "R-CHG-6"),
    ]


def test_successor_covering_the_day_after_leaving_registers_that_day() -> None:
    """R-CHG-6: on H + 1 the Abmeldung comes first, then the successor's Anmeldung."""
    docs = doctors(
        doctor(DOC_A, role_end=date(2025, 3, 10)),
        doctor(DOC_B),
    )
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10), episode="EpisodeOfCare/e1"),
        *daily(date(2025, 3, 11), date(2025, 3, 20), doctor=DOC_B, episode="EpisodeOfCare/e1"),
        episodes=[episode(start=date(2025, 3, 1), care_manager=DOC_A)],
    )
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=docs)
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 3, 11), date(2025, 3, 10), DOC_A, "R-CHG-6"),
        ("anmeldung", date(2025, 3, 11), date(2025, 3, 11), DOC_B, "R-EP-1"),
    ]


def test_phase_opened_after_the_doctor_left_is_not_closed_again_each_day() -> None:
    """R-CHG-6: data of a doctor who already left gives one phase, not a daily Abmeldung."""
    docs = doctors(doctor(DOC_A, role_end=date(2025, 1, 31)))
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 20)))
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=docs)
    assert [e.kind for e in outcome.events] == ["anmeldung"]


def test_leaving_doctors_take_home_does_not_register_them_again() -> None:
    """R-CHG-6: a doctor who left is never the doctor of a new Anmeldung; the successor is."""
    docs = doctors(doctor(DOC_A, role_end=date(2025, 3, 10)), doctor(DOC_B))
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 7)),
        cover(date(2025, 3, 8), date(2025, 3, 14)),  # take-home by DOC_A reaching past H
        *daily(date(2025, 3, 15), date(2025, 3, 20), doctor=DOC_B),
    )
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=docs)
    anmeldungen = [(e.doctor, e.date) for e in outcome.events if e.kind == "anmeldung"]
    assert anmeldungen == [(DOC_A, date(2025, 3, 1)), (DOC_B, date(2025, 3, 15))]


def test_leaving_doctors_take_home_in_the_successors_phase_starts_no_substitute_run() -> None:
    """R-CHG-6, R-ABS-2: days the leaver's take-home covers never re-register the leaver."""
    docs = doctors(doctor(DOC_A, role_end=date(2025, 3, 10)), doctor(DOC_B))
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        cover(date(2025, 3, 11), doctor=DOC_B),
        cover(date(2025, 3, 12), date(2025, 4, 30)),  # take-home by DOC_A reaching far past H
    )
    outcome = derive(hist, as_of=date(2025, 4, 30), docs=docs)
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 3, 11), date(2025, 3, 10), DOC_A, "R-CHG-6"),
        ("anmeldung", date(2025, 3, 11), date(2025, 3, 11), DOC_B, "R-EP-1"),
    ]


def test_consultant_change_the_day_after_a_name_change_is_reported() -> None:
    """R-CHG-3: the Anmeldung dated D + 1 carries the consulting doctor in force on D + 1."""
    facts = _renamed("Schmidt", date(2025, 3, 10))
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20)),
        facts=facts,
        consultants=[
            consultant(CONSULT_1, date(2025, 1, 1), date(2025, 3, 10)),
            consultant(CONSULT_2, date(2025, 3, 11)),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 3, 20), docs=UNQUALIFIED)
    anmeldungen = [e for e in outcome.events if e.kind == "anmeldung"]
    assert anmeldungen[-1].consultant == CONSULT_2
