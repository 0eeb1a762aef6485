"""The worked cases of the bulk reports (tests/bulkcases/README.md), each run step by step
on the in-memory twin, the whole ledger compared afterwards (R-INV-1, R-PAU-1, R-CHG-6)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapter.services.bulk_reports import Deceased, blanket_deregistration, inventory
from adapter.store.workspace import Store
from tests.storage import ACTOR
from tests.sync.helpers import ledger, run_sync
from tests.usecases.conftest import Clock, twin_store

TESTS = Path(__file__).parents[1]
CASES = sorted(p.parent for p in (TESTS / "bulkcases").glob("*/case.json"))


def _input(case: dict[str, Any], leave_out: list[str], folder: Path) -> Path:
    """The named case's input without the resources not known yet."""
    bundle = json.loads((TESTS / "cases" / case["input"] / "input.json").read_text())
    gone = set(leave_out)
    bundle["entry"] = [
        e
        for e in bundle["entry"]
        if f"{e['resource']['resourceType']}/{e['resource']['id']}" not in gone
    ]
    path = folder / f"input-{len(list(folder.iterdir()))}.json"
    path.write_text(json.dumps(bundle))
    return path


def _step(store: Store, case: dict[str, Any], step: dict[str, Any], folder: Path) -> None:
    day = date.fromisoformat
    if "sync" in step:
        run_sync(store, [_input(case, step["leave_out"], folder)], day(step["sync"]))
    elif "inventory" in step:
        inventory(
            store,
            ACTOR,
            key_date=day(step["inventory"]),
            today=day(step["today"]),
            doctor=step["doctor"],
        )
    else:
        blanket_deregistration(
            store,
            ACTOR,
            doctor=step["doctor"],
            day=day(step["blanket"]),
            today=day(step["today"]),
            deceased=_deceased(step.get("deceased")),
        )


def _deceased(given: dict[str, Any] | None) -> Deceased | None:
    """The declaration for a doctor who died (004 §3.7, D-197), as the CLI builds it."""
    if given is None:
        return None
    return Deceased(
        died_on=date.fromisoformat(given["died_on"]),
        declared_by=given["declared_by"],
        declarant=given["declarant"],
        successor_btm=given.get("successor_btm"),
        reason=given.get("reason"),
    )


def _row(state: str, report: Any) -> dict[str, Any]:
    return {
        "kind": report.kind,
        "patient_code": report.patient_code,
        "date": report.date.isoformat(),
        "made_on": report.made_on.isoformat(),
        "substance": report.substance,
        "doctor_btm": report.doctor.btm_number,
        "consultant_btm": report.consultant.btm_number if report.consultant else None,
        "state": state,
    }


def test_there_are_worked_cases_of_each_bulk_rule() -> None:
    """Both rules have worked cases (a folder left without case.json would be skipped)."""
    rules = {r for case in CASES for r in json.loads((case / "case.json").read_text())["rules"]}
    assert {"R-INV-1", "R-PAU-1", "R-CHG-6"} <= rules


@pytest.mark.parametrize("folder", [pytest.param(c, id=c.name) for c in CASES])
def test_the_worked_case_ends_with_its_ledger(folder: Path, clock: Clock, tmp_path: Path) -> None:
    """Every step as the CLI runs it; then the ledger is exactly the case's."""
    case = json.loads((folder / "case.json").read_text())
    store = twin_store(clock)
    for step in case["steps"]:
        _step(store, case, step, tmp_path)
    held = sorted(
        (_row(h.state, h.report) for h in ledger(store)),
        key=lambda r: (r["kind"], r["date"], r["doctor_btm"]),
    )
    assert held == case["ledger"], case["why"]
    remarks = {h.report.kind: list(h.report.remarks) for h in ledger(store)}
    for kind, expected in case.get("remarks", {}).items():
        assert remarks[kind] == expected, case["why"]
