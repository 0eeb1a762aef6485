"""The findings of reconciliation: what the register holds, what the data says, and
what would align the two (R-CODE-8, R-EP-4, R-EP-5, D-20). Texts only, no decisions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from adapter.domain.model import Finding, Report

if TYPE_CHECKING:
    from adapter.domain.reconcile_model import Desired, Reported

_ONE_DAY = timedelta(days=1)


def held_text(entries: Sequence[Reported]) -> str:
    return "; ".join(f"{r.kind} dated {r.date.isoformat()} ({r.state})" for r in entries)


def withdrawn(patient: str, unsent: Sequence[Reported]) -> Finding:
    return Finding(
        "warning",
        "R-EP-5",
        f"Later data for {patient} no longer calls for reports recorded but not yet sent "
        f"({held_text(unsent)}): they are withdrawn (rejected) before they reach the "
        "register, and what the data calls for now is recorded instead.",
        (patient, *(f"ledger {r.ledger_id}" for r in unsent)),
    )


def contradiction(
    patient: str, stale: Sequence[Reported], corrections: Sequence[Desired], accepted: bool
) -> Finding:
    if corrections:
        fix = "the correction is " + " and ".join(
            f"an {c.report.kind} dated {c.report.date.isoformat()}" for c in corrections
        )
    else:
        fix = (
            "no report can change dates the register already holds; tell the "
            "Bundesopiumstelle if they matter"
        )
    then = (
        "Accepted: the contradicted reports are marked superseded."
        if accepted
        else "Nothing is recorded for this patient and doctor until the data is corrected "
        "or `substreg sync --accept-corrections` is run."
    )
    return Finding(
        "error",
        "R-EP-5",
        f"Later data for {patient} contradicts reports already made to the register "
        f"({held_text(stale)}): {fix}. {then}",
        (patient, *(f"ledger {r.ledger_id}" for r in stale)),
    )


def code_differs(item: Desired, entry: Reported, as_of: date) -> Finding:
    """A changed spelling keeps the reported code; changed sex or birth digits need a
    person's decision, and the reports that would correct the register."""
    new, old = item.report.patient_code or "", entry.code or ""
    if new[4:] == old[4:]:
        return Finding(
            "info",
            "R-CODE-8",
            f"The name of {item.patient} is now spelled so that the code would differ from the "
            f"one reported on {entry.date.isoformat()}: the reported code is kept for this "
            "registration (R-CODE-8); record a name change with a period if the name changed.",
            (item.patient, f"ledger {entry.ledger_id}"),
        )
    nxt = as_of + _ONE_DAY
    return Finding(
        "warning",
        "R-CODE-8",
        f"The sex or birth date of {item.patient} now gives another code than the one "
        f"reported on {entry.date.isoformat()}; the reported code is kept. If the data at "
        f"the Anmeldung was wrong, the correction is an Abmeldung under the reported code "
        f"dated {as_of.isoformat()} and an Anmeldung under the new code dated "
        f"{nxt.isoformat()}; nothing is sent without a person's decision.",
        (item.patient, f"ledger {entry.ledger_id}"),
    )


def told(report: Report) -> tuple[str | None, str | None]:
    """What an Anmeldung tells the register besides code and date."""
    consultant = report.consultant.btm_number if report.consultant else None
    return report.substance, consultant


def content_differs(item: Desired, entry: Reported) -> Finding:
    assert entry.report is not None  # compared only when the payload was read
    (held_substance, held_consultant), (substance, consultant) = (
        told(entry.report),
        told(item.report),
    )
    return Finding(
        "warning",
        "R-EP-5",
        f"The Anmeldung of {item.patient} dated {entry.date.isoformat()} told the register "
        f"substance {held_substance} and consulting doctor {held_consultant or '–'}; the data "
        f"now says {substance} and {consultant or '–'}. The register keeps what it was told: "
        "if it was wrong, tell the Bundesopiumstelle (a Diamorphin change is an Ab- and "
        "Anmeldung, R-CHG-2).",
        (item.patient, f"ledger {entry.ledger_id}"),
    )


def refused(item: Desired, problem: str) -> Finding:
    r = item.report
    return Finding(
        "error",
        "R-EP-4",
        f"The {r.kind} of {item.patient} dated {r.date.isoformat()} is not recorded: {problem}. "
        "Check the rejected or missing reports of this patient (`substreg reports list`).",
        (item.patient, *r.sources[:2]),
    )
