"""`substreg forecast` and `GET /forecast`: what falls due in the days ahead, and why
(issue 14, item 4).

The data (files, or what sync keeps in the store: `stored_forecast`) is walked as
`derive` does, twice: to the forecast's day and to the end
of its horizon. The second walk sees no new dose, contact or absence, so what it reports
beyond the first is what the register will be told unless the data changes before
(`adapter.domain.forecast`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from adapter.domain.diamorphine import diamorphine_review
from adapter.domain.forecast import (
    Forecast,
    deadlines_ahead,
    newest_day,
    open_phase,
    withholding_findings,
)
from adapter.domain.forecast_ledger import LedgerFacts, counted
from adapter.domain.model import Doctor, Finding
from adapter.domain.phases import derive_phases
from adapter.domain.pipeline import Due, reports_due
from adapter.fhir.assemble import Assembly
from adapter.mappings import Mappings
from adapter.services.derive import PracticeData, read_practice
from adapter.services.forecast_ledger import ledger_facts
from adapter.services.stored_practice import StoredPractice, last_sync_engine, stored_practice
from adapter.services.sync_state import engine_fingerprint
from adapter.settings.practice import PracticeConfig
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace

DEFAULT_DAYS = 14
MAX_DAYS = 366  # a year ahead: further out, nothing the data says now is still a deadline


def forecast(
    paths: list[Path],
    *,
    as_of: date,
    days: int = DEFAULT_DAYS,
    config: PracticeConfig | None = None,
    mappings: Mappings | None = None,
) -> Forecast:
    """Every deadline from the day after `as_of` to `as_of + days`, and the phases open on
    `as_of`. Raises `adapter.errors.InputError` when the input cannot be used at all."""
    return forecast_of(read_practice(paths, config, mappings), as_of=as_of, days=days)


def stored_forecast(
    store: Store,
    actor: Actor,
    *,
    as_of: date,
    days: int = DEFAULT_DAYS,
    config: PracticeConfig,
    mappings: Mappings,
) -> Forecast:
    """The forecast of what sync keeps in `store` (pushed, pulled, imported, synced), each
    patient named by its pseudonym (its mapping id), never its EHR id (D-190). Its codes
    are in clear, as the CLI shows them: the showing is audited, as `reports show` is."""

    # Read in one read-only unit of work, walked outside it (no writer waits for a walk),
    # audited before anything is shown. The ledger is read in the same unit of work: what
    # sync will not make (a blanket deregistration, a handover received) is no deadline
    # (D-226).
    stored, facts, engine = store.read(lambda space: _stored_with_ledger(space, config, mappings))
    walked = walk_forecast(stored.practice, as_of=as_of, days=days)
    found = counted(walked.forecast, walked.then, stored.pseudonyms, facts)
    if engine not in (None, engine_fingerprint(config)):
        found = replace(found, findings=[OTHER_CONFIG, *found.findings])
    found = found.renamed(stored.pseudonyms)
    details = {"as_of": as_of.isoformat(), "days": days, "open": len(found.open_phases)}
    store.run(actor, lambda space: space.audit.append(actor, "forecast.show", details=details))
    return found


# The last sync's configuration is not kept, only its fingerprint (D-252): a forecast with
# another one (no --config, another file, or an engine updated since) says so.
OTHER_CONFIG = Finding(
    "warning",
    "INPUT",
    "The practice configuration of this forecast is not the one of the last sync (no "
    "--config given, another file, or an update since): the doctors' BtM numbers may "
    "differ from what sync uses. Give the practice.toml the sync uses.",
)


def _stored_with_ledger(
    space: Workspace, config: PracticeConfig, mappings: Mappings
) -> tuple[StoredPractice, LedgerFacts, str | None]:
    stored = stored_practice(space, config, mappings)
    facts = ledger_facts(space, sorted(stored.pseudonyms.values()))
    return stored, facts, last_sync_engine(space)


def forecast_of(practice: PracticeData, *, as_of: date, days: int) -> Forecast:
    """The forecast of the practice's data, however it was read."""
    return walk_forecast(practice, as_of=as_of, days=days).forecast


@dataclass(frozen=True, slots=True)
class Walked:
    """The forecast of the data alone, and the walk to its horizon's end it rests on."""

    forecast: Forecast
    then: Due


def walk_forecast(practice: PracticeData, *, as_of: date, days: int) -> Walked:
    """The data walked to `as_of` and to `as_of + days` (D-141)."""
    until = as_of + timedelta(days=days)
    doctors, rules = practice.doctors, practice.rules
    now_events, now_spans, then_events, then_spans, phases = [], [], [], [], []
    spoken: list[date | None] = []  # each patient's newest day: is the data current?
    for history in Assembly(practice.collection, consume=True):
        spoken.append(newest_day(history, as_of))
        now = derive_phases(history, doctors, rules, as_of=as_of)
        then = derive_phases(history, doctors, rules, as_of=until)
        now_events += now.events
        now_spans += now.walked_spans
        then_events += then.events
        then_spans += then.walked_spans
        if now.state is not None and now.state.phase is not None:
            review = diamorphine_review(history, doctors, now.state.phase, as_of=as_of)
            due = review.due if review is not None else None
            withheld = _without_btm(doctors.get(now.state.phase.doctor or ""))
            phases.append(
                open_phase(history.patient.key, now.state.phase, review_due=due, withheld=withheld)
            )
    due_now = reports_due(now_events, now_spans, doctors, as_of=as_of)
    due_then = reports_due(then_events, then_spans, doctors, as_of=until)
    deadlines = deadlines_ahead(due_now, due_then, as_of=as_of, until=until)
    phases.sort(key=lambda p: p.patient)
    newest = max((d for d in spoken if d is not None), default=None)
    findings = withholding_findings(due_now, due_then)
    return Walked(Forecast(as_of, until, phases, deadlines, newest, findings=findings), due_then)


def _without_btm(doctor: Doctor | None) -> bool:
    """Whether derive withholds the reports of a phase with this doctor (R-EP-1, R-DOC-1)."""
    return doctor is None or doctor.btm_number is None
