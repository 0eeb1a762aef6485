"""The bundled demo practice (demo/, `make run`) gives what demo/README.md promises.

The expected reports are derived by hand from RULES.md and INPUT.md; demo/README.md has
the day arithmetic for each patient.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapter.cli.main import main
from adapter.export.derivation import derivation_json
from adapter.fhir.validate import validate_paths
from adapter.services import derive
from adapter.settings.practice import load_config

DEMO = Path(__file__).resolve().parents[1] / "demo"
AS_OF = "2025-12-31"
FALKNER, BRANDT, AYDIN = "3990101", "3990202", "3990303"

Json = dict[str, Any]

# (made_on, kind, code, date, substance, doctor BtM, consultant BtM, rule), in output order.
EXPECTED = [
    ("2025-01-07", "anmeldung", "THREM249", "2025-01-07", "Levomethadon", FALKNER, None, "R-EP-1"),
    ("2025-02-03", "anmeldung", "NISOF918", "2025-02-03", "Methadon", FALKNER, None, "R-EP-1"),
    ("2025-03-03", "anmeldung", "KAWOF315", "2025-03-03", "Methadon", FALKNER, None, "R-EP-1"),
    ("2025-03-25", "abmeldung", "NISOF918", "2025-03-14", None, FALKNER, None, "R-EP-3"),
    ("2025-04-01", "anmeldung", "MAVOM407", "2025-04-01", "Methadon", BRANDT, AYDIN, "R-EP-1"),
    ("2025-04-07", "anmeldung", "DASCM160", "2025-04-07", "Buprenorphin", FALKNER, None, "R-EP-1"),
    ("2025-06-02", "anmeldung", "OLMÜM522", "2025-06-02", "Buprenorphin", FALKNER, None, "R-EP-1"),
    ("2025-07-01", "abmeldung", "MAVOM407", "2025-06-30", None, BRANDT, None, "R-EP-2"),
    ("2025-07-01", "anmeldung", "HELIM831", "2025-07-01", "Levomethadon", FALKNER, None, "R-EP-1"),
    ("2025-08-04", "anmeldung", "JUKEF621", "2025-08-04", "Levomethadon", BRANDT, AYDIN, "R-EP-1"),
    ("2025-09-14", "abmeldung", "JUKEF621", "2025-09-13", None, BRANDT, None, "R-CHG-1"),
    ("2025-09-14", "anmeldung", "JUBRF621", "2025-09-14", "Levomethadon", BRANDT, AYDIN, "R-CHG-1"),
    ("2025-10-01", "mitteilung", None, "2025-10-01", None, FALKNER, None, "R-CHG-4"),
    ("2025-10-06", "anmeldung", "NISOF918", "2025-10-06", "Methadon", FALKNER, None, "R-EP-1"),
    ("2025-11-13", "abmeldung", "KAWOF315", "2025-11-02", None, FALKNER, None, "R-EP-3"),
    ("2025-11-27", "abmeldung", "OLMÜM522", "2025-11-16", None, FALKNER, None, "R-EP-3"),
]


@pytest.fixture(scope="module")
def document() -> Json:
    """The JSON document of `substreg derive demo/ --as-of 2025-12-31 --config …`."""
    config = load_config(DEMO / "practice.toml")
    derivation = derive([DEMO], as_of=date.fromisoformat(AS_OF), config=config)
    result: Json = json.loads(derivation_json(derivation))
    return result


def _row(report: Json) -> tuple[str | None, ...]:
    consultant = report["consultant"]
    return (
        report["made_on"],
        report["kind"],
        report["patient_code"],
        report["date"],
        report["substance"],
        report["doctor"]["btm_number"],
        consultant["btm_number"] if consultant else None,
        report["rule"],
    )


def test_the_demo_gives_exactly_the_reports_of_its_readme(document: Json) -> None:
    """Every report demo/README.md lists, in REPORTS.md order, and nothing else."""
    assert [_row(r) for r in document["reports"]] == EXPECTED


def test_the_demo_findings_are_the_sex_refusal_the_emergency_dose_and_the_patches(
    document: Json,
) -> None:
    """R-CODE-3 for Patient/1008 (gender other), R-SUB-5 and R-NOT-3 for Patient/1011 (the N
    dose and its prescription), R-SUB-5 info for Patient/1010 (BtM patches for pain)."""
    findings = {(f["severity"], f["rule"], f["sources"][0]) for f in document["findings"]}
    assert findings == {
        ("error", "R-CODE-3", "Patient/1008"),
        ("warning", "R-SUB-5", "Patient/1011"),
        ("info", "R-NOT-3", "Patient/1011"),
        ("info", "R-SUB-5", "Patient/1010"),
    }


def test_the_phone_change_notice_names_the_new_number(document: Json) -> None:
    """R-CHG-4: the notice says what changed; reports from that day carry the new phone."""
    phones = {r["made_on"]: r["doctor"]["phone"] for r in document["reports"]}
    [notice] = [r for r in document["reports"] if r["kind"] == "mitteilung"]
    assert notice["remarks"] == ["Neue Telefonnummer ab 01.10.2025: 01234 567820"]
    assert notice["sources"] == ["Practitioner/arzt-1"]
    assert phones["2025-03-03"] == "01234 567810"
    assert phones["2025-11-13"] == "01234 567820"


def test_doctor_data_comes_from_config_and_the_organizations(document: Json) -> None:
    """BtM number and birth date by LANR from practice.toml; address of the practice."""
    first = document["reports"][0]
    assert first["doctor"] == {
        "btm_number": FALKNER,
        "family_name": "Falkner",
        "given_name": "Miriam",
        "birth_date": "1974-09-30",
        "address": {"line": ["Lindenplatz 4"], "postal_code": "12345", "city": "Musterstadt"},
        "phone": "01234 567810",
    }
    consultant = next(r["consultant"] for r in document["reports"] if r["consultant"])
    assert consultant == {
        "btm_number": AYDIN,
        "family_name": "Aydin",
        "given_name": "Selin",
        "birth_date": None,
        "address": {"line": ["Brunnenweg 9"], "postal_code": "12349", "city": "Musterstadt"},
        "phone": "01234 998870",
    }


def test_every_demo_resource_is_valid_fhir_r4() -> None:
    """`substreg validate demo/` finds nothing: the demo shows data as it should be sent."""
    assert list(validate_paths([DEMO])) == []


def test_make_run_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    """The command of `make run` exits 0 and prints the 16 reports and 4 findings."""
    argv = ["derive", str(DEMO), "--as-of", AS_OF, "--config", str(DEMO / "practice.toml")]
    status = main([*argv, "--format", "table"])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"Reports due by {AS_OF}: {len(EXPECTED)}"
    assert "Findings: 4" in lines
