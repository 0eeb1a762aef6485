"""The `substreg` command line: exit codes, one-line errors, output forms (REPORTS.md)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.cli.main import main
from adapter.fhir.source import read_paths
from adapter.mappings import packaged_mappings

CASES = Path(__file__).resolve().parent / "cases"
SUBOXONE = CASES / "40-sub-suboxone-naloxone" / "input.json"  # FROTM128 from 2025-11-03
SUBOXONE_AS_OF = "2025-11-17"

Json = dict[str, Any]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `substreg argv` run in this process."""
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse exits for usage errors
        status = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return status, out, err


def derive_doc(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Json:
    status, out, err = run(["derive", *argv], capsys)
    assert status == 0, err
    assert err == ""
    document: Json = json.loads(out)
    return document


def one_line(err: str) -> str:
    """The single line of a usage error; fails on a traceback or several lines."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("substreg: ")
    return lines[0]


def minimal_resources() -> list[Json]:
    """Patient Anna Berger (ANBEF530), doctor 3800101, S prescription, intake 03-03..03-05."""
    marker = {"system": "https://fhir.substreg.dev/CodeSystem/btm-marker", "code": "S"}
    med = {"coding": [{"system": "http://fhir.de/CodeSystem/bfarm/atc", "code": "N07BC02"}]}
    resources: list[Json] = [
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"use": "official", "family": "Berger", "given": ["Anna"]}],
            "gender": "female",
            "birthDate": "1980-03-15",
        },
        {
            "resourceType": "Practitioner",
            "id": "d1",
            "identifier": [{"system": "http://fhir.de/sid/bfarm/btmnr", "value": "3800101"}],
            "name": [{"family": "Wolff", "given": ["Klara"]}],
            "qualification": [
                {
                    "code": {
                        "coding": [
                            {
                                "system": "https://fhir.substreg.dev/CodeSystem/qualification",
                                "code": "suchtmedizin",
                            }
                        ]
                    }
                }
            ],
        },
        {
            "resourceType": "MedicationRequest",
            "id": "mr1",
            "status": "active",
            "intent": "order",
            "category": [{"coding": [marker]}],
            "medicationCodeableConcept": med,
            "subject": {"reference": "Patient/p1"},
            "authoredOn": "2025-03-03",
            "requester": {"reference": "Practitioner/d1"},
        },
    ]
    for day in ("03", "04", "05"):
        resources.append(
            {
                "resourceType": "MedicationAdministration",
                "id": f"ma-{day}",
                "status": "completed",
                "medicationCodeableConcept": med,
                "subject": {"reference": "Patient/p1"},
                "effectiveDateTime": f"2025-03-{day}T08:30:00+01:00",
                "request": {"reference": "MedicationRequest/mr1"},
            }
        )
    return resources


def write_ndjson(path: Path, resources: list[Json]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))
    return path


# -- exit status 2 with one line on stderr ---------------------------------------------


def test_missing_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing input file: exit 2, one line naming it (REPORTS.md)."""
    missing = tmp_path / "nowhere.json"
    status, out, err = run(["derive", str(missing), "--as-of", "2025-03-10"], capsys)
    assert status == 2
    assert out == ""
    assert "nowhere.json" in one_line(err)


def test_file_that_is_not_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not JSON: exit 2, one line naming it (REPORTS.md)."""
    path = tmp_path / "export.json"
    path.write_text("Patient;Berger;Anna\n", encoding="utf-8")
    status, _, err = run(["derive", str(path), "--as-of", "2025-03-10"], capsys)
    assert status == 2
    line = one_line(err)
    assert "export.json" in line
    assert "not JSON" in line


@pytest.mark.parametrize(
    "content",
    [b'{"name": "Berger"}', b"[1, 2, 3]", b'"Patient"', b'{"resourceType": 7}'],
    ids=["object-without-resourceType", "array", "string", "resourceType-not-a-string"],
)
def test_json_that_is_not_fhir_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    """JSON without a resourceType is not FHIR: exit 2, one line (REPORTS.md)."""
    path = tmp_path / "thing.json"
    path.write_bytes(content)
    status, _, err = run(["derive", str(path), "--as-of", "2025-03-10"], capsys)
    assert status == 2
    assert "resourceType" in one_line(err)


def test_json_that_is_not_fhir_in_a_folder_is_a_warning_and_the_rest_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """D-51: an export's own meta file beside the resources is named in a warning, not read;
    the resources are (a damaged file would still stop the run)."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "meta_info.json").write_bytes(b'{"name": "E2E", "version": 3}')
    (folder / "data.json").write_bytes(SUBOXONE.read_bytes())
    status, out, err = run(["derive", str(folder), "--as-of", SUBOXONE_AS_OF], capsys)
    document = orjson.loads(out)
    assert (status, err) == (0, "")
    assert len(document["reports"]) == 1
    [warning] = [f for f in document["findings"] if f["sources"] == ["meta_info.json"]]
    assert warning["severity"] == "warning"
    (folder / "broken.json").write_bytes(b'{"resourceType": ')
    status, _, err = run(["derive", str(folder), "--as-of", SUBOXONE_AS_OF], capsys)
    assert status == 2
    assert "broken.json" in one_line(err)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["derive", str(SUBOXONE), "--as-of", SUBOXONE_AS_OF, "--since", "2025-01-01"], "--since"),
        (["derive", str(SUBOXONE), "--as-of", "2025-02-30"], "2025-02-30"),
        (["derive", str(SUBOXONE), "--as-of", "30.03.2025"], "30.03.2025"),
        (["derive", str(SUBOXONE), "--as-of", "today"], "today"),
        (["derive", str(SUBOXONE)], "--as-of"),
        (["derive", "--as-of", SUBOXONE_AS_OF], "PATH"),
        (["derive", str(SUBOXONE), "--as-of", SUBOXONE_AS_OF, "--format", "xml"], "xml"),
        ([], "command"),
        (["export", str(SUBOXONE)], "export"),
    ],
    ids=[
        "unknown-option",
        "impossible-as-of",
        "german-as-of",
        "word-as-of",
        "missing-as-of",
        "missing-path",
        "unknown-format",
        "no-command",
        "unknown-command",
    ],
)
def test_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    """Unknown options, bad or missing --as-of: exit 2, one line, no usage block (REPORTS.md)."""
    status, out, err = run(argv, capsys)
    assert status == 2
    assert out == ""
    assert needle in one_line(err)


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[doctors\nbtm_number = 1", "not valid TOML"),
        ('timezone = "Europe/Berlin"\n', "timezone"),
        ('[doctors."123456701"]\nbtm = "3800101"\n', "btm"),
        ('[doctors."123456701"]\nbtm_number = "380010"\n', "btm_number"),
        ('[doctors."123456701"]\nbtm_number = 3800101\n', "btm_number"),
        ('time_zone = "UTC"\n', "time_zone"),
    ],
    ids=[
        "bad-toml",
        "unknown-setting",
        "unknown-doctor-key",
        "six-digit-btm",
        "btm-as-number",
        "time-zone",
    ],
)
def test_bad_config_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, needle: str
) -> None:
    """A configuration that cannot be used: exit 2, one line naming file and setting."""
    config = tmp_path / "practice.toml"
    config.write_text(toml, encoding="utf-8")
    argv = ["derive", str(SUBOXONE), "--as-of", SUBOXONE_AS_OF, "--config", str(config)]
    status, out, err = run(argv, capsys)
    assert status == 2
    assert out == ""
    line = one_line(err)
    assert "practice.toml" in line
    assert needle in line


def test_missing_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --config file that does not exist: exit 2, one line naming it."""
    argv = [
        "derive",
        str(SUBOXONE),
        "--as-of",
        SUBOXONE_AS_OF,
        "--config",
        str(tmp_path / "x.toml"),
    ]
    status, _, err = run(argv, capsys)
    assert status == 2
    assert "x.toml" in one_line(err)


@pytest.mark.parametrize("kind", ["directory", "latin-1"], ids=str)
def test_unreadable_config_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """A --config that is a directory or not UTF-8: exit 2 with one line, never a traceback."""
    config = tmp_path / "practice.toml"
    if kind == "directory":
        config.mkdir()
    else:
        config.write_bytes('[doctors."Müller"]\nbtm_number = "3800101"\n'.encode("latin-1"))
    argv = ["derive", str(SUBOXONE), "--as-of", SUBOXONE_AS_OF, "--config", str(config)]
    status, _, err = run(argv, capsys)
    assert status == 2
    assert "practice.toml" in one_line(err)


@pytest.mark.parametrize(
    "argv",
    [
        ["derive", "/nonexistent/export.json", "--as-of", "2025-03-10"],
        ["derive", str(SUBOXONE), "--as-of", "2025-13-01"],
        ["derive", str(SUBOXONE), "--as-of", SUBOXONE_AS_OF, "--bogus"],
    ],
    ids=["missing-file", "bad-as-of", "unknown-option"],
)
def test_the_installed_command_exits_2_without_traceback(argv: list[str]) -> None:
    """The real process: exit status 2 and one stderr line, never a traceback (REPORTS.md)."""
    proc = subprocess.run(
        [sys.executable, "-m", "adapter.cli", *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    one_line(proc.stderr)


def _break(text: str, name: str) -> str:
    """The text of a mapping file with one deliberate error."""
    data = json.loads(text)
    if name == "substances.json":
        data["atc"]["N07BC02"]["substance"] = "Methadone"
    elif name == "products.json":
        data["products"][0]["depot"]["days_by_strength_mg"]["8"] = "seven"
    else:
        return text[: len(text) // 2]
    return json.dumps(data)


@pytest.mark.parametrize("name", ["substances.json", "products.json", "names.json"], ids=str)
def test_broken_mappings_exit_2_without_traceback(tmp_path: Path, name: str) -> None:
    """A broken mapping file (SUBSTREG_MAPPINGS_DIR): exit 2, one line naming the file."""
    folder = tmp_path / "mappings"
    shutil.copytree(str(packaged_mappings()), folder)
    target = folder / name
    target.write_text(_break(target.read_text(encoding="utf-8"), name), encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "adapter.cli",
            "derive",
            str(SUBOXONE),
            "--as-of",
            SUBOXONE_AS_OF,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SUBSTREG_MAPPINGS_DIR": str(folder)},
    )
    assert proc.returncode == 2
    assert name in one_line(proc.stderr)


# -- exit status 0 --------------------------------------------------------------------


def test_json_document_has_the_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """One JSON document with as_of, reports and findings; each report has every field."""
    document = derive_doc([str(SUBOXONE), "--as-of", SUBOXONE_AS_OF], capsys)
    assert document["as_of"] == SUBOXONE_AS_OF
    assert isinstance(document["findings"], list)
    [report] = document["reports"]
    assert set(report) == {
        "id",
        "kind",
        "made_on",
        "patient_code",
        "date",
        "substance",
        "doctor",
        "consultant",
        "remarks",
        "rule",
        "sources",
    }
    assert (report["kind"], report["patient_code"], report["date"]) == (
        "anmeldung",
        "FROTM128",
        "2025-11-03",
    )
    assert report["made_on"] == "2025-11-03"
    assert set(report["doctor"]) == {
        "btm_number",
        "family_name",
        "given_name",
        "birth_date",
        "address",
        "phone",
    }
    assert report["doctor"]["family_name"] == "Wolff"  # "Dr. med." is not part of the name
    assert all(s.count("/") == 1 for s in report["sources"])


def test_a_directory_of_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory: every *.json and *.ndjson in it is read, exit 0 (REPORTS.md PATH)."""
    folder = tmp_path / "export"
    folder.mkdir()
    resources = minimal_resources()
    (folder / "people.json").write_bytes(
        orjson.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": r} for r in resources[:2]],
            }
        )
    )
    write_ndjson(folder / "events.ndjson", resources[2:])
    (folder / "README.txt").write_text("ignored", encoding="utf-8")
    document = derive_doc([str(folder), "--as-of", "2025-03-10"], capsys)
    assert [(r["kind"], r["patient_code"], r["date"]) for r in document["reports"]] == [
        ("anmeldung", "ANBEF530", "2025-03-03")
    ]


def test_a_link_back_up_the_folder_tree_is_read_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A symbolic link to a folder above does not make the reading go round forever."""
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    write_ndjson(folder / "all.ndjson", minimal_resources())
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    assert len(list(read_paths([folder]))) == len(minimal_resources())
    document = derive_doc([str(folder), "--as-of", "2025-03-10"], capsys)
    assert [r["patient_code"] for r in document["reports"]] == ["ANBEF530"]


def test_several_paths_are_one_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """PATH [PATH ...]: resources in separate files refer to each other (REPORTS.md)."""
    resources = minimal_resources()
    first = write_ndjson(tmp_path / "a.ndjson", resources[3:])
    second = write_ndjson(tmp_path / "b.ndjson", resources[:3])
    document = derive_doc([str(first), str(second), "--as-of", "2025-03-10"], capsys)
    assert [r["patient_code"] for r in document["reports"]] == ["ANBEF530"]


def test_table_format(capsys: pytest.CaptureFixture[str]) -> None:
    """--format table prints one line per report and the findings count."""
    status, out, err = run(
        ["derive", str(SUBOXONE), "--as-of", SUBOXONE_AS_OF, "--format", "table"], capsys
    )
    assert status == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == f"Reports due by {SUBOXONE_AS_OF}: 1"
    row = next(line for line in lines if "FROTM128" in line)
    for cell in ("2025-11-03", "anmeldung", "Buprenorphin", "3800101", "R-EP-1"):
        assert cell in row
    assert lines[-1] == "Findings: 0"


def test_ndjson_with_a_broken_line_is_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NDJSON with one broken line: exit 0, an error finding naming `file line N` (INPUT.md)."""
    resources = minimal_resources()
    lines = [orjson.dumps(r) for r in resources]
    lines.insert(3, b'{"resourceType": "MedicationAdministration", "id": "ma-cut", "stat')
    lines.insert(5, b'{"id": "no-type"}')
    path = tmp_path / "bulk.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    document = derive_doc([str(path), "--as-of", "2025-03-10"], capsys)
    assert [r["patient_code"] for r in document["reports"]] == ["ANBEF530"]
    errors = [f for f in document["findings"] if f["severity"] == "error"]
    messages = " | ".join(f["message"] for f in errors)
    assert "bulk.ndjson line 4" in messages
    assert "bulk.ndjson line 6" in messages
    assert {s for f in errors for s in f["sources"]} >= {"bulk.ndjson line 4", "bulk.ndjson line 6"}


def test_resource_with_a_bad_field_is_a_finding_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """effectiveDateTime '2025-13-45': exit 0, finding naming MedicationAdministration/<id>."""
    resources = minimal_resources()
    resources.append({**resources[-1], "id": "ma-bad", "effectiveDateTime": "2025-13-45"})
    path = write_ndjson(tmp_path / "bulk.ndjson", resources)
    document = derive_doc([str(path), "--as-of", "2025-03-10"], capsys)
    assert [r["date"] for r in document["reports"]] == ["2025-03-03"]
    [finding] = [
        f for f in document["findings"] if "MedicationAdministration/ma-bad" in f["sources"]
    ]
    assert finding["severity"] == "error"
    assert "MedicationAdministration/ma-bad" in finding["message"]
    assert "effectiveDateTime" in finding["message"]


def test_broken_bundle_entry_is_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Bundle entry without a resourceType is a finding naming the entry, not a crash."""
    entries: list[Any] = [{"resource": r} for r in minimal_resources()]
    entries.insert(1, {"resource": {"id": "x"}})
    entries.insert(2, "not an entry")
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps({"resourceType": "Bundle", "type": "batch", "entry": entries}))
    document = derive_doc([str(path), "--as-of", "2025-03-10"], capsys)
    assert [r["patient_code"] for r in document["reports"]] == ["ANBEF530"]
    messages = " | ".join(f["message"] for f in document["findings"])
    assert "bundle.json entry 1" in messages
    assert "bundle.json entry 2" in messages


# -- stable ids and order (REPORTS.md) -----------------------------------------------------


def test_same_input_gives_the_same_ids(capsys: pytest.CaptureFixture[str]) -> None:
    """The same input twice gives the same document, ids included (REPORTS.md `id`)."""
    case = CASES / "31-abs-substitute-40-days" / "input.json"
    first = derive_doc([str(case), "--as-of", "2025-05-11"], capsys)
    second = derive_doc([str(case), "--as-of", "2025-05-11"], capsys)
    assert first == second
    ids = [r["id"] for r in first["reports"]]
    assert len(ids) == 3
    assert len(set(ids)) == 3


def test_ids_do_not_depend_on_entry_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A collection Bundle has no order: shuffled entries give the same reports and ids."""
    case = CASES / "34-chg-leaving-doctor" / "input.json"
    base = derive_doc([str(case), "--as-of", "2025-06-30"], capsys)
    bundle = json.loads(case.read_text(encoding="utf-8"))
    random.Random(20250630).shuffle(bundle["entry"])
    shuffled = tmp_path / "input.json"
    shuffled.write_bytes(orjson.dumps(bundle))
    assert (
        derive_doc([str(shuffled), "--as-of", "2025-06-30"], capsys)["reports"] == base["reports"]
    )


def test_ids_stay_when_as_of_moves_on(capsys: pytest.CaptureFixture[str]) -> None:
    """A report keeps its id on a later run (the stateful commands match reports by id)."""
    case = CASES / "47-ep-gap-10-vs-9-days" / "input.json"
    early = derive_doc([str(case), "--as-of", "2025-07-21"], capsys)
    late = derive_doc([str(case), "--as-of", "2025-07-28"], capsys)
    early_ids = {r["id"]: (r["kind"], r["patient_code"], r["date"]) for r in early["reports"]}
    late_ids = {r["id"]: (r["kind"], r["patient_code"], r["date"]) for r in late["reports"]}
    assert early_ids
    assert early_ids.items() <= late_ids.items()


def test_reports_are_ordered_by_made_on_date_doctor_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Order: made_on, date, doctor, patient code; Abmeldung before Anmeldung (REPORTS.md)."""
    paths = [
        str(CASES / name / "input.json")
        for name in (
            "47-ep-gap-10-vs-9-days",
            "48-abs-hospital-31-vs-30-days",
            "31-abs-substitute-40-days",
        )
    ]
    reports = derive_doc([*paths, "--as-of", "2025-09-22"], capsys)["reports"]
    assert len(reports) >= 10
    rank = {"abmeldung": 0, "anmeldung": 1, "mitteilung": 2}
    order = [
        (
            r["made_on"],
            r["date"],
            r["doctor"]["btm_number"],
            r["patient_code"] or "",
            rank[r["kind"]],
        )
        for r in reports
    ]
    assert order == sorted(order)
    # 48: on 09-14 Olga's Abmeldung (made that day) comes before anything made later.
    olga = [(r["kind"], r["made_on"]) for r in reports if r["patient_code"] == "OLBRF337"]
    assert olga == [
        ("anmeldung", "2025-08-04"),
        ("abmeldung", "2025-09-14"),
        ("anmeldung", "2025-09-15"),
    ]


def test_findings_never_carry_names_or_birth_dates(capsys: pytest.CaptureFixture[str]) -> None:
    """Findings name resources, not persons (STYLE rule 8, PRIVACY)."""
    case = CASES / "36-code-sex-other-refused" / "input.json"
    findings = derive_doc([str(case), "--as-of", "2025-02-17"], capsys)["findings"]
    assert findings
    text = json.dumps(findings, ensure_ascii=False)
    for personal in ("Kim", "Berg", "1995-03-08", "08.03.1995"):
        assert personal not in text


# -- --fail-on for pipelines ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "fail_on", "status"),
    [
        ("40-sub-suboxone-naloxone", "warning", 0),
        ("33-not-detox-21-days", "warning", 0),
        ("56-sub-untied-levomethadone-and-f11-event", "error", 0),
        ("56-sub-untied-levomethadone-and-f11-event", "warning", 1),
        ("36-code-sex-other-refused", "error", 1),
        ("36-code-sex-other-refused", "warning", 1),
        ("36-code-sex-other-refused", None, 0),
    ],
    ids=[
        "no-findings",
        "info-is-never-a-failure",
        "warning-under-fail-on-error",
        "warning-under-fail-on-warning",
        "error-under-fail-on-error",
        "error-under-fail-on-warning",
        "error-without-fail-on",
    ],
)
def test_fail_on_exits_1_for_findings_of_that_severity_or_worse(
    capsys: pytest.CaptureFixture[str], case: str, fail_on: str | None, status: int
) -> None:
    """--fail-on error|warning: exit 1 when such a finding is present; the document is
    printed all the same (README, cli.py)."""
    expected = json.loads((CASES / case / "expected.json").read_text(encoding="utf-8"))
    argv = ["derive", str(CASES / case / "input.json"), "--as-of", expected["as_of"]]
    if fail_on:
        argv += ["--fail-on", fail_on]
    found, out, err = run(argv, capsys)
    assert (found, err) == (status, "")
    assert len(json.loads(out)["reports"]) == len(expected["reports"])


def test_fail_on_takes_only_error_or_warning(capsys: pytest.CaptureFixture[str]) -> None:
    """--fail-on info is a usage error: exit 2, one line."""
    argv = ["derive", str(SUBOXONE), "--as-of", SUBOXONE_AS_OF, "--fail-on", "info"]
    status, out, err = run(argv, capsys)
    assert (status, out) == (2, "")
    assert "--fail-on" in one_line(err)
