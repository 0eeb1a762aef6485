"""R-DIA-2 in the incremental sync: the overdue-review warning is about the open phase on
the day of the sync, so a review that arrives later takes it back, as derive does (D-173)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from adapter.services import derive
from tests.storage import make_twin
from tests.sync.helpers import relative_bundle, run_sync

CASES = Path(__file__).resolve().parents[1] / "cases"
OVERDUE = CASES / "26-dia-review-overdue" / "input.json"
OUTSIDE = CASES / "27-dia-review-by-an-outside-doctor" / "input.json"


def _outside_doctor_and_review() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Case 27's outside doctor (Practitioner, role, practice), and a review of Mirko."""
    resources = [e["resource"] for e in relative_bundle(OUTSIDE)["entry"]]
    doctor = [r for r in resources if r.get("id") in {"brandt", "role-brandt", "praxis-brandt"}]
    review = next(r for r in resources if r["resourceType"] == "Procedure")
    mine = {
        **review,
        "id": "pr-mirko-review-2025",
        "subject": {"reference": "Patient/p-mirko"},
        "performedDateTime": "2025-07-02",
    }
    return doctor, mine


def _next_dose() -> dict[str, Any]:
    dose = next(
        e["resource"]
        for e in relative_bundle(OVERDUE)["entry"]
        if e["resource"]["id"] == "ma-mirko-2025-06-30"
    )
    return {**dose, "id": "ma-mirko-2025-07-07", "effectiveDateTime": "2025-07-07T08:30:00+02:00"}


def _write(path: Path, resources: list[dict[str, Any]]) -> Path:
    entries = [{"resource": r} for r in resources]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    return path


def test_a_review_arriving_later_takes_the_resumed_syncs_warning_back(tmp_path: Path) -> None:
    """Sync on 2025-06-30 warns (due 2025-04-03); the next batch, a dose and an outside
    review on 2025-07-02, resumes the walk on 2025-07-07: the warning is not kept."""
    store, _ = make_twin()
    doctor, review = _outside_doctor_and_review()
    practice = _write(tmp_path / "outside-doctor.json", doctor)
    first = run_sync(store, [OVERDUE, practice], date(2025, 6, 30))
    assert [f.rule for f in first.findings if f.rule == "R-DIA-2"] == ["R-DIA-2"]
    batch = _write(tmp_path / "later.json", [review, _next_dose()])
    second = run_sync(store, [batch], date(2025, 7, 7))
    assert [f for f in second.findings if f.rule == "R-DIA-2"] == []
    whole = derive([OVERDUE, practice, batch], as_of=date(2025, 7, 7))
    assert [f for f in whole.findings if f.rule == "R-DIA-2"] == []


def test_a_resumed_sync_repeats_the_warning_while_the_review_is_missing(tmp_path: Path) -> None:
    """Without a review the next sync walks the open phase again and warns again, with the
    words derive uses."""
    store, _ = make_twin()
    run_sync(store, [OVERDUE], date(2025, 6, 30))
    batch = _write(tmp_path / "later.json", [_next_dose()])
    second = run_sync(store, [batch], date(2025, 7, 7))
    whole = derive([OVERDUE, batch], as_of=date(2025, 7, 7))
    expected = [f for f in whole.findings if f.rule == "R-DIA-2"]
    assert len(expected) == 1
    assert [f for f in second.findings if f.rule == "R-DIA-2"] == expected
