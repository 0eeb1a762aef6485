"""FHIR XML input: read like JSON, into the same dicts (INPUT.md 23, D-36).

The reader (adapter/fhir/xml_input.py) follows the FHIR rules between XML and JSON; the
tests hold it to the real twins gematik publishes in both forms, to every worked case of
this project written as XML by fhir.resources, and to the shapes the lean readers rely on.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.cli.main import main
from adapter.fhir.source import Entry, read_paths
from adapter.fhir.xml_input import load_xml

TESTS = Path(__file__).resolve().parent
MORE = TESTS / "fixtures" / "real" / "more"
CASES = TESTS / "cases"
TWINS = ["Beispiel_2_PZN", "Beispiel_24_Rezepturverordnung_SEL"]

Json = dict[str, Any]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith("substreg: ")
    return line


def entries(path: Path) -> list[tuple[Json, str | None]]:
    found = []
    for item in read_paths([path]):
        assert isinstance(item, Entry), item
        found.append((item.resource, item.full_url))
    return found


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the real twins ---------------------------------------------------------------------


@pytest.mark.parametrize("name", TWINS, ids=str)
def test_kbv_xml_twin_gives_the_same_resources_as_json(name: str) -> None:
    """The XML of a KBV 1.3.2 example yields the entries of its JSON twin, fullUrls too."""
    xml = entries(MORE / "kbv-1.3.2-xml" / f"{name}.xml")
    assert len(xml) == 7
    assert xml == entries(MORE / "kbv-1.3.2" / f"{name}.json")


@pytest.mark.parametrize("name", TWINS, ids=str)
def test_kbv_xml_twin_is_the_json_bundle(name: str) -> None:
    """The whole Bundle equals the JSON twin; the twins write one instant differently."""
    from_xml = load_xml(MORE / "kbv-1.3.2-xml" / f"{name}.xml")
    from_json = orjson.loads((MORE / "kbv-1.3.2" / f"{name}.json").read_bytes())
    # gematik's own twins: "…08:30:00Z" in XML, "…08:30:00+00:00" in JSON. Kept as written.
    assert from_xml.pop("timestamp") == "2024-05-20T08:30:00Z"
    assert from_json.pop("timestamp") == "2024-05-20T08:30:00+00:00"
    assert from_xml == from_json


def test_the_2025_end_to_end_xml_is_read() -> None:
    """The 2025 gematik end-to-end example, XML only: a prescription Bundle and the
    dispense Parameters give their resources (INPUT.md 23)."""
    folder = MORE / "e2e-2025-10-xml"
    kinds = [r["resourceType"] for r, _ in entries(folder / "PZN_Nr1_VerordnungArzt.xml")]
    assert kinds == [
        "Composition",
        "MedicationRequest",
        "Medication",
        "Patient",
        "Practitioner",
        "Organization",
        "Coverage",
    ]
    dispense = entries(folder / "PZN_Nr1_MedicationDispense.xml")
    assert [r["resourceType"] for r, _ in dispense] == ["MedicationDispense", "Medication"]
    assert dispense[0][0]["whenHandedOver"] == "2025-10-30"


def _worked_inputs() -> list[Any]:
    paths = sorted(CASES.glob("*/input.json"))
    return [pytest.param(p, id=p.parent.name) for p in paths]


_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def _moments(node: Any) -> Any:
    """The JSON with each date-time as the moment it names: fhir.resources writes "Z" as
    "+00:00" and ".244" as ".244000" (D-36), which real KBV and ePA examples spell so."""
    if isinstance(node, dict):
        return {key: _moments(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_moments(value) for value in node]
    if isinstance(node, str) and _MOMENT.fullmatch(node):
        return datetime.fromisoformat(node.replace("Z", "+00:00"))
    return node


def test_moments_compare_by_the_moment_only() -> None:
    """A "Z" and "+00:00" name one moment; another offset or another second does not."""
    same = _moments("2025-01-22T14:43:33.244Z") == _moments("2025-01-22T14:43:33.244000+00:00")
    assert same
    assert _moments("2025-06-02T08:00:00Z") != _moments("2025-06-02T08:00:00+02:00")
    assert _moments("2025-06-02T08:00:00Z") != _moments("2025-06-02T08:00:01Z")
    assert _moments("2025-06-02") == "2025-06-02"


@pytest.mark.parametrize("path", _worked_inputs())
def test_every_worked_case_written_as_xml_reads_back_the_same(path: Path, tmp_path: Path) -> None:
    """fhir.resources writes each worked case as XML; reading it gives the JSON back (each
    date-time the same moment: the writer respells "Z", which the real-shape cases carry)."""
    from fhir.resources.R4B import get_fhir_model_class

    data = orjson.loads(path.read_bytes())
    xml = get_fhir_model_class(data["resourceType"]).model_validate(data).model_dump_xml()
    target = tmp_path / "input.xml"
    target.write_bytes(xml)
    assert _moments(load_xml(target)) == _moments(data)


def test_a_worked_case_in_xml_gives_the_same_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`derive` on the XML form of a case gives the document it gives on the JSON form."""
    from fhir.resources.R4B.bundle import Bundle

    source = CASES / "31-abs-substitute-40-days" / "input.json"
    xml = tmp_path / "input.xml"
    xml.write_bytes(Bundle.model_validate(orjson.loads(source.read_bytes())).model_dump_xml())
    as_of = ["--as-of", "2025-05-11"]
    status_json, out_json, _ = run(["derive", str(source), *as_of], capsys)
    status_xml, out_xml, err = run(["derive", str(xml), *as_of], capsys)
    assert (status_json, status_xml, err) == (0, 0, "")
    assert len(json.loads(out_xml)["reports"]) == 3
    assert out_xml == out_json


# -- the FHIR rules, element by element ---------------------------------------------------

PATIENT = """<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment, as the KBV examples carry -->
<Patient xmlns="http://hl7.org/fhir">
  <id value="p_1"/>
  <text>
    <status value="generated"/>
    <div xmlns="http://www.w3.org/1999/xhtml">Anna <b>Berger</b></div>
  </text>
  <contained>
    <Practitioner>
      <id value="gp"/>
      <name><family value="Wolff"/></name>
    </Practitioner>
  </contained>
  <extension url="https://fhir.substreg.dev/StructureDefinition/register-sex">
    <valueCode value="F"/>
  </extension>
  <active value="true"/>
  <name>
    <use value="official"/>
    <family value="Berger">
      <extension url="http://hl7.org/fhir/StructureDefinition/humanname-own-name">
        <valueString value="Berger"/>
      </extension>
    </family>
    <given value="Anna"/>
    <given id="g2" value="Maria"/>
    <prefix value="Dr.">
      <extension url="http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier">
        <valueCode value="AC"/>
      </extension>
    </prefix>
  </name>
  <birthDate value="1980-03-15"/>
  <multipleBirthInteger value="2"/>
  <generalPractitioner><reference value="#gp"/></generalPractitioner>
</Patient>
"""


def test_primitives_extensions_and_contained_follow_the_fhir_json_rules(tmp_path: Path) -> None:
    """`_family`, `_given` aligned with null, typed values, contained, XHTML, url and id."""
    assert load_xml(write(tmp_path, "p.xml", PATIENT)) == {
        "resourceType": "Patient",
        "id": "p_1",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">Anna <b>Berger</b></div>',
        },
        "contained": [{"resourceType": "Practitioner", "id": "gp", "name": [{"family": "Wolff"}]}],
        "extension": [
            {
                "url": "https://fhir.substreg.dev/StructureDefinition/register-sex",
                "valueCode": "F",
            }
        ],
        "active": True,
        "name": [
            {
                "use": "official",
                "family": "Berger",
                "_family": {
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/humanname-own-name",
                            "valueString": "Berger",
                        }
                    ]
                },
                "given": ["Anna", "Maria"],
                "_given": [None, {"id": "g2"}],
                "prefix": ["Dr."],
                "_prefix": [
                    {
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier",
                                "valueCode": "AC",
                            }
                        ]
                    }
                ],
            }
        ],
        "birthDate": "1980-03-15",
        "multipleBirthInteger": 2,
        "generalPractitioner": [{"reference": "#gp"}],
    }


def test_numbers_are_read_as_json_reads_them(tmp_path: Path) -> None:
    """Decimals and integers become JSON numbers; a value that is none stays a string."""
    xml = """<MedicationDispense xmlns="http://hl7.org/fhir">
      <quantity><value value="1.50"/><unit value="ml"/></quantity>
      <daysSupply><value value="14"/></daysSupply>
      <dosageInstruction><sequence value="one"/></dosageInstruction>
    </MedicationDispense>"""
    data = load_xml(write(tmp_path, "md.xml", xml))
    assert data["quantity"] == {"value": 1.5, "unit": "ml"}
    assert data["daysSupply"] == {"value": 14}
    assert isinstance(data["daysSupply"]["value"], int)
    assert data["dosageInstruction"] == [{"sequence": "one"}]


def test_unknown_and_doubled_elements_are_kept_for_the_readers_to_judge(tmp_path: Path) -> None:
    """An element R4 lacks is kept as JSON would carry it; a single element given twice
    stays a list, and a value on a complex element stays, so that the readers and
    `validate` report them rather than anything being dropped."""
    xml = """<MedicationRequest xmlns="http://hl7.org/fhir">
      <status value="active"/>
      <status value="stopped"/>
      <medicationCodeableConcept value="Methadon"/>
      <renderedDosageInstruction value="1-0-0"/>
      <futureThing><part value="a"/><part value="b"/></futureThing>
    </MedicationRequest>"""
    data = load_xml(write(tmp_path, "mr.xml", xml))
    assert data == {
        "resourceType": "MedicationRequest",
        "status": ["active", "stopped"],
        "medicationCodeableConcept": {"value": "Methadon"},
        "renderedDosageInstruction": "1-0-0",
        "futureThing": {"part": ["a", "b"]},
    }


def test_a_history_bundle_in_xml_gives_oldest_first(tmp_path: Path) -> None:
    """XML Bundles go through the same unpacking as JSON: history newest → oldest first."""
    versions = "".join(
        f"""<entry><fullUrl value="https://ehr.example/Patient/p1"/><resource><Patient>
        <id value="p1"/><meta><versionId value="{v}"/></meta></Patient></resource></entry>"""
        for v in ("3", "2", "1")
    )
    xml = f"""<Bundle xmlns="http://hl7.org/fhir"><type value="history"/>{versions}</Bundle>"""
    found = entries(write(tmp_path, "history.xml", xml))
    assert [r["meta"]["versionId"] for r, _ in found] == ["1", "2", "3"]
    assert {url for _, url in found} == {"https://ehr.example/Patient/p1"}


# -- bad XML: one line, exit 2 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('<Patient xmlns="http://hl7.org/fhir"><id value="p1"></Patient>', "not well-formed XML"),
        ("", "not well-formed XML"),
        ("Patient;Berger;Anna\n", "not well-formed XML"),
        ('<Patient><id value="p1"/></Patient>', "not FHIR XML"),
        ('<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"/>', "not FHIR XML"),
    ],
    ids=["unclosed-tag", "empty", "not-xml", "no-namespace", "soap-envelope"],
)
def test_bad_xml_named_directly_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    """A file that is not well-formed, or not FHIR: exit 2, one line naming it, like JSON."""
    path = write(tmp_path, "export.xml", text)
    status, out, err = run(["derive", str(path), "--as-of", "2025-03-10"], capsys)
    assert (status, out) == (2, "")
    line = one_line(err)
    assert "export.xml" in line
    assert needle in line


@pytest.mark.parametrize("command", ["derive", "validate"], ids=str)
def test_bad_xml_in_a_folder_exits_2_like_bad_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """Inside a folder a broken XML file stops the run as a broken JSON file does (D-36)."""
    write(tmp_path, "a.json", '{"resourceType": "Patient", "id": "p1"}')
    write(tmp_path, "b.xml", '<Patient xmlns="http://hl7.org/fhir">')
    argv = [command, str(tmp_path)] + (["--as-of", "2025-03-10"] if command == "derive" else [])
    status, out, err = run(argv, capsys)
    assert (status, out) == (2, "")
    assert "b.xml: not well-formed XML" in one_line(err)


@pytest.mark.parametrize(
    ("body", "status"),
    [('<family value="x&leak;"/>', 2), ('<family value="x"/><text>&leak;</text>', 0)],
    ids=["in-an-attribute", "in-text"],
)
def test_entities_are_not_expanded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, status: int
) -> None:
    """A DTD cannot make the reader fetch a file (XXE): in an attribute it is an error (exit
    2, one line), as text it is dropped; its content never reaches the output."""
    secret = write(tmp_path, "secret.txt", "TOPSECRET")
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE Patient [<!ENTITY leak SYSTEM "file://{secret}">]>
<Patient xmlns="http://hl7.org/fhir"><id value="p1"/><name>{body}</name></Patient>"""
    path = write(tmp_path, "p.xml", xml)
    found, out, err = run(["validate", str(path)], capsys)
    assert found == status
    assert "TOPSECRET" not in out + err
    if status == 2:
        assert "external entity" in one_line(err)
    else:
        assert json.loads(out) == {"findings": []}


def _modules_loaded_by_derive(path: Path) -> str:
    """`derive PATH` in a fresh interpreter: its exit status and the modules of interest."""
    code = (
        "import sys\n"
        "from adapter.cli.main import main\n"
        f"status = main(['derive', {str(path)!r}, '--as-of', '2025-11-17'])\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'lxml', 'fhir', 'fhir_core'})\n"
        "print('LOADED', status, loaded, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    return proc.stderr


def test_json_input_never_loads_the_xml_machinery() -> None:
    """`derive` on JSON starts without lxml and fhir.resources; XML input loads them."""
    json_case = CASES / "40-sub-suboxone-naloxone" / "input.json"
    assert "LOADED 0 []" in _modules_loaded_by_derive(json_case)
    xml_case = MORE / "kbv-1.3.2-xml" / "Beispiel_2_PZN.xml"
    assert "LOADED 0 ['fhir', 'fhir_core', 'lxml']" in _modules_loaded_by_derive(xml_case)


def test_a_folder_mixing_xml_and_json_is_one_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory's *.xml files are read beside its JSON and NDJSON: the people in XML,
    the events in NDJSON make one treatment (INPUT.md 'Accepted containers', 23)."""
    from fhir.resources.R4B.bundle import Bundle

    from tests.test_fhir_input import collection, practice

    people, events = practice()[:2], practice()[2:]
    xml = Bundle.model_validate(collection(people)).model_dump_xml()
    (tmp_path / "people.xml").write_bytes(xml)
    (tmp_path / "events.ndjson").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in events))
    status, out, err = run(["derive", str(tmp_path), "--as-of", "2025-03-10"], capsys)
    assert (status, err) == (0, "")
    document = json.loads(out)
    assert [(r["kind"], r["patient_code"], r["date"]) for r in document["reports"]] == [
        ("anmeldung", "ANBEF530", "2025-03-03")
    ]
    assert document["findings"] == []
