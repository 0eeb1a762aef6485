"""Properties of the date logic over random histories (R-EP-3, R-EP-4, R-EP-5, R-DATE-3)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.domain.model import PatientHistory
from adapter.domain.reports import build_reports
from adapter.domain.walk_state import PhaseOutcome

from .builders import DOC_A, DOC_B, DOCTORS, absence, cover, derive, episode, history
from .test_phases_resume import histories as rich_histories

START = date(2025, 1, 1)
HORIZON = 150  # days of history the strategies draw from

offsets = st.sets(st.integers(min_value=0, max_value=HORIZON), min_size=1, max_size=60)
as_of_offsets = st.integers(min_value=0, max_value=HORIZON + 40)


def _day(offset: int) -> date:
    return START + timedelta(days=offset)


def _single_doctor(
    covered: set[int], contacts: frozenset[int] | set[int] = frozenset(), as_of: int = HORIZON
) -> PhaseOutcome:
    hist = history(*(cover(_day(o)) for o in sorted(covered)), contacts={_day(o) for o in contacts})
    return derive(hist, as_of=_day(as_of))


@st.composite
def mixed_histories(draw: st.DrawFn) -> tuple[PatientHistory, date]:
    """Covers by two doctors, take-homes, contacts and absences, with an as-of day."""
    covers = []
    for n, start in enumerate(sorted(draw(offsets))):
        length = draw(st.sampled_from([1, 1, 1, 3, 7]))
        doc = draw(st.sampled_from([DOC_A, DOC_A, DOC_B]))
        substance = draw(st.sampled_from(["Methadon", "Methadon", "Buprenorphin"]))
        covers.append(
            cover(
                _day(start),
                _day(start + length - 1),
                doctor=doc,
                substance=substance,
                source=f"MedicationAdministration/m{n}",
            )
        )
    contacts = {_day(o) for o in draw(st.sets(st.integers(0, HORIZON), max_size=10))}
    absences = [
        absence(_day(s), _day(s + length - 1) if length else None)
        for s, length in draw(
            st.lists(st.tuples(st.integers(0, HORIZON), st.integers(0, 45)), max_size=2)
        )
    ]
    episodes = [episode(start=START, absences=absences)] if absences else []
    return history(*covers, contacts=contacts, episodes=episodes), _day(draw(as_of_offsets))


@given(offsets, as_of_offsets)
def test_ten_day_abmeldung_is_made_eleven_days_after_its_date(
    covered: set[int], as_of: int
) -> None:
    """R-EP-3: each ten-day Abmeldung is made on date + 11 with no covered day in between."""
    outcome = _single_doctor(covered, as_of=as_of)
    covered_days = {_day(o) for o in covered}
    for ev in outcome.events:
        if ev.rule == "R-EP-3":
            assert ev.made_on == ev.date + timedelta(days=11)
            assert ev.date in covered_days
            assert not any(ev.date < d < ev.made_on for d in covered_days)


@given(offsets, st.sets(st.integers(0, HORIZON), max_size=15), as_of_offsets)
def test_ten_day_abmeldung_has_ten_days_without_cover_or_contact_before_it(
    covered: set[int], contacts: set[int], as_of: int
) -> None:
    """R-EP-3: the ten days before the Abmeldung's made_on hold neither cover nor contact."""
    outcome = _single_doctor(covered, contacts, as_of)
    busy = {_day(o) for o in covered | contacts}
    for ev in outcome.events:
        if ev.rule == "R-EP-3":
            assert not any(ev.made_on - timedelta(days=10) <= d < ev.made_on for d in busy)


@given(offsets, as_of_offsets)
def test_anmeldung_and_abmeldung_alternate(covered: set[int], as_of: int) -> None:
    """R-EP-4: never two Anmeldungen without an Abmeldung between; no Abmeldung first."""
    outcome = _single_doctor(covered, as_of=as_of)
    kinds = [e.kind for e in outcome.events]
    assert kinds[::2] == ["anmeldung"] * len(kinds[::2])
    assert kinds[1::2] == ["abmeldung"] * len(kinds[1::2])


@given(offsets)
def test_gaps_under_ten_days_give_exactly_one_anmeldung(covered: set[int]) -> None:
    """R-EP-3: while no gap reaches ten days the patient is registered once."""
    days = sorted(covered)
    # Close every gap of ten or more empty days by adding a covered day into it.
    filled = set(days)
    for a, b in pairwise(days):
        filled.update(range(a + 10, b, 10))
    outcome = _single_doctor(filled, as_of=HORIZON + 40)
    assert [e.kind for e in outcome.events].count("anmeldung") == 1
    assert outcome.events[0].date == _day(min(filled))


@given(offsets)
def test_every_anmeldung_is_matched_long_after_the_last_cover(covered: set[int]) -> None:
    """R-EP-5: once treatment has stopped for good, nothing stays registered."""
    outcome = _single_doctor(covered, as_of=max(covered) + 11)
    kinds = [e.kind for e in outcome.events]
    assert kinds.count("anmeldung") == kinds.count("abmeldung") >= 1
    assert kinds[-1] == "abmeldung"
    assert outcome.events[-1].date == _day(max(covered))


@given(mixed_histories())
@settings(max_examples=150)
def test_reports_are_never_made_or_dated_after_as_of(case: tuple[PatientHistory, date]) -> None:
    """R-DATE-3: no report is made on or dated after the as-of day."""
    hist, as_of = case
    outcome = derive(hist, as_of=as_of)
    reports, _, _ = build_reports(outcome.events, DOCTORS, as_of=as_of)
    assert all(r.made_on <= as_of and r.date <= as_of for r in reports)


@given(mixed_histories())
@settings(max_examples=150)
def test_events_alternate_per_doctor_in_made_on_order(case: tuple[PatientHistory, date]) -> None:
    """R-EP-4: per patient and doctor, Anmeldung and Abmeldung alternate, starting with one."""
    hist, as_of = case
    outcome = derive(hist, as_of=as_of)
    per_doctor: dict[str | None, list[str]] = defaultdict(list)
    for ev in outcome.events:
        per_doctor[ev.doctor].append(ev.kind)
    for kinds in per_doctor.values():
        assert kinds[::2] == ["anmeldung"] * len(kinds[::2])
        assert kinds[1::2] == ["abmeldung"] * len(kinds[1::2])


@given(mixed_histories())
@settings(max_examples=150)
def test_abmeldung_is_never_made_before_its_date_or_its_anmeldung(
    case: tuple[PatientHistory, date],
) -> None:
    """R-DATE-3, R-EP-4: an Abmeldung is made on or after its date and after its Anmeldung."""
    hist, as_of = case
    outcome = derive(hist, as_of=as_of)
    last_anmeldung: dict[str | None, date] = {}
    for ev in outcome.events:
        if ev.kind == "anmeldung":
            assert ev.made_on >= ev.date
            last_anmeldung[ev.doctor] = ev.made_on
        else:
            assert ev.made_on >= ev.date
            assert ev.made_on >= last_anmeldung[ev.doctor]


@given(mixed_histories())
@settings(max_examples=100)
def test_derivation_is_deterministic(case: tuple[PatientHistory, date]) -> None:
    """REPORTS.md: the same input gives the same events, findings, spans and report ids."""
    hist, as_of = case
    first = derive(hist, as_of=as_of)
    again = derive(hist, as_of=as_of)
    assert first == again
    ids = [r.id for r in build_reports(first.events, DOCTORS, as_of=as_of)[0]]
    assert ids == [r.id for r in build_reports(again.events, DOCTORS, as_of=as_of)[0]]


@settings(max_examples=300, deadline=None)
@given(rich_histories(), st.integers(0, HORIZON + 40))
def test_every_registration_holds_a_day_with_a_drug(
    hist: PatientHistory, as_of_offset: int
) -> None:
    """R-DATE-1/2 (D-32, D-33): from each Anmeldung's date to its Abmeldung's date (or as_of)
    the patient had a drug on some day; an Abmeldung is never dated before its Anmeldung."""
    as_of = _day(as_of_offset)
    covered = {
        c.start + timedelta(days=n)
        for c in hist.covers
        for n in range((c.end - c.start).days + 1)
        if c.start + timedelta(days=n) <= as_of
    }
    open_since: date | None = None
    for event in derive(hist, as_of=as_of).events:
        if event.kind == "anmeldung":
            open_since = event.date
            continue
        assert open_since is not None
        assert event.date >= open_since
        assert any(open_since <= day <= event.date for day in covered)
        open_since = None
    if open_since is not None:
        assert any(open_since <= day <= as_of for day in covered)
