"""Detoxification is not substitution, unless it turns into one (R-NOT-1, R-NOT-5)."""

from __future__ import annotations

from datetime import date

import pytest

from adapter.domain.detox import settle_detox
from adapter.domain.model import Episode

from .builders import (
    DOC_A,
    PATIENT,
    cover,
    daily,
    derive,
    episode,
    history,
    name,
    patient,
    timeline,
)

DETOX = "EpisodeOfCare/d"
SUBST = "EpisodeOfCare/s"


def _detox(start: date | None, end: date | None, status: str = "finished") -> Episode:
    return episode(DETOX, kind="detox", status=status, start=start, end=end)


def test_short_detox_is_not_reported() -> None:
    """R-NOT-1: a detox of at most 30 days is not reported, with an info finding."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 30), episode=DETOX),
        episodes=[_detox(date(2025, 3, 1), date(2025, 3, 30))],
    )
    outcome = derive(hist, as_of=date(2025, 6, 30))
    assert outcome.events == []
    assert outcome.spans == []
    [finding] = outcome.findings
    assert (finding.severity, finding.rule) == ("info", "R-NOT-1")
    assert finding.sources == (
        DETOX,
        "MedicationAdministration/2025-03-01-2025-03-01",
        "MedicationAdministration/2025-03-02-2025-03-02",
        "MedicationAdministration/2025-03-03-2025-03-03",
    )


def test_detox_of_31_days_is_reported() -> None:
    """R-NOT-1: a detox longer than 30 days is a substitution and is reported, made on its
    31st day, when that is known (D-4)."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 31), episode=DETOX),
        episodes=[_detox(date(2025, 3, 1), date(2025, 3, 31))],
    )
    outcome = derive(hist, as_of=date(2025, 6, 30))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 31), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 4, 11), date(2025, 3, 31), DOC_A, "R-EP-3"),
    ]
    assert outcome.findings == []


@pytest.mark.parametrize(
    ("as_of", "reported"),
    [(date(2025, 3, 30), False), (date(2025, 3, 31), True)],
    ids=["ongoing-30-days", "ongoing-31-days"],
)
def test_ongoing_detox_counts_its_length_up_to_as_of(as_of: date, reported: bool) -> None:
    """R-NOT-1: an ongoing detox is reported once it has lasted more than 30 days."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 4, 30), episode=DETOX),
        episodes=[_detox(date(2025, 3, 1), None, status="active")],
    )
    outcome = derive(hist, as_of=as_of)
    assert bool(outcome.events) is reported


def test_detox_without_start_is_measured_from_its_first_event() -> None:
    """R-NOT-1: without period.start the detox's length counts from the covered day."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 10), episode=DETOX),
        episodes=[_detox(None, date(2025, 3, 10))],
    )
    assert derive(hist, as_of=date(2025, 6, 30)).events == []


def test_detox_turning_into_substitution_is_reported_from_its_first_day() -> None:
    """R-NOT-5: reported retroactively from the detox's first day, once the substitution starts."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20), episode=DETOX),
        *daily(date(2025, 3, 21), date(2025, 4, 10), episode=SUBST),
        episodes=[
            _detox(date(2025, 3, 1), date(2025, 3, 20)),
            episode(SUBST, start=date(2025, 3, 21)),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 4, 10))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 21), date(2025, 3, 1), DOC_A, "R-EP-1"),
    ]
    assert outcome.findings == []


def test_detox_not_yet_followed_by_substitution_is_withheld() -> None:
    """R-NOT-5, R-DATE-3: before the substitution starts the detox is not reported."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20), episode=DETOX),
        episodes=[
            _detox(date(2025, 3, 1), date(2025, 3, 20)),
            episode(SUBST, start=date(2025, 3, 21)),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 3, 20))
    assert outcome.events == []
    assert [f.rule for f in outcome.findings] == ["R-NOT-1"]


@pytest.mark.parametrize(
    "substitution_start",
    [date(2025, 3, 22), date(2025, 2, 1)],
    ids=["two-days-after-detox", "before-detox"],
)
def test_substitution_not_right_after_the_detox_leaves_the_detox_unreported(
    substitution_start: date,
) -> None:
    """R-NOT-5: only a substitution beginning within a day after the detox continues it."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20), episode=DETOX),
        cover(date(2025, 3, 22), date(2025, 3, 28), episode=SUBST),
        episodes=[
            _detox(date(2025, 3, 1), date(2025, 3, 20)),
            episode(SUBST, start=substitution_start),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 3, 28))
    assert [(e.kind, e.date) for e in outcome.events] == [("anmeldung", date(2025, 3, 22))]
    assert [f.rule for f in outcome.findings] == ["R-NOT-1"]


def test_ongoing_detox_has_no_follower() -> None:
    """R-NOT-5: a detox without an end has not turned into substitution yet."""
    covers = daily(date(2025, 3, 1), date(2025, 3, 5), episode=DETOX)
    episodes = (
        episode(DETOX, kind="detox", status="active", start=date(2025, 3, 1)),
        episode(SUBST, start=date(2025, 3, 2)),
    )
    kept, findings = settle_detox(covers, episodes, as_of=date(2025, 3, 10))
    assert kept == ()
    assert [f.rule for f in findings] == ["R-NOT-1"]


def test_without_detox_episodes_covers_pass_unchanged() -> None:
    """R-NOT-1: without a detox EpisodeOfCare every cover counts."""
    covers = daily(date(2025, 3, 1), date(2025, 3, 3), episode=SUBST)
    assert settle_detox(covers, (episode(SUBST),), as_of=date(2025, 3, 3)) == (covers, [])


def test_covers_outside_the_detox_are_kept_beside_dropped_ones() -> None:
    """R-NOT-1: only the detox's own events are dropped."""
    outside = cover(date(2025, 4, 1), episode=None)
    covers = (*daily(date(2025, 3, 1), date(2025, 3, 2), episode=DETOX), outside)
    kept, findings = settle_detox(
        covers,
        (episode(DETOX, kind="detox", start=date(2025, 3, 1), end=date(2025, 3, 2)),),
        as_of=date(2025, 4, 1),
    )
    assert kept == (outside,)
    assert findings[0].sources[0] == DETOX


def test_detox_follower_marks_covers_reportable_from_its_first_drug() -> None:
    """R-NOT-5: the kept detox events carry the day the substitution's first drug was given,
    and the substance the substitution is carried out with (004 §13.1 example B)."""
    covers = (
        *daily(date(2025, 3, 1), date(2025, 3, 2), episode=DETOX),
        cover(date(2025, 3, 4), substance="Levomethadon", episode=SUBST),
    )
    episodes = (
        episode(DETOX, kind="detox", start=None, end=date(2025, 3, 2)),
        episode(SUBST, start=date(2025, 3, 3)),
        episode("EpisodeOfCare/nostart", start=None),
    )
    kept, findings = settle_detox(covers, episodes, as_of=date(2025, 3, 4))
    assert [(c.reportable_from, c.substance) for c in kept] == [
        (date(2025, 3, 4), "Levomethadon"),
        (date(2025, 3, 4), "Levomethadon"),
        (None, "Levomethadon"),
    ]
    assert findings == []


def test_substitution_episode_without_a_drug_yet_does_not_turn_the_detox() -> None:
    """R-NOT-1/5: until the substitution's first drug, a short detox stays unreported."""
    covers = daily(date(2025, 3, 1), date(2025, 3, 2), episode=DETOX)
    episodes = (
        episode(DETOX, kind="detox", start=date(2025, 3, 1), end=date(2025, 3, 2)),
        episode(SUBST, start=date(2025, 3, 3)),
    )
    kept, findings = settle_detox(covers, episodes, as_of=date(2025, 3, 5))
    assert kept == ()
    assert [(f.severity, f.rule) for f in findings] == [("info", "R-NOT-1")]


def test_substitution_long_after_the_detox_does_not_turn_it() -> None:
    """R-NOT-1, R-NOT-5 (004 §13.1 "unmittelbar anschließend"): a first substitution drug
    more than ten days after the detox's last drug starts a registration of its own."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 3), episode=DETOX),
        *daily(date(2025, 3, 26), date(2025, 3, 30), episode=SUBST),
        episodes=[
            _detox(date(2025, 3, 1), date(2025, 3, 25)),
            episode(SUBST, start=date(2025, 3, 26)),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 3, 30))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 26), date(2025, 3, 26), DOC_A, "R-EP-1"),
    ]
    assert [(f.severity, f.rule) for f in outcome.findings] == [("info", "R-NOT-1")]


def test_change_pair_inside_a_detox_turned_substitution_waits_for_the_substitution() -> None:
    """R-NOT-5, R-CHG-1: the pair is made when the phase becomes known, not on D + 1."""
    facts = patient(
        PATIENT, name(end=date(2025, 3, 9)), name("Hanna", "Schmidt", start=date(2025, 3, 10))
    )
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 20), episode=DETOX),
        *daily(date(2025, 3, 21), date(2025, 3, 25), episode=SUBST),
        facts=facts,
        episodes=[
            _detox(date(2025, 3, 1), date(2025, 3, 20)),
            episode(SUBST, start=date(2025, 3, 21)),
        ],
    )
    outcome = derive(hist, as_of=date(2025, 3, 25))
    assert timeline(outcome) == [
        ("anmeldung", date(2025, 3, 21), date(2025, 3, 1), DOC_A, "R-EP-1"),
        ("abmeldung", date(2025, 3, 21), date(2025, 3, 10), DOC_A, "R-CHG-1"),
        ("anmeldung", date(2025, 3, 21), date(2025, 3, 11), DOC_A, "R-CHG-1"),
    ]
