"""FHIR Bulk Data folders: read through their `manifest.json` (INPUT.md 22, D-38)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.cli.main import main
from tests.test_fhir_input import CODE, abmeldung, anmeldung, daily, keys, patient, practice

MORE = Path(__file__).resolve().parent / "fixtures" / "real" / "more"
GEMATIK_OUTCOME = MORE / "erp-workflow-1.5.2" / "OperationOutcome-ExampleOperationCreateError.json"
BASE = "https://ehr.example/fhir/bulkfiles"
AS_OF = "2025-03-10"

Json = dict[str, Any]


def ndjson(path: Path, resources: list[Json]) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))


def export(folder: Path, resources: list[Json], **manifest: Any) -> Path:
    """A Bulk Data export of `resources`: one NDJSON file per type, and its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[Json]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    for kind, group in by_type.items():
        ndjson(folder / f"{kind}.ndjson", group)
    document = {
        "transactionTime": "2025-03-10T02:00:00+01:00",
        "request": "https://ehr.example/fhir/$export?_type=" + ",".join(by_type),
        "requiresAccessToken": True,
        "output": [{"type": k, "url": f"{BASE}/{k}.ndjson"} for k in by_type],
        "error": [],
        **manifest,
    }
    (folder / "manifest.json").write_bytes(orjson.dumps(document))
    return folder


def derive_doc(paths: list[Path], capsys: pytest.CaptureFixture[str]) -> Json:
    status = main(["derive", *map(str, paths), "--as-of", AS_OF])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    document: Json = json.loads(out)
    return document


def findings(document: Json, severity: str) -> list[Json]:
    return [f for f in document["findings"] if f["severity"] == severity]


def test_a_bulk_export_is_read_through_its_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The manifest is the table of contents, never an error: its files are read."""
    folder = export(tmp_path / "export", practice())
    document = derive_doc([folder], capsys)
    assert keys(document) == [anmeldung("2025-03-03")]
    assert document["findings"] == []


def test_the_manifest_named_directly_reads_its_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`derive export/manifest.json` reads the export the manifest lists."""
    folder = export(tmp_path / "export", practice())
    assert keys(derive_doc([folder / "manifest.json"], capsys)) == [anmeldung("2025-03-03")]


def test_error_files_become_warnings_naming_file_and_issue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each issue of the export's OperationOutcomes is a warning with file, line and text."""
    folder = tmp_path / "export"
    folder.mkdir()
    gematik = orjson.loads(GEMATIK_OUTCOME.read_bytes())
    own = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": "processing", "diagnostics": "Encounter: timeout"},
            {"severity": "warning", "code": "too-costly", "details": {"text": "truncated"}},
        ],
    }
    ndjson(folder / "errors.ndjson", [gematik, own])
    export(folder, practice(), error=[{"type": "OperationOutcome", "url": f"{BASE}/errors.ndjson"}])
    document = derive_doc([folder], capsys)
    assert keys(document) == [anmeldung("2025-03-03")]
    warnings = findings(document, "warning")
    assert [(f["rule"], f["sources"]) for f in warnings] == [
        ("INPUT", ["errors.ndjson line 1"]),
        ("INPUT", ["errors.ndjson line 2"]),
        ("INPUT", ["errors.ndjson line 2"]),
    ]
    messages = [f["message"] for f in warnings]
    gematik_text = gematik["issue"][0]["details"]["text"]  # then its diagnostics, shortened
    expected = f"errors.ndjson line 1: the export reported a problem: {gematik_text}: Parameters"
    assert messages[0].startswith(expected)
    assert messages[0].endswith("… (error, invalid)")
    assert "Encounter: timeout (error, processing)" in messages[1]
    assert "truncated (warning, too-costly)" in messages[2]
    assert findings(document, "error") == []


def test_an_output_file_missing_from_the_folder_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file the manifest lists but the folder lacks: the export is incomplete (error)."""
    folder = export(tmp_path / "export", practice())
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    manifest["output"].append({"type": "Encounter", "url": f"{BASE}/Encounter.ndjson"})
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
    document = derive_doc([folder], capsys)
    assert keys(document) == [anmeldung("2025-03-03")]
    [error] = findings(document, "error")
    assert error["sources"] == ["manifest.json output 4"]
    assert "Encounter.ndjson" in error["message"]
    assert "incomplete" in error["message"]


def test_files_the_manifest_does_not_list_are_not_read_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An NDJSON file beside the manifest but not in it (an older export's) is not read,
    and a warning names it: here its later intake would have moved the Abmeldung."""
    folder = export(tmp_path / "export", practice())
    ndjson(folder / "MedicationAdministration-old.ndjson", daily("2025-03-20", "2025-03-21"))
    status = main(["derive", str(folder), "--as-of", "2025-04-30"])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    document = json.loads(out)
    assert keys(document) == [anmeldung("2025-03-03"), abmeldung("2025-03-07")]
    [warning] = findings(document, "warning")
    assert warning["sources"] == ["MedicationAdministration-old.ndjson"]
    assert "not listed in manifest.json" in warning["message"]


def test_deleted_files_are_read_and_their_deletes_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bulk Data 2.0 `deleted` Bundles (DELETE requests, no resource) are read, no crash."""
    folder = tmp_path / "export"
    folder.mkdir()
    deleted = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": "Patient/p9"}}],
    }
    ndjson(folder / "deleted.ndjson", [deleted])
    export(folder, practice(), deleted=[{"type": "Bundle", "url": f"{BASE}/deleted.ndjson"}])
    document = derive_doc([folder], capsys)
    assert keys(document) == [anmeldung("2025-03-03")]
    assert document["findings"] == []


def test_a_missing_error_file_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The export's error file is not there: a warning (the data itself is complete)."""
    folder = export(
        tmp_path / "export",
        practice(),
        error=[{"type": "OperationOutcome", "url": f"{BASE}/errors.ndjson"}],
    )
    document = derive_doc([folder], capsys)
    [warning] = findings(document, "warning")
    assert warning["sources"] == ["manifest.json error 0"]
    assert "errors.ndjson is missing" in warning["message"]


def test_a_manifest_in_a_subfolder_governs_only_that_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder holding an export beside other files: both are read, each by its rules."""
    resources = practice()
    export(tmp_path / "bulk", resources[1:])
    ndjson(tmp_path / "patients.ndjson", [patient()])
    document = derive_doc([tmp_path], capsys)
    assert [r["patient_code"] for r in document["reports"]] == [CODE]
    assert document["findings"] == []


@pytest.mark.parametrize(
    "content",
    [b'{"output": "everything"}', b'{"transactionTime": "2025-03-10T02:00:00Z"}', b"[]"],
    ids=["output-not-a-list", "no-output", "array"],
)
def test_a_manifest_json_that_is_neither_manifest_nor_fhir_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    """`manifest.json` that is no manifest and no resource: exit 2, one line naming it."""
    folder = export(tmp_path / "export", practice())
    (folder / "manifest.json").write_bytes(content)
    status = main(["derive", str(folder), "--as-of", AS_OF])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    [line] = err.splitlines()
    assert "manifest.json" in line


def test_a_malformed_manifest_list_is_a_finding_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output entry without url, an `error` that is no list: error findings naming the
    place in the manifest; the files it does list are read."""
    folder = export(tmp_path / "export", practice(), error={"url": "errors.ndjson"})
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    manifest["output"].append({"type": "Encounter"})
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
    document = derive_doc([folder], capsys)
    assert keys(document) == [anmeldung("2025-03-03")]
    assert sorted(s for f in findings(document, "error") for s in f["sources"]) == [
        "manifest.json error",
        "manifest.json output 4",
    ]


def test_an_error_file_without_issues_still_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An OperationOutcome without issues is a warning too; another resource in an error
    file is read as input (the export put it there)."""
    folder = tmp_path / "export"
    folder.mkdir()
    resources = practice()
    ndjson(folder / "errors.ndjson", [{"resourceType": "OperationOutcome"}, resources[0]])
    export(
        folder,
        resources[1:],
        error=[{"type": "OperationOutcome", "url": f"{BASE}/errors.ndjson"}],
    )
    document = derive_doc([folder], capsys)
    assert keys(document) == [anmeldung("2025-03-03")]
    [warning] = findings(document, "warning")
    assert warning["message"] == "errors.ndjson line 1: the export reported a problem: (no text)"
