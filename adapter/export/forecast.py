"""Render a forecast: a JSON document (for pipelines, the API and a dashboard) or a list for
people, deadlines first, then the open phases with nothing due in the horizon."""

from __future__ import annotations

from typing import Any

import orjson

from adapter.domain.forecast import Deadline, Forecast, HandoverDue, OpenPhase, Settled
from adapter.domain.payload import report_json
from adapter.export.derivation import finding_json


def forecast_json(forecast: Forecast) -> bytes:
    document = {
        "as_of": forecast.as_of.isoformat(),
        "until": forecast.until.isoformat(),
        "newest_day": forecast.newest_day.isoformat() if forecast.newest_day else None,
        "stale": forecast.stale,
        "deadlines": [_deadline_json(d) for d in forecast.deadlines],
        "open_phases": [_phase_json(p, forecast) for p in forecast.open_phases],
        # D-226: whether the ledger was counted, what it settles, the handovers' day 31
        "ledger": forecast.ledger,
        "settled": [_deadline_json(s) for s in forecast.settled],
        "handovers": [_handover_json(h) for h in forecast.handovers],
        # D-252: reports withheld for want of the doctor or a BtM number, as derive says
        "findings": [finding_json(f) for f in forecast.findings],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def _handover_json(handover: HandoverDue) -> dict[str, Any]:
    return {
        "due": handover.due.isoformat(),
        "patient": handover.patient or None,
        "handover": handover.handover_id,
        "patient_code": handover.code,
        "why": handover.why,
    }


def _deadline_json(deadline: Deadline | Settled) -> dict[str, Any]:
    return {
        "due": deadline.due.isoformat(),
        "patient": deadline.patient or None,
        "kind": deadline.report.kind,
        "rule": deadline.report.rule,
        "why": deadline.why,
        "report": report_json(deadline.report),
    }


def _phase_json(phase: OpenPhase, forecast: Forecast) -> dict[str, Any]:
    first = forecast.next_due(phase.patient)
    return {
        "patient": phase.patient,
        "doctor": phase.doctor,
        "patient_code": phase.code,
        "substance": phase.substance,
        "since": phase.since.isoformat(),
        "last_covered": phase.last_covered.isoformat(),
        "next_due": first.due.isoformat() if first else None,
        "review_due": phase.review_due.isoformat() if phase.review_due else None,
        "withheld": phase.withheld,
    }


def forecast_text(forecast: Forecast) -> str:
    span = f"{forecast.as_of.isoformat()} to {forecast.until.isoformat()}"
    lines = [*_stale_lines(forecast), f"Deadlines after {span}: {len(forecast.deadlines)}"]
    for d in forecast.deadlines:
        who = d.patient or "the doctor's data"
        code = d.report.patient_code or "–"
        lines.append(f"  {d.due.isoformat()}  {who} ({code}): {d.why}")
    lines += _ledger_lines(forecast)
    # A phase the ledger settles (a blanket ended it, a handover holds it) is listed above.
    named = {s.patient for s in forecast.settled} | {h.patient for h in forecast.handovers}
    lines += _withheld_lines(forecast, named)
    quiet = [
        p
        for p in forecast.open_phases
        if forecast.next_due(p.patient) is None and p.patient not in named and not p.withheld
    ]
    lines.append(f"Open phases with nothing due by {forecast.until.isoformat()}: {len(quiet)}")
    lines.extend(
        f"  {p.patient} ({p.code or 'no patient code: its reports are withheld, see derive'}),"
        f" {p.substance}, since {p.since.isoformat()}, covered to {p.last_covered.isoformat()}"
        for p in quiet
    )
    return "\n".join(lines + _review_lines(forecast)) + "\n"


def _withheld_lines(forecast: Forecast, named: set[str]) -> list[str]:
    """The phases whose reports derive withholds for want of the doctor or a BtM number,
    and its findings (R-EP-1, R-DOC-1): never counted as "nothing due" (D-252)."""
    withheld = [p for p in forecast.open_phases if p.withheld and p.patient not in named]
    if not withheld and not forecast.findings:
        return []
    lines = [f"Open phases whose reports are withheld (no BtM number, R-DOC-1): {len(withheld)}"]
    lines.extend(
        f"  {p.patient} ({p.code or '–'}), {p.substance}, since {p.since.isoformat()}, "
        f"doctor {p.doctor or 'unknown'}"
        for p in withheld
    )
    lines.extend(f"  {f.severity} {f.rule}: {f.message}" for f in forecast.findings)
    return lines


def _ledger_lines(forecast: Forecast) -> list[str]:
    """What the ledger settles, and the handovers received whose day 31 comes (D-226)."""
    lines = []
    if forecast.settled:
        lines.append(f"Not made, as the ledger stands: {len(forecast.settled)}")
        lines.extend(
            f"  {s.due.isoformat()}  {s.patient} ({s.report.patient_code or '–'}): {s.why}"
            for s in forecast.settled
        )
    if forecast.handovers:
        lines.append(f"Handovers received, past the substitute time: {len(forecast.handovers)}")
        for h in forecast.handovers:
            late = ", overdue" if h.due <= forecast.as_of else ""
            lines.append(f"  {h.due.isoformat()}{late}  {h.patient or '–'} ({h.code}): {h.why}")
    return lines


def _stale_lines(forecast: Forecast) -> list[str]:
    """A warning first when the data stops long before the forecast's day (D-210)."""
    if not forecast.stale or forecast.newest_day is None:
        return []
    days = (forecast.as_of - forecast.newest_day).days
    return [
        f"Warning: the data's newest day is {forecast.newest_day.isoformat()}, {days} days "
        f"before {forecast.as_of.isoformat()}: the export is old or the day is wrong. Phases "
        "the data has long ended are not open here, and their reports are overdue, not "
        f"ahead: `substreg derive … --as-of {forecast.as_of.isoformat()}` lists them."
    ]


def _review_lines(forecast: Forecast) -> list[str]:
    """The due day of each open Diamorphin treatment's outside review (R-DIA-2)."""
    reviews = forecast.reviews()
    if not reviews:
        return []
    lines = [f"Outside reviews of Diamorphin treatments (R-DIA-2): {len(reviews)}"]
    for p in reviews:
        due = p.review_due.isoformat() if p.review_due else "?"
        late = ", overdue" if p.review_overdue(forecast.as_of) else ""
        lines.append(
            f"  {due}  {p.patient} ({p.code or '–'}): outside review due{late}, 2 years after "
            "the treatment's start or its last review, by a qualified doctor of another facility"
        )
    return lines
