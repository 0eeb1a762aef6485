"""Start and end of a treatment phase (R-EP-1 … R-EP-5, R-DATE-1 … 3)."""

from __future__ import annotations

from datetime import date

import pytest

from .builders import (
    CODE,
    DOC_A,
    DOC_B,
    PATIENT,
    cover,
    daily,
    derive,
    doctor,
    doctors,
    episode,
    history,
    span,
    timeline,
)


def test_no_covered_day_gives_no_event_and_no_open_span() -> None:
    """R-EP-1: a patient without any covered day is never registered."""
    outcome = derive(history(), as_of=date(2025, 6, 30))
    assert outcome.events == []
    assert outcome.spans == []
    assert outcome.findings == []


def test_first_covered_day_is_the_anmeldung_made_that_day() -> None:
    """R-EP-1, R-DATE-1: the Anmeldung is dated and made on the first covered day."""
    outcome = derive(history(*daily(date(2025, 3, 3), date(2025, 3, 20))), as_of=date(2025, 3, 20))
    assert len(outcome.events) == 1
    anmeldung = outcome.events[0]
    assert anmeldung.kind == "anmeldung"
    assert anmeldung.made_on == date(2025, 3, 3)
    assert anmeldung.date == date(2025, 3, 3)
    assert anmeldung.code == CODE
    assert anmeldung.doctor == DOC_A
    assert anmeldung.substance == "Methadon"
    assert anmeldung.consultant is None  # DOC_A is qualified
    assert anmeldung.rule == "R-EP-1"
    assert anmeldung.sources == ("MedicationAdministration/2025-03-03-2025-03-03",)
    assert anmeldung.patient == PATIENT


def test_open_phase_is_an_open_span_up_to_as_of() -> None:
    """R-EP-5: a phase not yet ended stays registered (open) up to the as-of day."""
    outcome = derive(history(*daily(date(2025, 3, 3), date(2025, 3, 20))), as_of=date(2025, 3, 25))
    assert outcome.spans == [span(date(2025, 3, 3), date(2025, 3, 25))]


def test_take_home_reach_is_covered_up_to_its_last_day() -> None:
    """R-DATE-2: a take-home for 1–7 March makes 7 March the last-use date."""
    outcome = derive(history(cover(date(2025, 3, 1), date(2025, 3, 7))), as_of=date(2025, 4, 30))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 3, 18), date(2025, 3, 7), DOC_A, "R-EP-3"),
    ]


@pytest.mark.parametrize(
    ("as_of", "expected_kinds"),
    [
        (date(2025, 2, 28), []),
        (date(2025, 3, 1), ["anmeldung"]),
    ],
    ids=["as-of-before-first-cover", "as-of-on-first-cover"],
)
def test_nothing_is_derived_from_days_after_as_of(as_of: date, expected_kinds: list[str]) -> None:
    """R-DATE-3: a covered day after the as-of day is ignored."""
    outcome = derive(history(cover(date(2025, 3, 1), date(2025, 3, 30))), as_of=as_of)
    assert [e.kind for e in outcome.events] == expected_kinds


def test_cover_reaching_past_as_of_keeps_the_phase_open() -> None:
    """R-DATE-3: a take-home reaching beyond as-of does not end the phase at as-of."""
    outcome = derive(history(cover(date(2025, 3, 1), date(2025, 4, 30))), as_of=date(2025, 3, 31))
    assert [e.kind for e in outcome.events] == ["anmeldung"]
    assert outcome.spans == [span(date(2025, 3, 1), date(2025, 3, 31))]


# -- R-EP-3: ten days without cover, contact or reason --------------------------------


def test_ten_empty_days_end_the_phase_on_the_eleventh_day() -> None:
    """R-EP-3: ten full days without cover or contact end the phase on the 11th day."""
    outcome = derive(history(*daily(date(2025, 3, 1), date(2025, 3, 10))), as_of=date(2025, 4, 30))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 3, 21), date(2025, 3, 10), DOC_A, "R-EP-3"),
    ]
    assert outcome.events[1].code == CODE
    assert outcome.events[1].substance is None
    assert outcome.events[1].consultant is None
    assert outcome.spans == [span(date(2025, 3, 1), date(2025, 3, 10))]


def test_abmeldung_sources_are_the_last_covered_days_events() -> None:
    """R-EP-3: the Abmeldung rests on the event of the last covered day."""
    outcome = derive(history(*daily(date(2025, 3, 1), date(2025, 3, 3))), as_of=date(2025, 4, 30))
    assert outcome.events[-1].sources == ("MedicationAdministration/2025-03-03-2025-03-03",)


@pytest.mark.parametrize(
    ("next_cover", "expected"),
    [
        (
            date(2025, 3, 20),  # 9 empty days (11–19 March)
            [("anmeldung", date(2025, 3, 1), date(2025, 3, 1))],
        ),
        (
            date(2025, 3, 21),  # 10 empty days (11–20 March)
            [
                ("anmeldung", date(2025, 3, 1), date(2025, 3, 1)),
                ("abmeldung", date(2025, 3, 21), date(2025, 3, 10)),
                ("anmeldung", date(2025, 3, 21), date(2025, 3, 21)),
            ],
        ),
    ],
    ids=["nine-empty-days-keep-the-phase", "ten-empty-days-start-a-new-phase"],
)
def test_gap_of_ten_days_is_the_limit(
    next_cover: date, expected: list[tuple[str, date, date]]
) -> None:
    """R-EP-3: nine empty days keep the phase; the tenth ends it, a later cover re-registers."""
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 10)), cover(next_cover))
    outcome = derive(hist, as_of=date(2025, 3, 25))
    assert [(e.kind, e.made_on, e.date) for e in outcome.events] == expected


def test_abmeldung_due_after_as_of_is_made_on_the_eleventh_day() -> None:
    """R-EP-3, R-DATE-3: with as-of on the 10th empty day the Abmeldung falls due the next day."""
    outcome = derive(history(*daily(date(2025, 3, 1), date(2025, 3, 10))), as_of=date(2025, 3, 20))
    assert [(e.kind, e.made_on) for e in outcome.events] == [
        ("anmeldung", date(2025, 3, 1)),
        ("abmeldung", date(2025, 3, 21)),
    ]


def test_contact_resets_the_ten_days() -> None:
    """R-EP-3: a consultation is a reason; the ten days count again from the day after it."""
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 10)), contacts=[date(2025, 3, 15)])
    outcome = derive(hist, as_of=date(2025, 4, 30))
    assert timeline(outcome)[-1] == (
        "abmeldung",
        date(2025, 3, 26),
        date(2025, 3, 10),  # a contact is not a covered day: the last-use date stays
        DOC_A,
        "R-EP-3",
    )


def test_contact_outside_a_phase_opens_nothing() -> None:
    """R-EP-1: a contact without a substitution drug is not a phase start."""
    hist = history(cover(date(2025, 3, 10)), contacts=[date(2025, 3, 1)])
    outcome = derive(hist, as_of=date(2025, 3, 10))
    assert [(e.kind, e.date) for e in outcome.events] == [("anmeldung", date(2025, 3, 10))]


# -- R-EP-2: the registering doctor deregisters; finished EpisodeOfCare ---------------


def test_care_manager_is_the_phase_doctor_over_the_prescriber() -> None:
    """R-EP-2: with a substitution EpisodeOfCare the careManager is the substituting doctor."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 5), doctor=DOC_B, episode="EpisodeOfCare/e1"),
        episodes=[episode(start=date(2025, 3, 1), care_manager=DOC_A)],
    )
    outcome = derive(hist, as_of=date(2025, 4, 30))
    assert {e.doctor for e in outcome.events} == {DOC_A}


def test_episode_by_period_gives_the_care_manager_for_an_unlinked_event() -> None:
    """R-EP-2: an event not linked to the episode still falls under the episode covering its day."""
    hist = history(
        cover(date(2025, 3, 1), doctor=DOC_B),
        episodes=[
            episode("EpisodeOfCare/old", start=date(2024, 1, 1), end=date(2024, 12, 31)),
            episode(start=date(2025, 2, 1), end=None, care_manager=DOC_A),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 3, 1))
    assert outcome.events[0].doctor == DOC_A


def test_episode_without_start_covers_every_day_up_to_its_end() -> None:
    """R-EP-2: an EpisodeOfCare without period.start applies to all days up to its end."""
    hist = history(
        cover(date(2025, 3, 1), doctor=DOC_B),
        episodes=[episode(start=None, end=date(2025, 12, 31), care_manager=DOC_A)],
    )
    assert derive(hist, as_of=date(2025, 3, 1)).events[0].doctor == DOC_A


def test_without_episode_the_first_events_prescriber_is_the_phase_doctor() -> None:
    """R-EP-1: without an EpisodeOfCare the requester of the first event is the doctor."""
    hist = history(
        cover(date(2025, 3, 1), doctor=None, source="MedicationAdministration/x"),
        cover(date(2025, 3, 1), doctor=DOC_B, source="MedicationAdministration/y"),
    )
    outcome = derive(hist, as_of=date(2025, 3, 1))
    assert outcome.events[0].doctor == DOC_B


def test_phase_without_any_doctor_has_no_doctor_and_no_consultant_finding() -> None:
    """R-EP-1: with no prescriber the event carries no doctor (build_reports makes the error)."""
    outcome = derive(history(cover(date(2025, 3, 1), doctor=None)), as_of=date(2025, 3, 1))
    assert outcome.events[0].doctor is None
    assert outcome.findings == []


@pytest.mark.parametrize(
    ("episode_end", "last_cover", "made_on"),
    [
        (date(2025, 3, 15), date(2025, 3, 10), date(2025, 3, 16)),
        (date(2025, 3, 5), date(2025, 3, 10), date(2025, 3, 11)),
    ],
    ids=["period-end-after-last-cover", "last-cover-after-period-end"],
)
def test_finished_episode_is_deregistered_the_day_after_the_later_end(
    episode_end: date, last_cover: date, made_on: date
) -> None:
    """R-EP-2: a finished EpisodeOfCare is deregistered the day after the later of end and cover."""
    hist = history(
        *daily(date(2025, 3, 1), last_cover, episode="EpisodeOfCare/e1"),
        episodes=[episode(status="finished", start=date(2025, 3, 1), end=episode_end)],
    )
    outcome = derive(hist, as_of=date(2025, 4, 30))
    assert timeline(outcome)[-1] == ("abmeldung", made_on, last_cover, DOC_A, "R-EP-2")


def test_finished_episode_without_end_leaves_the_ten_day_rule() -> None:
    """R-EP-2, R-EP-3: a finished episode without period.end ends by the ten-day rule."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10), episode="EpisodeOfCare/e1"),
        episodes=[episode(status="finished", start=date(2025, 3, 1), end=None)],
    )
    outcome = derive(hist, as_of=date(2025, 4, 30))
    assert timeline(outcome)[-1][4] == "R-EP-3"


def test_other_finished_episode_does_not_end_the_phase() -> None:
    """R-EP-2: only the phase's own EpisodeOfCare ends it when finished."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10), episode="EpisodeOfCare/e1"),
        episodes=[
            episode(start=date(2025, 3, 1)),
            episode("EpisodeOfCare/other", status="finished", start=None, end=date(2025, 3, 5)),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 4, 30))
    assert timeline(outcome)[-1] == (
        "abmeldung",
        date(2025, 3, 21),
        date(2025, 3, 10),
        DOC_A,
        "R-EP-3",
    )


def test_abmeldung_is_by_the_registering_doctor_after_a_short_substitute_run() -> None:
    """R-EP-2: the doctor who registered deregisters, even if a substitute treated last."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10)),
        *daily(date(2025, 3, 11), date(2025, 3, 20), doctor=DOC_B),
    )
    outcome = derive(hist, as_of=date(2025, 4, 30))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 3, 31), date(2025, 3, 20), DOC_A, "R-EP-3"),
    ]


# -- R-EP-4 / R-EP-5 -------------------------------------------------------------------


def test_two_phases_alternate_anmeldung_and_abmeldung() -> None:
    """R-EP-4: a second Anmeldung by the same doctor comes only after an Abmeldung."""
    hist = history(
        *daily(date(2025, 1, 1), date(2025, 1, 5)),
        *daily(date(2025, 2, 1), date(2025, 2, 5)),
        *daily(date(2025, 3, 1), date(2025, 3, 5)),
    )
    outcome = derive(hist, as_of=date(2025, 6, 30))
    assert [e.kind for e in outcome.events] == ["anmeldung", "abmeldung"] * 3
    assert [e.date for e in outcome.events] == [
        date(2025, 1, 1),
        date(2025, 1, 5),
        date(2025, 2, 1),
        date(2025, 2, 5),
        date(2025, 3, 1),
        date(2025, 3, 5),
    ]


def test_every_anmeldung_is_matched_once_the_treatment_has_stopped() -> None:
    """R-EP-5: nothing stays registered by mistake after treatment ends."""
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 5)), cover(date(2025, 3, 30)))
    outcome = derive(hist, as_of=date(2025, 12, 31))
    kinds = [e.kind for e in outcome.events]
    assert kinds.count("anmeldung") == kinds.count("abmeldung") == 2
    assert [s.end for s in outcome.spans] == [date(2025, 3, 5), date(2025, 3, 30)]


def test_unqualified_doctor_prescribing_diamorphin_is_warned() -> None:
    """R-DOC-2: a doctor without addiction qualification may not treat with Diamorphin."""
    docs = doctors(doctor(DOC_A, qualified=False))
    hist = history(cover(date(2025, 3, 1), substance="Diamorphin"))
    outcome = derive(hist, as_of=date(2025, 3, 1), docs=docs)
    rules = [(f.severity, f.rule) for f in outcome.findings]
    assert ("warning", "R-DOC-2") in rules
    warning = next(f for f in outcome.findings if f.severity == "warning")
    assert "Diamorphin" in warning.message
    assert warning.sources == (DOC_A, PATIENT)


def test_qualified_doctor_prescribing_diamorphin_is_not_warned() -> None:
    """R-DOC-2: a qualified doctor may treat with Diamorphin."""
    hist = history(cover(date(2025, 3, 1), substance="Diamorphin"))
    assert derive(hist, as_of=date(2025, 3, 1)).findings == []


def test_unknown_doctor_counts_as_unqualified() -> None:
    """R-DOC-2: a doctor the practice knows nothing about is not assumed qualified."""
    hist = history(cover(date(2025, 3, 1), doctor="Practitioner/unknown"))
    outcome = derive(hist, as_of=date(2025, 3, 1))
    assert [(f.severity, f.rule) for f in outcome.findings] == [("error", "R-DOC-2")]
