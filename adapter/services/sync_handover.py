"""Sync's one hook for handovers received (R-HO-1, R-EP-5, D-162): an Anmeldung under a
code that another doctor holds open, as a handover document received here states, is
held back with a finding instead of being recorded. The next sync after `substreg
handover release` records it, since the walk still calls for it."""

from __future__ import annotations

from dataclasses import replace

from adapter.domain.handover import second_anmeldung_refused
from adapter.domain.model import Finding
from adapter.domain.reconcile import Plan, Planned
from adapter.store.handovers import OPEN, Incoming
from adapter.store.workspace import Workspace


def hold_back_second_anmeldung(space: Workspace, plan: Plan) -> Plan:
    """`plan` without the Anmeldungen an open handover refuses, and a finding for each."""
    if not any(p.report.kind == "anmeldung" for p in plan.record):
        return plan  # nothing to open the handovers for
    received = {h.code: h for h in space.handovers.listed(OPEN)}
    holders = {code: h.doctor_btm or "" for code, h in received.items()}
    held = [p for p in plan.record if second_anmeldung_refused(p.report, holders)]
    if not held:
        return plan
    findings = [_held(p, received[p.report.patient_code or ""]) for p in held]
    kept = [p for p in plan.record if p not in held]
    return replace(plan, record=kept, findings=[*plan.findings, *findings])


def _held(planned: Planned, handover: Incoming) -> Finding:
    report = planned.report
    message = (
        f"Anmeldung of {report.date.isoformat()} by BtM {report.doctor.btm_number} held back: "
        f"handover {handover.handover_id} received here states the patient is registered by "
        f"BtM {handover.doctor_btm} since {handover.since.isoformat()}, and that registration "
        "is open (R-HO-1, R-EP-5). Treat as a substitute for up to 30 days (R-ABS-1, "
        "R-ABS-3); once the sending doctor's Abmeldung is made, run `substreg handover "
        f"release {handover.handover_id}` and sync again."
    )
    return Finding("warning", "R-HO-1", message, report.sources)
