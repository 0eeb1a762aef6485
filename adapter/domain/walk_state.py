"""The state of a walk over one patient's days: the open phase, and where a walk stopped.

`OpenPhase` is mutable on purpose: it is the walk's state, changed day by day. What a walk
leaves behind to resume from (`WalkState`, kept by sync between runs) is frozen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from adapter.domain.events import OpenSpan, RegisterEvent
from adapter.domain.model import Finding


@dataclass(slots=True)
class OpenPhase:
    """The open phase during the walk (mutable on purpose: it is the walk's state)."""

    doctor: str | None
    code: str | None
    substance: str
    consultant: str | None
    start: date  # date of the current Anmeldung (moved by change pairs and R-ABS-2)
    began: date  # first day of the phase: change pairs continue it (D-12), R-ABS-2 does not
    announced: date  # made_on of the current Anmeldung: no Abmeldung is made before it
    episode: str | None
    last: date  # last covered day (any doctor)
    last_own: date  # last day covered under the phase's doctor
    last_sources: tuple[str, ...]
    gap: int = 0
    run_start: date | None = None
    run_doctor: str | None = None
    run_substance: str = ""
    run_sources: tuple[str, ...] = ()  # the run's first day, for the R-ABS-2 Anmeldung
    # Days after the last covered day on which a name or consulting doctor starts: a
    # change only if a covered day follows inside the phase (R-CHG-1/3, D-32).
    held: tuple[date, ...] = ()
    # R-CHG-2 while the old substance still covers: the first day with the new one, until
    # a later event confirms the switch or an event of the old substance cancels it (D-33).
    switch_day: date | None = None
    switch_substance: str = ""
    switch_sources: tuple[str, ...] = ()
    switch_next: date | None = None  # the first covered day after `switch_day`
    dia_last: date | None = None  # in a Diamorphin registration: the last day one was given
    dia_since: date | None = None  # the first day of the Diamorphin treatment (R-DIA-2)


@dataclass(frozen=True, slots=True)
class PhaseSnapshot:
    """The open phase as the walk left it: `OpenPhase`, frozen, to resume from."""

    doctor: str | None
    code: str | None
    substance: str
    consultant: str | None
    start: date
    began: date
    announced: date
    episode: str | None
    last: date
    last_own: date
    last_sources: tuple[str, ...]
    gap: int
    run_start: date | None
    run_doctor: str | None
    run_substance: str
    run_sources: tuple[str, ...]
    held: tuple[date, ...]
    switch_day: date | None
    switch_substance: str
    switch_sources: tuple[str, ...]
    switch_next: date | None
    dia_last: date | None
    dia_since: date | None = None


# The rules of `PhaseOutcome.standing`: a later day or new data can take them back (an
# outside review arrives), so sync drops them from a kept state before it merges (D-173).
STANDING_RULES = frozenset({"R-DIA-2"})

_PHASE_FIELDS = tuple(f.name for f in fields(PhaseSnapshot))


@dataclass(frozen=True, slots=True)
class WalkState:
    """Where a walk stopped: resuming from here with the same facts gives the same events
    as walking again from the first day (tests/domain/test_phases_resume.py)."""

    next_day: date
    phase: PhaseSnapshot | None
    left: tuple[str, ...]  # doctors whose phase R-CHG-6 closed (D-16)
    refused: bool  # the code refusal was reported already
    spent: tuple[str, ...] = ()  # events of a phase handed over (D-34), still covering


@dataclass(frozen=True, slots=True)
class PhaseOutcome:
    events: list[RegisterEvent] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    spans: list[OpenSpan] = field(default_factory=list)  # the open phase's span last
    state: WalkState | None = None
    open_run: OpenSpan | None = None  # a substitute run still going on at `as_of` (R-ABS-6)
    # Findings about the open phase as it stands at `as_of` (also in `findings`): every walk
    # gives them anew, so a resumed walk's state never keeps them (STANDING_RULES).
    standing: list[Finding] = field(default_factory=list)

    @property
    def walked_spans(self) -> list[OpenSpan]:
        """Every span the walk saw, the open substitute run too (it is not kept: it grows)."""
        return [*self.spans, self.open_run] if self.open_run is not None else list(self.spans)

    @property
    def closed_spans(self) -> list[OpenSpan]:
        """The spans of phases that have ended (the open one's end moves with `as_of`)."""
        open_phase = self.state is not None and self.state.phase is not None
        return self.spans[:-1] if open_phase else list(self.spans)


def fields_of(phase: OpenPhase | PhaseSnapshot) -> dict[str, Any]:
    """The walk's state by field name (the two classes have the same fields, checked by
    tests/domain/test_phases_resume.py; by name, their order cannot mix values up)."""
    return {name: getattr(phase, name) for name in _PHASE_FIELDS}
