"""From walked phases to what is due: the one report pipeline of derive and sync.

derive walks every patient from the first day; sync walks the patients with new data or an
open phase, resumed where it stopped. Both hand the events and spans they walked to
`reports_due`, so that a report or a finding added to one cannot be missing from the other
(tests/sync/test_sync_scenarios.py compares both, reports and findings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from adapter.domain.events import OpenSpan, RegisterEvent
from adapter.domain.model import Doctor, Finding, Report
from adapter.domain.notices import doctor_notices
from adapter.domain.reports import build_reports, caseload_findings, shared_code_findings
from adapter.domain.substitutes import unqualified_substitute_findings

_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Due:
    """What the register is to be told by `as_of`, and what the practice is to be told."""

    reports: list[Report]  # Anmeldungen and Abmeldungen
    notices: list[Report]  # Mitteilungen (R-CHG-4, R-CHG-5), one per doctor and day
    findings: list[Finding]
    owners: dict[str, str]  # report id → patient key (R-CODE-9), never part of a report


def reports_due(
    events: Iterable[RegisterEvent],
    spans: list[OpenSpan],
    doctors: Mapping[str, Doctor],
    *,
    as_of: date,
) -> Due:
    """The reports and notices due by `as_of` for the walked `events` and `spans`, with the
    findings about them: reports that cannot be made (D-1), shared codes (R-CODE-9),
    caseloads of unqualified doctors (R-DOC-2), unqualified substitutes past their weeks
    (R-ABS-6)."""
    reports, findings, owners = build_reports(events, doctors, as_of=as_of)
    findings += shared_code_findings(reports, owners)
    findings += caseload_findings(spans, doctors)
    findings += unqualified_substitute_findings(spans, doctors)
    notices = doctor_notices(doctors, spans, as_of=as_of)
    return Due(reports, notices, findings, owners)


def unique_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings once each, most severe first, in a stable order."""
    seen = dict.fromkeys(findings)
    return sorted(seen, key=lambda f: (_SEVERITY_RANK[f.severity], f.rule, f.sources, f.message))
