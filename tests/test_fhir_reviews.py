"""R-DIA-2 at the FHIR edge: a Procedure coded diamorphine-review#outside-review is read as
the outside review (D-173), filed under its patient, stored and read back, and assembled
with the key of its performing doctor."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapter.domain.model import Review
from adapter.fhir import records as rec
from adapter.fhir.assemble import histories
from adapter.fhir.collect import Collector
from adapter.fhir.items import Entry
from adapter.fhir.partition import PatientRecords, dump, join, load, split
from adapter.fhir.reviews import read_review
from adapter.mappings import load_mappings

CASE = Path(__file__).resolve().parent / "cases" / "28-dia-review-by-a-colleague-does-not-count"
Json = dict[str, Any]


def _bundle() -> list[Json]:
    data = json.loads((CASE / "input.json").read_text(encoding="utf-8"))
    return [e["resource"] for e in data["entry"]]


def _procedure() -> Json:
    return next(copy.deepcopy(r) for r in _bundle() if r["resourceType"] == "Procedure")


def _collect(resources: list[Json]) -> Collector:
    collector = Collector(load_mappings())
    for resource in resources:
        collector.add(Entry(resource, None, "test"))
    return collector


def test_a_completed_review_gives_its_day_patient_and_performer() -> None:
    """The ISiKProzedur-shaped review of case 28: performedDateTime, subject, performer."""
    assert read_review(_procedure()) == rec.Review(
        "Patient/p-tobias", date(2025, 3, 24), "Practitioner/seidel"
    )


@pytest.mark.parametrize(
    ("performed", "day"),
    [
        ({"performedDateTime": "2025-03-23T23:30:00Z"}, date(2025, 3, 24)),
        ({"performedPeriod": {"start": "2025-03-20", "end": "2025-03-24"}}, date(2025, 3, 24)),
        ({"performedPeriod": {"start": "2025-03-20"}}, date(2025, 3, 20)),
    ],
    ids=["datetime-in-berlin", "period-end", "period-start"],
)
def test_the_day_is_the_berlin_day_or_the_periods_end(performed: Json, day: date) -> None:
    """A dateTime is read as its Europe/Berlin day; a period by its end, else its start."""
    procedure = _procedure()
    del procedure["performedDateTime"]
    review = read_review({**procedure, **performed})
    assert review is not None
    assert review.day == day


@pytest.mark.parametrize(
    "status", ["preparation", "in-progress", "not-done", "stopped", "entered-in-error", "unknown"]
)
def test_a_review_not_completed_is_no_review(status: str) -> None:
    """Only a completed review counts (fhir_profiles: DiamorphineReviewProcedure)."""
    assert read_review({**_procedure(), "status": status}) is None


def test_another_procedure_is_skipped() -> None:
    """A Procedure without our code (an appendectomy, SNOMED CT only) records no review."""
    procedure = _procedure()
    procedure["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "80146002"}]}
    assert read_review(procedure) is None
    assert _collect([procedure]).result.reviews == {}


def test_a_completed_review_without_a_day_is_an_input_error() -> None:
    """It cannot be counted, and the finding names the resource and what is missing."""
    procedure = _procedure()
    del procedure["performedDateTime"]
    collector = _collect([procedure])
    assert collector.result.reviews == {}
    [finding] = collector.result.findings
    assert (finding.severity, finding.rule) == ("error", "INPUT")
    assert "Procedure/pr-tobias-review-2025" in finding.message
    assert "performedDateTime or performedPeriod" in finding.message


def test_a_later_version_entered_in_error_takes_the_review_back() -> None:
    """The newest version of a resource decides (INPUT.md edge case 21)."""
    first = {**_procedure(), "meta": {"versionId": "1"}}
    withdrawn = {**first, "status": "entered-in-error", "meta": {"versionId": "2"}}
    assert _collect([first, withdrawn]).result.reviews == {}


def test_the_review_is_filed_under_its_patient_stored_and_assembled() -> None:
    """split files it under the patient (what sync keeps), it survives the stored form, and
    the history names the performer by the doctor's key."""
    batch = split(_collect(_bundle()).result)
    records = batch.patients["Patient/p-tobias"]
    assert set(records.reviews) == {"Procedure/pr-tobias-review-2025"}
    assert batch.owners["Procedure/pr-tobias-review-2025"] == "Patient/p-tobias"
    stored = load(PatientRecords, dump(records))
    assert stored.reviews == records.reviews
    found, _ = histories(join(batch.practice, [stored]), every_patient=True)
    [history] = found
    assert history.reviews == (
        Review(date(2025, 3, 24), "Practitioner/seidel", "Procedure/pr-tobias-review-2025"),
    )


def test_records_stored_before_reviews_existed_still_load() -> None:
    """A patient's stored records without the field read as having no review."""
    old = json.loads(dump(PatientRecords(key="Patient/p1")))
    del old["reviews"]
    assert load(PatientRecords, json.dumps(old).encode()).reviews == {}
