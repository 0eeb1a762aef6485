"""A switch to or from Diamorphin, as the walk meets it day by day (R-CHG-2, D-33).

D is the first covered day with the new substance (INPUT.md "Changes inside a phase"),
even while a depot, a take-home or the morning's dose of the old one still covers. Whether
the treatment goes on with the new substance is only known later:
- to Diamorphin: a second day with Diamorphin confirms the switch; a week without one
  cancels it (a single dose, said in a finding);
- from Diamorphin: a week without any Diamorphin confirms it; another Diamorphin dose
  cancels it, so an oral drug for nights and weekends beside a diamorphine treatment is no
  switch (R-SUB-3).
The state lives in the open phase (`switch_*`, `dia_last`), so that a resumed walk goes on
where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapter.domain.model import DIAMORPHIN, Cover, Finding
from adapter.domain.walk_state import OpenPhase

SWITCH_DAYS = 7  # D-33: a week without the old substance (or the new one) decides a switch


@dataclass(frozen=True, slots=True)
class Switched:
    """A confirmed switch: Abmeldung on `day`, Anmeldung on `following` (the first covered
    day after it)."""

    day: date
    following: date


def track_switch(
    phase: OpenPhase, day: date, own: list[Cover], patient: str
) -> tuple[Switched | None, Finding | None]:
    """Today's part in a switch of the phase's substance (R-CHG-2): a confirmed switch, and
    a finding when a single Diamorphin dose turned out to be no switch."""
    if phase.switch_day is not None and phase.switch_next is None and day > phase.switch_day:
        phase.switch_next = day
    if not own:
        return None, None
    starting = [c for c in own if c.start == day]
    if phase.substance == DIAMORPHIN:
        return _from_diamorphin(phase, day, own, starting), None
    return _to_diamorphin(phase, day, own, starting, patient)


def _from_diamorphin(
    phase: OpenPhase, day: date, own: list[Cover], starting: list[Cover]
) -> Switched | None:
    if any(c.substance == DIAMORPHIN for c in starting):
        phase.dia_last, phase.switch_day, phase.switch_next = day, None, None
    others = [c for c in starting if c.substance != DIAMORPHIN] or [
        c for c in own if c.substance != DIAMORPHIN
    ]
    if (
        phase.switch_day is None
        and others
        and (len(others) == len(own) or any(c.start == day for c in others))
    ):
        _hold(phase, day, others)
    last = phase.dia_last or phase.start
    if phase.switch_day is not None and (day - last).days >= SWITCH_DAYS:
        return _confirm(phase)
    return None


def _to_diamorphin(
    phase: OpenPhase, day: date, own: list[Cover], starting: list[Cover], patient: str
) -> tuple[Switched | None, Finding | None]:
    given = [c for c in starting if c.substance == DIAMORPHIN] or (
        own if all(c.substance == DIAMORPHIN for c in own) else []
    )
    finding = None
    switch_day = phase.switch_day
    if switch_day is not None:
        if day > switch_day and given:
            phase.dia_last = day
            return _confirm(phase), None
        if (day - switch_day).days >= SWITCH_DAYS:
            finding = _single_dose(patient, switch_day, phase)
            phase.switch_day = None
    if phase.switch_day is None and given:
        _hold(phase, day, given)
    return None, finding


def _hold(phase: OpenPhase, day: date, covers: list[Cover]) -> None:
    phase.switch_day, phase.switch_next = day, None
    phase.switch_substance = covers[0].substance
    phase.switch_sources = tuple(c.source for c in covers)


def _confirm(phase: OpenPhase) -> Switched | None:
    switch_day, following = phase.switch_day, phase.switch_next
    phase.switch_day = phase.switch_next = None
    if switch_day is None or following is None:
        return None
    return Switched(switch_day, following)


def _single_dose(patient: str, day: date, phase: OpenPhase) -> Finding:
    return Finding(
        "info",
        "R-CHG-2",
        f"Diamorphin given to {patient} on {day.isoformat()} in a registration with "
        f"{phase.substance}, and not again within {SWITCH_DAYS} days: no change of substance is "
        "reported (D-33). If the treatment went on with Diamorphin, send those administrations.",
        (patient, *phase.switch_sources),
    )
