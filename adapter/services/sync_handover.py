"""Sync's one hook for handovers received (R-HO-1, R-EP-5, D-162): what
`handover_decision` decides for the reports sync is about to record. An Anmeldung or
Abmeldung under a code another doctor holds open is held back with a finding, and its
patient is kept unresolved, so that every sync derives it afresh and the first one after
`substreg handover release` records it;
one of a stay the patient returned from within the substitute time is recorded as
waived (rejected, never sent), so it is decided once (R-ABS-1, R-ABS-3); unless doses
here after the day back contradict the return: then the stay's reports are withheld with
an error until a person decides (D-258)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from adapter.domain.handover import (
    HandoverState,
    Received,
    handover_decision,
    return_contradicted,
    substitute_until,
)
from adapter.domain.model import Finding, Report
from adapter.domain.reconcile import Plan, Planned, Reported
from adapter.services.handover_withdraw import held_by, sent_finding
from adapter.store.handovers import Incoming
from adapter.store.workspace import Workspace


def apply_handovers(
    space: Workspace, plan: Plan, as_of: date, known: Sequence[Reported] = ()
) -> Plan:
    """`plan` with the reports handovers received here hold back or waive, and a finding
    for each: a hold is an `error` once `as_of` is past the substitute time (D-202). A
    report of `known` (the ledger) held back but sent already gets a finding too, and its
    patient is derived afresh so that it comes again while the handover is open (D-216)."""
    if not plan.record and not known:
        return plan
    newest = {h.code: h for h in space.handovers.listed()}  # oldest first: the newest wins
    if not newest:
        return plan
    received = {code: received_of(h) for code, h in newest.items()}
    record: list[Planned] = []
    findings = list(plan.findings)
    unresolved = set(plan.contradicted)
    for reported in known:
        if reported.state in _AT_REGISTER and held_by(reported, received):
            handover = newest[reported.code or ""]
            findings.append(sent_finding(reported, handover.handover_id, handover.doctor_btm))
            unresolved.add(reported.subject)
    against = _against_return(plan.record, known, received)
    for planned in plan.record:
        contradicting = against.get(planned.subject)
        if contradicting is not None and _of_the_stay(planned.report, contradicting):
            handover = newest[planned.report.patient_code or ""]
            findings.append(_contradicted(planned, handover, contradicting))
            unresolved.add(planned.subject)  # derived afresh until a person decides
            continue
        decision = handover_decision(planned.report, received)
        if decision is None:
            record.append(planned)
            continue
        handover = newest[planned.report.patient_code or ""]
        findings.append(_finding(planned, handover, decision, as_of))
        if decision == "waive":
            record.append(replace(planned, origin="waived"))
        else:  # derived afresh on every sync until it is made (sync_state `unresolved`)
            unresolved.add(planned.subject)
    return replace(plan, record=record, findings=findings, contradicted=unresolved)


_AT_REGISTER = frozenset({"queued", "sent", "acknowledged"})
_STATES: dict[str, HandoverState] = {s: s for s in ("open", "released", "returned", "replaced")}


def received_of(h: Incoming) -> Received:
    """What a handover received here decides with (`handover_decision`). A state this
    version does not know holds back, as an open one does (fail closed)."""
    return Received(h.code, h.doctor_btm, _STATES.get(h.state, "open"), h.released_on)


def _against_return(
    record: Sequence[Planned], known: Sequence[Reported], received: dict[str, Received]
) -> dict[str, Report]:
    """Each subject whose reports here (planned now, or in the ledger) contradict a return
    (R-HO-1, D-258), with the Abmeldung that does."""
    by_subject: dict[str, list[Report]] = {}
    for planned in record:
        by_subject.setdefault(planned.subject, []).append(planned.report)
    for reported in known:
        mine = reported.subject in by_subject and not reported.superseded
        if mine and reported.report is not None:
            by_subject[reported.subject].append(reported.report)
    found = {s: return_contradicted(reports, received) for s, reports in by_subject.items()}
    return {s: r for s, r in found.items() if r is not None}


def _of_the_stay(report: Report, abmeldung: Report) -> bool:
    """A report of the stay the contradicting Abmeldung ends: withheld with it (D-258)."""
    return (
        report.kind in ("anmeldung", "abmeldung")
        and report.patient_code == abmeldung.patient_code
        and report.doctor.btm_number == abmeldung.doctor.btm_number
        and report.date <= abmeldung.date
    )


def _contradicted(planned: Planned, handover: Incoming, abmeldung: Report) -> Finding:
    """Doses here after the day back: the return cannot stand as it is (D-258)."""
    report = planned.report
    message = (
        f"{report.kind.capitalize()} of {report.date.isoformat()} by BtM "
        f"{report.doctor.btm_number} withheld: handover {handover.handover_id} was returned "
        f"on {handover.released_on}, but the data here has doses after that day up to the "
        f"Abmeldung of {abmeldung.date.isoformat()} (R-HO-1, R-ABS-1, R-ABS-3). A return "
        "only waives a stay that ended by the day back; nothing of this stay is waived or "
        "reported until a person decides: if the patient stayed here, the stay was no "
        "substitution — have the sending doctor's Abmeldung made, import their new handover "
        "document and `substreg handover release` it (R-ABS-2, R-EP-2); if the patient did "
        "go back that day, correct the doses here after it (or the return day)."
    )
    return Finding("error", "R-HO-1", message, report.sources)


def _finding(planned: Planned, handover: Incoming, decision: str, as_of: date) -> Finding:
    report = planned.report
    what = (
        f"{report.kind.capitalize()} of {report.date.isoformat()} by BtM {report.doctor.btm_number}"
    )
    if decision == "waive":
        message = (
            f"{what} not made: the patient returned on {handover.released_on} from the stay "
            f"handover {handover.handover_id} began, a substitution of at most 30 days "
            "(R-ABS-1, R-ABS-3); recorded as waived."
        )
        return Finding("info", "R-HO-1", message, report.sources)
    if as_of > substitute_until(handover.day):
        return _overdue(what, handover, as_of, report.sources)
    message = (
        f"{what} held back: handover {handover.handover_id} received here states the "
        f"patient is registered by BtM {handover.doctor_btm} since "
        f"{handover.since.isoformat()}, and that registration is open (R-HO-1, R-EP-5). "
        "Treat as a substitute for up to 30 days (R-ABS-1, R-ABS-3); once the sending "
        f"doctor's Abmeldung is made, run `substreg handover release {handover.handover_id}` "
        "and sync again (or `handover return` if the patient went back)."
    )
    return Finding("warning", "R-HO-1", message, report.sources)


def _overdue(what: str, handover: Incoming, as_of: date, sources: tuple[str, ...]) -> Finding:
    """A hold past day 30: the patient is treated here beyond the substitute time while the
    sending doctor's registration stays open (R-ABS-2, R-EP-2, R-EP-5)."""
    day = (as_of - handover.day).days + 1
    until = substitute_until(handover.day).isoformat()
    message = (
        f"{what} held back, and the substitute time is over: {as_of.isoformat()} is day "
        f"{day} of handover {handover.handover_id} (30 days up to {until}, R-ABS-1, "
        f"R-ABS-3), and the registration of BtM {handover.doctor_btm} since "
        f"{handover.since.isoformat()} is still open here. Overdue: the sending doctor's "
        f"Abmeldung (R-EP-2); once it is made, `substreg handover release "
        f"{handover.handover_id}` and sync again to make the Anmeldung here (R-ABS-2, "
        "R-EP-5); if the patient went back, `handover return`."
    )
    return Finding("error", "R-HO-1", message, sources)
