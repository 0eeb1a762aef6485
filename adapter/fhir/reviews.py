"""The outside review of a Diamorphin treatment as a FHIR Procedure (R-DIA-2, D-173).

INPUT.md does not say how the review shows; we read it as German clinical systems record
a procedure (ISiKProzedur, MII Prozedur): a `Procedure` with `status` completed, a `code`
of our CodeSystem diamorphine-review (no SNOMED CT or OPS concept names this review), the
patient as `subject`, the reviewing doctor as `performer.actor` (a Practitioner or a
PractitionerRole) and the day in `performedDateTime` (or `performedPeriod`, its end when
it has one). Any other Procedure, and one not completed, is no review and is skipped.
"""

from __future__ import annotations

from datetime import date

from adapter.fhir import records as rec
from adapter.fhir.values import (
    JsonObject,
    ResourceProblem,
    codings,
    day_of,
    objs,
    period,
    reference,
    text,
)

SR = "https://fhir.substreg.dev"
DIAMORPHINE_REVIEW = f"{SR}/CodeSystem/diamorphine-review"
OUTSIDE_REVIEW = "outside-review"


def is_review(resource: JsonObject) -> bool:
    """A Procedure coded diamorphine-review#outside-review (whatever its status)."""
    code = resource.get("code")
    if not isinstance(code, dict):
        return False
    return (DIAMORPHINE_REVIEW, OUTSIDE_REVIEW) in codings(code)


def read_review(resource: JsonObject) -> rec.Review | None:
    """The review a Procedure records, or None when it records none: another procedure, or
    a review not completed (planned, stopped, not done, entered in error). Raises
    `ResourceProblem` for a completed review without a day."""
    if not is_review(resource) or text(resource, "status") != "completed":
        return None
    day = _performed_day(resource)
    if day is None:
        msg = "a completed diamorphine review needs performedDateTime or performedPeriod"
        raise ResourceProblem(msg)
    performers = [p for p in objs(resource, "performer") if reference(p, "actor")]
    doctor = reference(performers[0], "actor") if performers else None
    return rec.Review(reference(resource, "subject"), day, doctor)


def _performed_day(resource: JsonObject) -> date | None:
    when = day_of(text(resource, "performedDateTime"), "Procedure.performedDateTime")
    if when is not None:
        return when
    start, end = period(resource, "performedPeriod")
    return end or start
