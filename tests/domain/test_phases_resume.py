"""Resuming a walk gives exactly what walking from the first day gives (incremental sync)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.domain.model import Doctor, PatientHistory
from adapter.domain.phases import derive_phases
from adapter.domain.walk_state import PhaseOutcome

from .builders import (
    CONSULT_1,
    CONSULT_2,
    DOC_A,
    DOC_B,
    DOCTORS,
    RULES,
    absence,
    consultant,
    cover,
    daily,
    doctor,
    doctors,
    episode,
    history,
    name,
    patient,
)

START = date(2025, 1, 1)
HORIZON = 160
FIRST, SECOND = "EpisodeOfCare/e1", "EpisodeOfCare/e2"


def _day(offset: int) -> date:
    return START + timedelta(days=offset)


@st.composite
def histories(draw: st.DrawFn) -> PatientHistory:
    """Covers by two doctors (take-homes, depots, Diamorphin), contacts, absences, a name
    change, consulting doctors, a finished EpisodeOfCare handed over to the next one:
    everything a resumed walk must carry across the cut (held changes, pending switches)."""
    handover = draw(st.one_of(st.none(), st.integers(5, HORIZON)))
    covers = []
    for n, start in enumerate(sorted(draw(st.sets(st.integers(0, HORIZON), max_size=70)))):
        length = draw(st.sampled_from([1, 1, 1, 2, 7, 28]))
        in_first = handover is None or start <= handover
        covers.append(
            cover(
                _day(start),
                _day(start + length - 1),
                doctor=draw(st.sampled_from([DOC_A, DOC_A, DOC_A, DOC_B])),
                substance=draw(st.sampled_from(["Methadon", "Methadon", "Diamorphin"])),
                source=f"MedicationAdministration/m{n}",
                episode=FIRST if in_first else SECOND,
            )
        )
    contacts = {_day(o) for o in draw(st.sets(st.integers(0, HORIZON), max_size=10))}
    absences = [
        absence(_day(s), _day(s + n) if n else None, draw(st.sampled_from(["holiday", "abroad"])))
        for s, n in draw(
            st.lists(st.tuples(st.integers(0, HORIZON), st.integers(0, 45)), max_size=2)
        )
    ]
    names = [name()]
    if draw(st.booleans()):
        married = _day(draw(st.integers(1, HORIZON)))
        names = [name(end=married - timedelta(days=1)), name(family="Schmidt", start=married)]
    spells = [
        consultant(doc, _day(s), None)
        for doc, s in draw(
            st.lists(
                st.tuples(st.sampled_from([CONSULT_1, CONSULT_2]), st.integers(0, HORIZON)),
                max_size=2,
            )
        )
    ]
    episodes = [episode(FIRST, start=START, absences=absences)] if absences else []
    if handover is not None:
        episodes = [
            episode(
                FIRST,
                status="finished",
                start=START,
                end=_day(handover),
                care_manager=DOC_A,
                absences=absences,
            ),
            episode(SECOND, start=_day(handover + 1), care_manager=DOC_B),
        ]
    return history(
        *covers,
        facts=patient("Patient/p1", *names, sex=draw(st.sampled_from(["F", "F", None]))),
        contacts=contacts,
        episodes=episodes,
        consultants=spells,
    )


def _doctors(draw_unqualified: bool, left: int | None) -> dict[str, Doctor]:
    docs = dict(DOCTORS)
    docs[DOC_A] = replace(
        docs[DOC_A],
        qualified=not draw_unqualified,
        role_end=_day(left) if left is not None else None,
    )
    return docs


def _resumed(
    hist: PatientHistory, docs: dict[str, Doctor], cuts: list[date], as_of: date
) -> tuple[list[object], list[object], set[object]]:
    """Walk up to each cut in turn, resuming each time with the covers still reaching on."""
    events: list[object] = []
    spans: list[object] = []
    findings: set[object] = set()
    state = None
    outcome: PhaseOutcome | None = None
    for cut in [*cuts, as_of]:
        part = hist
        if state is not None:
            reaching = tuple(c for c in hist.covers if c.end >= state.next_day)
            part = replace(hist, covers=reaching)
        outcome = derive_phases(part, docs, RULES, as_of=cut, resume=state)
        events.extend(outcome.events)
        spans.extend(outcome.closed_spans)
        findings.update(outcome.findings)
        state = outcome.state
    assert outcome is not None
    return events, spans + outcome.spans[len(outcome.closed_spans) :], findings


@settings(max_examples=300, deadline=None)
@given(
    histories(),
    st.lists(st.integers(0, HORIZON + 30), max_size=4),
    st.integers(0, HORIZON + 40),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, HORIZON)),
)
def test_a_resumed_walk_gives_the_same_events_and_spans(
    hist: PatientHistory,
    cut_offsets: list[int],
    as_of_offset: int,
    unqualified: bool,
    left: int | None,
) -> None:
    """Cutting the walk at any days and resuming gives the events, spans and findings of one
    walk."""
    as_of = _day(as_of_offset)
    cuts = sorted({_day(o) for o in cut_offsets if _day(o) < as_of})
    docs = _doctors(unqualified, left)
    whole = derive_phases(hist, docs, RULES, as_of=as_of)
    events, spans, findings = _resumed(hist, docs, cuts, as_of)
    assert events == whole.events
    assert spans == whole.spans
    assert findings == set(whole.findings)


def test_a_resumed_walk_ends_a_phase_ten_days_after_the_cut() -> None:
    """R-EP-3 fires in the resumed walk though the last covered day lay before the cut."""
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 10)))
    first = derive_phases(hist, DOCTORS, RULES, as_of=date(2025, 3, 15))
    assert [e.kind for e in first.events] == ["anmeldung"]
    assert first.state is not None and first.state.next_day == date(2025, 3, 16)
    later = derive_phases(
        replace(hist, covers=()), DOCTORS, RULES, as_of=date(2025, 3, 31), resume=first.state
    )
    assert [(e.kind, e.date, e.made_on) for e in later.events] == [
        ("abmeldung", date(2025, 3, 10), date(2025, 3, 21))
    ]


def test_a_substitute_run_started_before_the_cut_re_registers_with_its_sources() -> None:
    """R-ABS-2: the Anmeldung on the 31st day names the run's first events across a cut."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 5)),
        *daily(date(2025, 3, 6), date(2025, 4, 20), doctor=DOC_B),
    )
    docs = doctors(doctor(DOC_A, btm_number="1111111"), doctor(DOC_B, btm_number="2222222"))
    whole = derive_phases(hist, docs, RULES, as_of=date(2025, 4, 20))
    events, _, _ = _resumed(hist, docs, [date(2025, 3, 10)], date(2025, 4, 20))
    assert events == whole.events
    assert whole.events[-1].rule == "R-ABS-2"
    assert whole.events[-1].sources == ("MedicationAdministration/2025-03-06-2025-03-06",)


def test_the_walk_state_and_its_snapshot_have_the_same_fields() -> None:
    """Resuming copies the open phase field by field: both classes must name the same ones."""
    from dataclasses import fields

    from adapter.domain.walk_state import OpenPhase, PhaseSnapshot

    assert [f.name for f in fields(OpenPhase)] == [f.name for f in fields(PhaseSnapshot)]
