"""`substreg validate`: what it checks, said truthfully, as findings or an OperationOutcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.cli import context as cli_context
from adapter.cli.main import build_parser, main
from tests.test_fhir_input import collection, practice

ROOT = Path(__file__).resolve().parents[1]
MORE = ROOT / "tests" / "fixtures" / "real" / "more"

Json = dict[str, Any]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Json]:
    status = main(["validate", *argv])
    out, err = capsys.readouterr()
    assert err == ""
    document: Json = json.loads(out)
    return status, document


def broken_bundle(tmp_path: Path) -> Path:
    """Entry 2: a MedicationRequest with an impossible validity start; entry 3: a
    MedicationAdministration without status."""
    resources = practice()
    resources[2]["dispenseRequest"] = {"validityPeriod": {"start": "2025-13-01"}}
    del resources[3]["status"]
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(collection(resources[:4])))
    return path


def test_findings_stay_the_default_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --format: {"findings": [...]}, each naming resource, place and field; exit 1."""
    status, document = run([str(broken_bundle(tmp_path))], capsys)
    assert status == 1
    assert [(f["severity"], f["rule"], f["sources"]) for f in document["findings"]] == [
        ("error", "INPUT", ["MedicationRequest/mr1"]),
        ("error", "INPUT", ["MedicationAdministration/ma-2025-03-03"]),
    ]
    first, second = (f["message"] for f in document["findings"])
    assert first.startswith(
        "MedicationRequest/mr1 (export.json entry 2): dispenseRequest.validityPeriod.start: "
    )
    assert second.startswith(
        "MedicationAdministration/ma-2025-03-03 (export.json entry 3): status: "
    )


def test_operationoutcome_names_resource_place_and_element(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--format operationoutcome: one valid OperationOutcome, an issue per problem with
    severity, code, diagnostics, location (place, Type/id) and expression (element)."""
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    status, outcome = run([str(broken_bundle(tmp_path)), "--format", "operationoutcome"], capsys)
    assert status == 1
    OperationOutcome.model_validate(outcome)
    issues = outcome["issue"]
    assert [(i["severity"], i["code"], i["expression"], i["location"]) for i in issues] == [
        (
            "error",
            "value",
            ["MedicationRequest.dispenseRequest.validityPeriod.start"],
            ["export.json entry 2", "MedicationRequest/mr1"],
        ),
        (
            "error",
            "required",
            ["MedicationAdministration.status"],
            ["export.json entry 3", "MedicationAdministration/ma-2025-03-03"],
        ),
    ]
    assert issues[0]["diagnostics"].startswith("MedicationRequest/mr1 (export.json entry 2)")


def test_clean_input_gives_one_information_issue_saying_what_was_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No issues: exit 0 and an `information` issue naming R4B and what is not checked."""
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(collection(practice())))
    status, outcome = run([str(path), "--format", "operationoutcome"], capsys)
    assert status == 0
    [issue] = outcome["issue"]
    assert (issue["severity"], issue["code"]) == ("information", "informational")
    assert issue["diagnostics"].startswith("8 resources checked, no issues: ")
    assert "R4B" in issue["diagnostics"]
    assert "not profiles" in issue["diagnostics"]


@pytest.mark.parametrize(
    "name",
    [
        "kbv-1.3.2-xml/Beispiel_2_PZN.xml",
        "e2e-2025-10-xml/PZN_Nr1_MedicationDispense.xml",
        "erp-workflow-1.5.2/Parameters-ExampleCloseInputParametersMultipleMedicationDispenses.json",
    ],
    ids=["kbv-xml", "e2e-parameters-xml", "close-parameters"],
)
def test_xml_and_parameters_are_validated_resource_by_resource(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """Real XML and Parameters: every resource they carry is checked, and found valid."""
    status, outcome = run([str(MORE / name), "--format", "operationoutcome"], capsys)
    [issue] = outcome["issue"]
    assert (status, issue["severity"]) == (0, "information")
    count = int(issue["diagnostics"].split()[0])
    assert count >= 2


def test_an_element_r4_lacks_in_xml_is_an_issue_at_that_element(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An XML element the R4B models do not know: a `structure` issue at its path."""
    path = tmp_path / "p.xml"
    path.write_text(
        '<Patient xmlns="http://hl7.org/fhir"><id value="p1"/><futureThing value="x"/></Patient>',
        encoding="utf-8",
    )
    status, outcome = run([str(path), "--format", "operationoutcome"], capsys)
    [issue] = outcome["issue"]
    assert status == 1
    assert (issue["code"], issue["expression"], issue["location"]) == (
        "structure",
        ["Patient.futureThing"],
        ["p.xml", "Patient/p1"],
    )


def test_unreadable_lines_and_export_notes_are_issues_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An NDJSON line that is not JSON is an error at that line; an unlisted file beside a
    Bulk Data manifest is a warning (exit 1 for the error only)."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Patient.ndjson").write_bytes(b'{"resourceType": "Patient", "id": "p1"}\n{"res\n')
    (folder / "manifest.json").write_bytes(
        orjson.dumps(
            {
                "transactionTime": "2025-03-10T02:00:00Z",
                "request": "https://ehr.example/fhir/$export",
                "output": [{"type": "Patient", "url": "https://ehr.example/b/Patient.ndjson"}],
                "error": [],
            }
        )
    )
    (folder / "stray.json").write_bytes(b'{"resourceType": "Patient", "id": "p2"}')
    status, outcome = run([str(folder), "--format", "operationoutcome"], capsys)
    assert status == 1
    assert [(i["severity"], i["code"], i["location"]) for i in outcome["issue"]] == [
        ("warning", "informational", ["stray.json"]),
        ("error", "structure", ["Patient.ndjson line 2"]),
    ]
    assert all("expression" not in i for i in outcome["issue"])
    (folder / "Patient.ndjson").write_bytes(b'{"resourceType": "Patient", "id": "p1"}\n')
    status, outcome = run([str(folder)], capsys)
    assert status == 0
    assert [f["severity"] for f in outcome["findings"]] == ["warning"]


def test_help_says_r4b_models_not_full_r4() -> None:
    """The command's help and the README say what is checked: the R4B models' structure
    and datatypes, not profiles or invariants — never 'full R4'."""
    parser = build_parser()
    help_text = parser.format_help()
    assert "R4B" in help_text
    assert "not profiles" in help_text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "full FHIR R4" not in readme
    assert "R4B" in readme


def test_a_resource_type_r4_lacks_is_not_supported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`resourceType` unknown to R4 (an R5 resource): a `not-supported` error naming it."""
    path = tmp_path / "r5.json"
    path.write_bytes(orjson.dumps({"resourceType": "InventoryItem", "id": "i1"}))
    status, outcome = run([str(path), "--format", "operationoutcome"], capsys)
    [issue] = outcome["issue"]
    assert status == 1
    assert (issue["code"], issue["location"]) == ("not-supported", ["r5.json", "InventoryItem/i1"])
    assert "'InventoryItem' is not a FHIR R4 resource type" in issue["diagnostics"]
    assert "expression" not in issue


def test_a_birth_date_after_today_by_the_clock_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`validate` holds Patient.birthDate to 1900 … today by the commands' one clock
    (R-CODE-4, D-83): 2026-06-01 is fine on 2026-06-01 and an error the day before."""
    resources = practice()
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    patient["birthDate"] = "2026-06-01"
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(collection(resources)))
    monkeypatch.setattr(cli_context, "clock", lambda: datetime(2026, 5, 31, 12, tzinfo=UTC))
    status, document = run([str(path)], capsys)
    assert status == 1
    assert [(f["severity"], f["rule"]) for f in document["findings"]] == [("error", "R-CODE-4")]
    assert "the birth date lies after 2026-05-31" in document["findings"][0]["message"]
    monkeypatch.setattr(cli_context, "clock", lambda: datetime(2026, 6, 1, 12, tzinfo=UTC))
    assert run([str(path)], capsys) == (0, {"findings": []})
