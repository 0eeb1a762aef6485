"""Real German FHIR examples (KBV eRezept, gematik E-Rezept workflow, ePA, ISiK, MII, in
JSON and XML) are read cleanly (REAL-DATA.md, INPUT.md 15–23).

None of them is a substitution treatment, so each must be read without an error finding
and give no report. `../shared/fixtures/real/` and `../shared/fixtures/real-more/` are
used when they are beside the clone; a few files are shipped in `tests/fixtures/real/`
(SOURCES.md there) so that a clone alone tests this too.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.cli.main import main
from adapter.export.derivation import derivation_json
from adapter.services import derive

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"
SHARED_MORE = SHARED.parent / "real-more"
OWN = Path(__file__).resolve().parent / "fixtures" / "real"
AS_OF = date(2026, 12, 31)  # after every date in the examples
SUFFIXES = (".json", ".ndjson", ".xml")


def _inputs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES)


def _files(root: Path, label: str) -> list[Any]:
    if not root.is_dir():
        return []
    return [
        pytest.param(path, id=f"{label}/{path.relative_to(root).as_posix()}")
        for path in _inputs(root)
    ]


FILES = _files(SHARED, "shared") + _files(SHARED_MORE, "shared-more") + _files(OWN, "own")


def derive_json(paths: list[Path]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(derivation_json(derive(paths, as_of=AS_OF)))
    return document


def test_the_shipped_fixtures_are_there() -> None:
    """tests/fixtures/real holds three examples, nine more under more/, and SOURCES.md."""
    assert len(list(OWN.glob("*.json"))) == 3
    assert len(_inputs(OWN / "more")) == 9
    assert len([p for p in _inputs(OWN) if p.suffix == ".xml"]) == 4
    assert (OWN / "SOURCES.md").is_file()


def test_xml_files_are_among_the_real_examples() -> None:
    """The XML examples are tested too, not only the JSON ones (INPUT.md 23)."""
    assert any(str(param.values[0]).endswith(".xml") for param in FILES)


@pytest.mark.parametrize("path", FILES)
def test_real_example_is_read_without_error_and_reports_nothing(path: Path) -> None:
    """A real non-substitution example: no error finding, no report (R-SUB-5, INPUT.md)."""
    document = derive_json([path])
    assert [f for f in document["findings"] if f["severity"] == "error"] == []
    assert document["reports"] == []


@pytest.mark.parametrize(
    "root",
    [
        pytest.param(SHARED, id="shared"),
        pytest.param(SHARED_MORE, id="shared-more"),
        pytest.param(OWN, id="own"),
    ],
)
def test_a_whole_folder_of_real_examples(root: Path) -> None:
    """All examples of a folder read together: no error finding, no report."""
    if not root.is_dir():
        pytest.skip(f"{root} is not beside this clone")
    document = derive_json([root])
    assert [f for f in document["findings"] if f["severity"] == "error"] == []
    assert document["reports"] == []


def test_both_real_folders_through_the_command_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """`substreg derive` over every real folder at once: exit 0, no report, no error."""
    roots = [str(root) for root in (SHARED, SHARED_MORE, OWN) if root.is_dir()]
    status = main(["derive", *roots, "--as-of", AS_OF.isoformat(), "--fail-on", "error"])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert json.loads(out)["reports"] == []


def test_every_shipped_file_is_a_byte_copy_named_in_sources() -> None:
    """Each shipped example is named in SOURCES.md and equals the shared original."""
    sources = (OWN / "SOURCES.md").read_text(encoding="utf-8")
    for path in sorted(OWN.glob("*.json")):
        assert f"`{path.name}`" in sources
        originals = list(SHARED.rglob(path.name)) if SHARED.is_dir() else []
        for original in originals:
            assert original.read_bytes() == path.read_bytes()
    for path in _inputs(OWN / "more"):
        relative = path.relative_to(OWN).as_posix()
        assert f"`{relative}`" in sources
        original = SHARED_MORE / path.relative_to(OWN / "more")
        if original.is_file():
            assert original.read_bytes() == path.read_bytes()


def test_real_isik_patient_codes_from_own_name(tmp_path: Path) -> None:
    """The ISiK patient's code uses own-name 'Musterfrau', not 'Fürstin von …' (R-CODE-2)."""
    patient = OWN / "Patient-PatientinMusterfrau.json"
    doctor = {
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
    }
    marked = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "category": [
            {"coding": [{"system": "https://fhir.substreg.dev/CodeSystem/btm-marker", "code": "S"}]}
        ],
        "medicationCodeableConcept": {"text": "Methaddict 10 mg Tabletten"},
        "subject": {"reference": "Patient/PatientinMusterfrau"},
        "authoredOn": "2025-03-03",
        "requester": {"reference": "Practitioner/d1"},
    }
    events = tmp_path / "events.ndjson"
    events.write_bytes(orjson.dumps(doctor) + b"\n" + orjson.dumps(marked) + b"\n")
    document = json.loads(derivation_json(derive([patient, events], as_of=date(2025, 3, 5))))
    # Erika → ER, own-name Musterfrau → MU, female → F, 12.08.1964 → 2 8 4.
    assert [(r["kind"], r["patient_code"], r["date"]) for r in document["reports"]] == [
        ("anmeldung", "ERMUF284", "2025-03-03")
    ]
