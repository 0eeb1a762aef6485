"""Real German export shapes made into substitution treatments (INPUT.md 15–23, issue 11).

The worked cases 81–96 in tests/cases are built from the public KBV, gematik, ePA and ISiK
examples (their `why` names each file and every change). What does not fit the case format
(one `collection` Bundle) is tested here, from the changed real files in
tests/fixtures/real-shapes/ (SOURCES.md there) or from the cases' inputs: a Bulk Data
folder (22), FHIR XML and `Parameters` (23), an ISiK transaction with conditional references
(16), practice.toml for one doctor under two Practitioner ids (17), and what the case format
cannot say (a value that must not be printed, a message, the order of a history Bundle).

Last, the never-silent check (issue 11, item 2): over every real example, every worked case
and every shared scenario, each event that looks like a narcotic ends in a report or is named
in a finding. Expected dates are derived by hand from RULES.md and INPUT.md in the comments.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapter.cli import main
from adapter.domain.phases import derive_phases
from adapter.domain.reports import build_reports
from adapter.fhir.assemble import Assembly
from adapter.fhir.collect import Collection, Collector
from adapter.fhir.contained import contained_resources
from adapter.fhir.doctors import build_doctors
from adapter.fhir.source import Deleted, Entry, read_paths
from adapter.fhir.versions import is_older, version_of
from adapter.mappings import load_mappings
from adapter.services import derive
from adapter.settings.practice import PracticeConfig

TESTS = Path(__file__).resolve().parent
CASES = TESTS / "cases"
SHAPES = TESTS / "fixtures" / "real-shapes"
OWN_REAL = TESTS / "fixtures" / "real"
SHARED = TESTS.parents[1] / "shared"
SHARED_REAL = SHARED / "fixtures" / "real"
SHARED_MORE = SHARED / "fixtures" / "real-more"
SCENARIOS = SHARED / "scenarios"
REAL_AS_OF = date(2026, 12, 31)  # after every date in the real examples
KVID = "http://fhir.de/sid/gkv/kvid-10"

Json = dict[str, Any]
Row = tuple[str, str | None, str, str | None, str | None]  # kind, code, date, substance, btm


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[Json, str]:
    """`substreg derive ARGS`: the document and everything printed (stdout and stderr)."""
    status = main(["derive", *args])
    out, err = capsys.readouterr()
    assert status == 0, err
    document: Json = json.loads(out)
    return document, out + err


def rows(document: Json) -> set[Row]:
    return {
        (r["kind"], r["patient_code"], r["date"], r["substance"], r["doctor"]["btm_number"])
        for r in document["reports"]
    }


def made_on(document: Json) -> dict[tuple[str, str], str]:
    return {(r["kind"], r["date"]): r["made_on"] for r in document["reports"]}


def findings(document: Json, severity: str, rule: str) -> list[Json]:
    return [f for f in document["findings"] if (f["severity"], f["rule"]) == (severity, rule)]


def case_input(name: str) -> Json:
    folder = next(CASES.glob(f"{name}-*"))
    data: Json = json.loads((folder / "input.json").read_text(encoding="utf-8"))
    return data


def walk(node: Any) -> list[Json]:
    """Every resource in a Bundle or Parameters, nested ones too (test-side, not the engine's)."""
    found: list[Json] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("resourceType"), str):
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def changed_copy(
    folder: Path, tmp_path: Path, name: str, old: str, new: str, *, count: int = 1
) -> Path:
    """A copy of `folder` in which file `name` has its `count` times `old` replaced by `new`."""
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    path = target / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == count
    path.write_text(text.replace(old, new), encoding="utf-8")
    return target


# -- 22: a Bulk Data folder with manifest.json ---------------------------------------------


def ndjson(path: Path, resources: list[Json]) -> str:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in resources), encoding="utf-8"
    )
    return path.name


def test_bulk_export_folder_with_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Bulk Data folder of case 81's real shapes: read by its manifest, errors become warnings."""
    bundle = case_input("81")
    kbv = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Bundle"]
    dispenses = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationDispense"
    ]
    medication = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Medication"
    ]
    export = tmp_path / "export"
    export.mkdir()
    outcome = (
        OWN_REAL
        / "more"
        / "erp-workflow-1.5.2"
        / "OperationOutcome-ExampleOperationCreateError.json"
    )
    files = {
        "Bundle": ndjson(export / "Bundle.ndjson", kbv),
        "Medication": ndjson(export / "Medication.ndjson", medication),
        "MedicationDispense": ndjson(export / "MedicationDispense.ndjson", dispenses),
    }
    errors = ndjson(export / "OperationOutcome.ndjson", [json.loads(outcome.read_text("utf-8"))])
    # An older export left in the folder: its fourth dispense (same id) handed over 04-20.
    stale = copy.deepcopy(dispenses)
    stale[-1]["whenHandedOver"] = "2025-04-20"
    ndjson(export / "MedicationDispense-older.ndjson", stale)
    base = "https://pvs.praxis.example/fhir/bulk/4711"
    write(
        export / "manifest.json",
        {
            "transactionTime": "2025-05-15T06:00:00+02:00",
            "request": "https://pvs.praxis.example/fhir/$export?_type=Bundle,Medication,MedicationDispense",
            "requiresAccessToken": True,
            "output": [{"type": kind, "url": f"{base}/{name}"} for kind, name in files.items()],
            "error": [{"type": "OperationOutcome", "url": f"{base}/{errors}"}],
        },
    )
    document, _ = run(capsys, str(export), "--as-of", "2025-05-15")
    # As case 81: KASCM444 covered 03-03..04-27 (the listed fourth dispense, 04-14 + 14 - 1);
    # the stale file is not read, else its dispense (same id, read later) would end 05-03.
    assert rows(document) == {
        ("anmeldung", "KASCM444", "2025-03-03", "Methadon", "3741001"),
        ("abmeldung", "KASCM444", "2025-04-27", None, "3741001"),
    }
    warnings = findings(document, "warning", "INPUT")
    assert any("FHIR-Validation error" in f["message"] for f in warnings)
    assert any("MedicationDispense-older.ndjson" in f["message"] for f in warnings)
    assert not [f for f in document["findings"] if f["severity"] == "error"]
    assert not [s for f in document["findings"] for s in f["sources"] if "manifest" in s]


# -- 23: FHIR XML and Parameters --------------------------------------------------------------

E2E = SHAPES / "e2e-2025-10-xml"
E2E_KVNRS = ("X234567891", "X234567890")  # the Patient's, and the one its dispense names


def test_e2e_xml_pair_as_published_names_only_the_identifier_system(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The 2025 XML pair as gematik wrote it: the dispense's KVNR is not the Patient's (16)."""
    document, printed = run(capsys, str(E2E), "--as-of", "2025-12-01")
    errors = [
        f
        for f in findings(document, "error", "INPUT")
        if f["sources"] == ["MedicationDispense/a7e1d25f-0b0a-40f7-b529-afda48e51b46"]
    ]
    assert errors
    assert KVID in errors[0]["message"]
    assert not [v for v in E2E_KVNRS if v in printed]


def test_e2e_xml_pair_with_the_patients_kvnr_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The XML pair with one change, the dispense's KVNR: its Medication (urn:uuid) is found."""
    dispense = "PZN_Nr1_MedicationDispense.xml"
    folder = changed_copy(E2E, tmp_path, dispense, E2E_KVNRS[1], E2E_KVNRS[0])
    document, _ = run(capsys, str(folder), "--as-of", "2025-12-01")
    # Ludger (LU) Königsstein (KÖ) M 22.06.1935 (265). The dispense (PrescriptionId
    # 160.000.764.737.300.50, handed over 10-30, no daysSupply) names its Medication by
    # urn:uuid:8e2e5e65…, the id of the Medication in its own Parameters part (INPUT.md 23:
    # every part.resource is input): it covers the ST reach 14 days 10-30..11-12 (15);
    # Abmeldung made 11-23 (11-12 + 11).
    assert rows(document) == {
        ("anmeldung", "LUKÖM265", "2025-10-30", "Methadon", "3741007"),
        ("abmeldung", "LUKÖM265", "2025-11-12", None, "3741007"),
    }
    assert made_on(document)[("abmeldung", "2025-11-12")] == "2025-11-23"
    assert not [f for f in document["findings"] if f["severity"] == "error"]


def test_gematik_close_parameters_with_their_kbv_prescription(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """gematik `$close` input: two dispenses in parts; a bare-PZN Medication is an error (20)."""
    document, printed = run(capsys, str(SHAPES / "close"), "--as-of", "2025-10-31")
    # KBV ST 14 days from 10-01, PrescriptionId 160.000.033.491.280.78; dispense 1 (Methaddict,
    # 10-01, no daysSupply) covers 10-01..10-14; Abmeldung made 10-25 (10-14 + 11).
    assert rows(document) == {
        ("anmeldung", "KASCM444", "2025-10-01", "Methadon", "3741001"),
        ("abmeldung", "KASCM444", "2025-10-14", None, "3741001"),
    }
    bare = findings(document, "error", "R-SUB-1")
    assert [f["sources"][1:] for f in bare] == [["MedicationDispense/Example-MedicationDispense-2"]]
    assert "X123456789" not in printed


EPA_DISPENSATION = SHAPES / "epa-dispensation"
EPA_DISPENSE = "MedicationDispense/5d8fbf7c-bdb0-44c2-95fe-423ae0404ccd"


def test_epa_dispensation_parameters_are_never_silent(capsys: pytest.CaptureFixture[str]) -> None:
    """ePA `$provide-dispensation-erp`: the dispense of a Betäubungsmittel (category 01, named by
    urn:uuid in its own Parameters) gives days or is named in a finding (INPUT.md 20, 23)."""
    document, _ = run(capsys, str(EPA_DISPENSATION), "--as-of", "2025-03-01")
    sources = {s for r in document["reports"] for s in r["sources"]}
    sources |= {s for f in document["findings"] for s in f["sources"]}
    assert EPA_DISPENSE in sources


def test_epa_dispensation_covers_from_its_hand_over(capsys: pytest.CaptureFixture[str]) -> None:
    """ePA `$provide-dispensation-erp` names its e-prescription in the `prescriptionId` part:
    the dispense covers that prescription's reach from whenHandedOver (INPUT.md 15, 23)."""
    document, _ = run(capsys, str(EPA_DISPENSATION), "--as-of", "2025-03-01")
    # KBV ST 14 days from 01-22 (PrescriptionId 160.153.303.257.459, the value of the
    # operation's prescriptionId part); dispensed 01-24: 01-24 + 14 - 1 = 02-06 (its
    # prescription alone reaches 02-04); Abmeldung made 02-17 (02-06 + 11). The first day
    # with a drug is the hand-over, 01-24 (R-DATE-1: a dispensed prescription covers what
    # its dispenses cover, INPUT.md edge case 2; only its end is never shortened, 15).
    assert rows(document) == {
        ("anmeldung", "KASCM444", "2025-01-24", "Methadon", "3741001"),
        ("abmeldung", "KASCM444", "2025-02-06", None, "3741001"),
    }


def test_xml_input_reads_like_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The changed XML prescription gives the same reports as its JSON form (INPUT.md 23)."""
    xml, _ = run(capsys, str(E2E / "PZN_Nr1_VerordnungArzt.xml"), "--as-of", "2025-12-01")
    entries = [
        {"fullUrl": item.full_url, "resource": item.resource}
        for item in read_paths([E2E / "PZN_Nr1_VerordnungArzt.xml"])
        if isinstance(item, Entry)
    ]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    as_json, _ = run(capsys, str(write(tmp_path / "rx.json", bundle)), "--as-of", "2025-12-01")
    # Without its dispense, the ST prescription covers its own reach 10-30..11-12.
    expected = {
        ("anmeldung", "LUKÖM265", "2025-10-30", "Methadon", "3741007"),
        ("abmeldung", "LUKÖM265", "2025-11-12", None, "3741007"),
    }
    assert rows(xml) == rows(as_json) == expected


# -- 16: references by identifier -----------------------------------------------------------

ISIK = SHAPES / "isik-transaction"
ISIK_KVNR = "A123456789"


def test_isik_transaction_with_conditional_references(capsys: pytest.CaptureFixture[str]) -> None:
    """An ISiK transaction naming Patient and Practitioner by `Type?identifier=system|value`."""
    document, _ = run(capsys, str(ISIK), "--as-of", "2025-06-02")
    # Erika (ER) own-name Musterfrau (MU) F 12.08.1964 (284); Diaphin daily 05-05..05-16,
    # performer Walter Arzt by LANR; Abmeldung made 05-27 (05-16 + 11).
    assert rows(document) == {
        ("anmeldung", "ERMUF284", "2025-05-05", "Diamorphin", "3741005"),
        ("abmeldung", "ERMUF284", "2025-05-16", None, "3741005"),
    }
    assert made_on(document)[("abmeldung", "2025-05-16")] == "2025-05-27"


def test_conditional_reference_to_nobody_names_only_the_system(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A conditional reference no Patient answers: an error naming the system, never the value."""
    wrong = "A123456780"
    transaction = "Bundle-ExampleISiKMedikationTransaction.json"
    old, new = f"{KVID}|{ISIK_KVNR}", f"{KVID}|{wrong}"
    folder = changed_copy(ISIK, tmp_path, transaction, old, new, count=12)  # each subject
    document, printed = run(capsys, str(folder), "--as-of", "2025-06-02")
    assert document["reports"] == []
    errors = [f for f in findings(document, "error", "INPUT") if KVID in f["message"]]
    assert errors
    assert all(source.count("/") == 1 for f in errors for source in f["sources"])  # Type/id
    assert wrong not in printed
    assert ISIK_KVNR not in printed


@pytest.mark.parametrize(
    ("name", "as_of", "values"),
    [
        ("84", "2025-03-20", ("S040464113", "S040464114")),
        ("85", "2025-04-01", ("S040464113", "S040464114")),
        ("83", "2025-03-10", ("X110411319",)),
    ],
    ids=["84-kvnr-to-nobody", "85-kvnr-and-prescription-to-nobody", "83-epa-kvnr"],
)
def test_no_kvnr_value_is_ever_printed(
    name: str, as_of: str, values: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """INPUT.md 16 and PRIVACY: the KVNRs of the input appear nowhere in the output."""
    folder = next(CASES.glob(f"{name}-*"))
    document, printed = run(capsys, str(folder / "input.json"), "--as-of", as_of)
    assert document["reports"]
    assert not [v for v in values if v in printed]


def test_dispense_for_an_unknown_kvnr_is_an_error_naming_the_system(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Case 85's orphan dispense (no known prescription, no Patient): an error naming kvid-10."""
    folder = next(CASES.glob("85-*"))
    document, _ = run(capsys, str(folder / "input.json"), "--as-of", "2025-04-01")
    errors = [
        f
        for f in findings(document, "error", "INPUT")
        if "MedicationDispense/Example-MedicationDispense-2" in f["sources"]
    ]
    assert errors
    assert KVID in errors[0]["message"]


# -- 17: one doctor under two Practitioner ids, data from practice.toml ---------------------


def test_two_practitioner_ids_one_lanr_with_practice_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Case 86 as real data has it: no BtM number in FHIR, practice.toml keyed by the LANR."""
    bundle = case_input("86")
    for resource in walk(bundle):
        if resource["resourceType"] == "Practitioner":
            resource["identifier"] = [
                i for i in resource["identifier"] if i["system"] != "http://fhir.de/sid/bfarm/btmnr"
            ]
            resource.pop("birthDate", None)
            resource["qualification"] = resource["qualification"][:2]
    assert "3741002" not in json.dumps(bundle)
    config = tmp_path / "practice.toml"
    config.write_text(
        '[doctors."123456628"]\nbtm_number = "3741002"\nbirth_date = "1969-10-23"\n'
        "qualified = true\n",
        encoding="utf-8",
    )
    path = write(tmp_path / "input.json", bundle)
    document, _ = run(capsys, str(path), "--as-of", "2025-04-30", "--config", str(config))
    # As case 86: 02-03..04-13 under one doctor (both ids carry LANR 123456628): no R-ABS-2.
    assert rows(document) == {
        ("anmeldung", "LUKÖM265", "2025-02-03", "Methadon", "3741002"),
        ("abmeldung", "LUKÖM265", "2025-04-13", None, "3741002"),
    }
    assert {r["doctor"]["birth_date"] for r in document["reports"]} == {"1969-10-23"}


# -- 18: no gender -----------------------------------------------------------------------------


def test_missing_gender_says_so_and_how_to_fix_it(capsys: pytest.CaptureFixture[str]) -> None:
    """Case 87: the R-CODE-3 error says 'gender missing' and the fix, not the other/unknown text."""
    folder = next(CASES.glob("87-*"))
    document, _ = run(capsys, str(folder / "input.json"), "--as-of", "2025-06-05")
    [error] = findings(document, "error", "R-CODE-3")
    assert "gender missing" in error["message"]
    assert "send the EHR's Patient with gender" in error["message"]
    assert "not female or male" not in error["message"]


# -- 19: racemic methadone ----------------------------------------------------------------------

RACEMIC = [
    "D,L-Methadon Lösung 10 mg/ml, 100 ml",
    "D/L-Methadon Lösung 10 mg/ml, 100 ml",
    "d,l-Methadonhydrochlorid-Lösung 1 %",
    "D, L-Methadon-HCl Lösung 1 %",
    "DL-Methadon Lösung 10 mg/ml",
    "D / L-Methadon Lösung 10 mg/ml",
    "D-/L-Methadon Lösung 10 mg/ml",
]


def _freetext_substance(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    bundle = case_input("89")
    [medication] = [r for r in walk(bundle) if r["resourceType"] == "Medication"]
    medication["code"]["text"] = text
    document, _ = run(capsys, str(write(tmp_path / "in.json", bundle)), "--as-of", "2025-06-30")
    return {r["substance"] for r in document["reports"] if r["kind"] == "anmeldung"}


@pytest.mark.parametrize("text", RACEMIC)
def test_racemic_methadone_spellings_are_methadon(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """INPUT.md 19: racemic spellings in the real KBV free-text shape are Methadon."""
    assert _freetext_substance(text, tmp_path, capsys) == {"Methadon"}


def test_levomethadone_free_text_stays_levomethadon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: 'L-Methadon' alone in the same shape is Levomethadon."""
    assert _freetext_substance("L-Methadon Lösung 5 mg/ml", tmp_path, capsys) == {"Levomethadon"}


# -- 20: narcotics whose substance cannot be identified ------------------------------------------


@pytest.mark.parametrize(
    ("name", "rule", "fix"),
    [
        ("91", "R-SUB-1", "ATC"),
        ("92", "R-SUB-1", "ATC"),
        ("93", "INPUT", "send the Medication"),
        ("94", "R-SUB-1", "ATC"),
    ],
)
def test_unidentified_narcotic_names_its_prescription_and_the_fix(
    name: str, rule: str, fix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cases 91–94: the error names the MedicationRequest and says what to send (INPUT.md 20)."""
    bundle = case_input(name)
    [request] = [r for r in walk(bundle) if r["resourceType"] == "MedicationRequest"]
    folder = next(CASES.glob(f"{name}-*"))
    document, _ = run(capsys, str(folder / "input.json"), "--as-of", "2025-07-31")
    named = [
        f
        for f in findings(document, "error", rule)
        if f"MedicationRequest/{request['id']}" in f["sources"]
    ]
    assert len(named) == 1
    assert fix in named[0]["message"]
    assert document["reports"] == []


def test_emergency_marker_with_a_bare_pzn_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Case 91 marked N (Notfall) instead of ST: still a BtM prescription, an error (20)."""
    bundle = case_input("91")
    [request] = [r for r in walk(bundle) if r["resourceType"] == "MedicationRequest"]
    [marker] = [e for e in request["extension"] if e["url"].endswith("KBV_EX_ERP_Narcotic")]
    marker["extension"][0]["valueCoding"]["code"] = "N"
    document, _ = run(capsys, str(write(tmp_path / "in.json", bundle)), "--as-of", "2025-07-31")
    named = [
        f
        for f in findings(document, "error", "R-SUB-1")
        if f"MedicationRequest/{request['id']}" in f["sources"]
    ]
    assert named
    assert document["reports"] == []


# -- 21: the order of a history Bundle ------------------------------------------------------------


def _history_without_versions(kind: str) -> Json:
    """Case 96 with meta.versionId and meta.lastUpdated taken out of its history Bundle, so that
    only the order of its entries tells the versions apart; the Bundle typed `kind`."""
    bundle = case_input("96")
    [history] = [e["resource"] for e in bundle["entry"] if e["resource"].get("type") == "history"]
    for item in history["entry"]:
        item["resource"]["meta"] = {"profile": item["resource"]["meta"]["profile"]}
    history["type"] = kind
    return bundle


@pytest.mark.parametrize(
    ("kind", "as_of", "last_day"),
    [
        # As case 96: bb91cde8's newest version (7 days, dispensed 01-22) covers 01-22..01-28,
        # 3d7252b4's newest is entered in error; Abmeldung made 02-08 (01-28 + 11).
        ("history", "2025-02-20", "2025-01-28"),
        # The control, the same entries as a collection: the last entry of each resource (its
        # first version) wins: bb91cde8 14 days 01-22..02-04, 3d7252b4 ST 14 days from 02-05
        # without a dispense 02-05..02-18; Abmeldung made 03-01 (02-18 + 11).
        ("collection", "2025-03-10", "2025-02-18"),
    ],
)
def test_history_bundle_is_read_newest_first(
    kind: str, as_of: str, last_day: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without version data a history Bundle's first entry is the latest version (INPUT.md 21)."""
    path = write(tmp_path / "in.json", _history_without_versions(kind))
    document, _ = run(capsys, str(path), "--as-of", as_of)
    assert rows(document) == {
        ("anmeldung", "KASCM444", "2025-01-22", "Methadon", "3741006"),
        ("abmeldung", "KASCM444", last_day, None, "3741006"),
    }


# -- Never silent (issue 11, item 2) ---------------------------------------------------------

SR_MARKER = "https://fhir.substreg.dev/CodeSystem/btm-marker"
_MARKER_EXTENSIONS = {
    "https://fhir.kbv.de/StructureDefinition/KBV_EX_ERP_Narcotic": "BtM-Sonderkennzeichen",
    "https://gematik.de/fhir/epa-medication/StructureDefinition/narcotics-extension": (
        "narcotics-markings"
    ),
}
_CATEGORY_EXTENSIONS = {
    "https://fhir.kbv.de/StructureDefinition/KBV_EX_ERP_Medication_Category",
    "https://gematik.de/fhir/epa-medication/StructureDefinition/drug-category-extension",
}
# S, ST, N, K and their legacy spellings (REAL-DATA.md 4: SZ is S, "S T" and T are ST).
_BTM_CODES = {"S", "ST", "N", "K", "SZ", "T"}
_EVENTS = ("MedicationRequest", "MedicationDispense", "MedicationAdministration")


def btm_marker(resource: Json) -> str | None:
    """The BtM marker a resource carries, read here without the engine's reader."""
    for ext in resource.get("extension") or []:
        sub_url = _MARKER_EXTENSIONS.get(ext.get("url"))
        for sub in ext.get("extension") or [] if sub_url else []:
            code = str((sub.get("valueCoding") or {}).get("code", "")).replace(" ", "").upper()
            if sub.get("url") == sub_url and code in _BTM_CODES:
                return code
    for category in resource.get("category") or []:
        for coding in category.get("coding") or []:
            code = str(coding.get("code", "")).replace(" ", "").upper()
            if coding.get("system") == SR_MARKER and code in _BTM_CODES:
                return code
    return None


def btm_category(medication: Json) -> bool:
    return any(
        ext.get("url") in _CATEGORY_EXTENSIONS
        and (ext.get("valueCoding") or {}).get("code") == "01"
        for ext in medication.get("extension") or []
    )


@dataclass
class Looks:
    """The input's events that look like narcotics, keyed as the engine keys resources."""

    events: dict[str, Json]
    medications: dict[str, Json]
    aliases: dict[str, str]

    def medication_of(self, event: Json) -> Json | None:
        ref = (event.get("medicationReference") or {}).get("reference")
        if not isinstance(ref, str):
            return None
        if ref.startswith("#"):
            inner = [c for c in event.get("contained") or [] if c.get("id") == ref[1:]]
            return inner[0] if inner else None
        key = self.aliases.get(ref) or "/".join(ref.split("/")[-2:])
        return self.medications.get(key)

    def narcotic(self) -> list[str]:
        """Events with an S/ST/N/K marker, or whose Medication is of category 01."""
        return sorted(
            key
            for key, event in self.events.items()
            if btm_marker(event)
            or ((m := self.medication_of(event)) is not None and btm_category(m))
        )


def _key(kind: str, resource: Json, full_url: str | None) -> str | None:
    if isinstance(resource.get("id"), str) and resource["id"]:
        return f"{kind}/{resource['id']}"
    if full_url:
        return f"{kind}/{full_url.rsplit(':', 1)[-1].rsplit('/', 1)[-1]}"
    return None


def looks(paths: list[Path]) -> Looks:
    """Every event and Medication of the input, the latest version of each (INPUT.md 21).
    A Medication answers to `Medication/id`, its fullUrl, and `urn:uuid:<id>` (the form in
    which gematik and ePA Parameters name a Medication of another part)."""
    found = Looks({}, {}, {})
    latest: dict[str, Any] = {}
    for item in read_paths(paths):
        if isinstance(item, Deleted):  # gone from the EHR: nothing to report or name
            found.events.pop(item.ref, None)
            continue
        if not isinstance(item, Entry):
            continue
        resource, kind = item.resource, item.resource["resourceType"]
        key = _key(kind, resource, item.full_url)
        if key is None or kind not in (*_EVENTS, "Medication"):
            continue
        version = version_of(resource)
        if is_older(version, latest.get(key)):
            continue
        latest[key] = version
        (found.events if kind in _EVENTS else found.medications)[key] = copy.deepcopy(resource)
        if kind == "Medication":
            for alias in (item.full_url, f"urn:uuid:{resource.get('id')}"):
                if alias:
                    found.aliases[alias] = key
        for inner_id, inner in contained_resources(copy.deepcopy(resource), key):
            if inner["resourceType"] in _EVENTS:
                found.events[f"{inner['resourceType']}/{inner_id}"] = inner
    return found


@dataclass
class Outcome:
    collection: Collection
    covers: dict[str, list[tuple[str, date, date]]]  # source → (patient, first, last day)
    phases: dict[str, list[tuple[date, date]]]  # patient → reported phases
    named: set[str]  # every source of every finding
    withheld: set[str]  # patients whose reports an error finding withholds (a code refused)


def outcome(paths: list[Path], as_of: date) -> Outcome:
    """What derive does, step by step (adapter/services/derive.py), keeping what it drops."""
    collector = Collector(load_mappings())
    for item in read_paths(paths):
        collector.add(item)
    collection = collector.result
    doctors = build_doctors(collection, PracticeConfig())
    histories = list(Assembly(collection))
    events = []
    covers: dict[str, list[tuple[str, date, date]]] = defaultdict(list)
    for history in histories:
        events += derive_phases(history, doctors, collector.mappings.names, as_of=as_of).events
        for cover in history.covers:
            covers[cover.source].append((history.patient.key, cover.start, cover.end))
    reports, _, owners = build_reports(events, doctors, as_of=as_of)
    derivation = derive(paths, as_of=as_of)
    assert {r.id for r in derivation.reports if r.kind != "mitteilung"} == {r.id for r in reports}
    phases: dict[str, list[tuple[date, date]]] = defaultdict(list)
    by_patient = defaultdict(list)
    for report in reports:
        by_patient[owners[report.id]].append(report)
    for patient, mine in by_patient.items():
        mine.sort(key=lambda r: (r.date, r.kind == "anmeldung"))
        for i, report in enumerate(mine):
            if report.kind != "anmeldung":
                continue
            end = next(
                (
                    r.date
                    for r in mine[i + 1 :]
                    if r.kind == "abmeldung" and r.doctor.btm_number == report.doctor.btm_number
                ),
                as_of,
            )
            phases[patient].append((report.date, end))
    named = {s for f in derivation.findings for s in f.sources}
    withheld = {f.sources[0] for f in derivation.findings if f.severity == "error" and f.sources}
    return Outcome(collection, covers, phases, named, withheld)


def silent(paths: list[Path], as_of: date) -> list[str]:
    """The narcotic-looking events that neither give a day of a reported phase nor are named
    in a finding. A prescription's days are its own and those of its dispenses and
    administrations; an event dated after `as_of` is not read yet (REPORTS.md)."""
    result = outcome(paths, as_of)
    collection, refs = result.collection, result.collection.refs
    through: dict[str, set[str]] = defaultdict(set)
    for dispense in collection.dispenses.values():
        through[refs.resolve(dispense.prescription) or ""].add(dispense.key)
    for admin in collection.administrations.values():
        through[refs.resolve(admin.request) or ""].add(admin.key)
    quiet = []
    for key in looks(paths).narcotic():
        days = [c for s in {key, *through.get(key, ())} for c in result.covers.get(s, [])]
        reported = any(
            first <= end and last >= start
            for patient, first, last in days
            for start, end in result.phases.get(patient, [])
        )
        request = collection.requests.get(key)
        begins = request.supply_start or request.authored if request else None
        later = (days and min(c[1] for c in days) > as_of) or (begins and begins > as_of)
        # A patient whose code is refused: the error finding names the patient, and every
        # event of that patient waits with it (D-1).
        withheld = any(patient in result.withheld for patient, _, _ in days)
        if not (reported or key in result.named or later or withheld):
            quiet.append(key)
    return quiet


def _never_silent_inputs() -> list[Any]:
    params = []
    for root, label in ((SHARED_REAL, "real"), (SHARED_MORE, "real-more"), (OWN_REAL, "own-real")):
        if root.is_dir():
            for path in sorted(
                p for p in root.rglob("*") if p.suffix in (".json", ".ndjson", ".xml")
            ):
                rel = path.relative_to(root).as_posix()
                params.append(pytest.param([path], REAL_AS_OF, id=f"{label}/{rel}"))
    for folder in sorted(p for p in SHAPES.iterdir() if p.is_dir()):
        params.append(pytest.param([folder], REAL_AS_OF, id=f"real-shapes/{folder.name}"))
    for root, label in ((CASES, "case"), (SCENARIOS, "scenario")):
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if (p / "expected.json").is_file()):
                expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
                as_of = date.fromisoformat(expected["as_of"])
                params.append(
                    pytest.param([folder / "input.json"], as_of, id=f"{label}/{folder.name}")
                )
    return params


@pytest.mark.parametrize(("paths", "as_of"), _never_silent_inputs())
def test_never_silent(paths: list[Path], as_of: date) -> None:
    """Every event marked S/ST/N/K or of a category-01 Medication is reported or named."""
    assert silent(paths, as_of) == []


def test_never_silent_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check fails when the finding that names a withheld prescription is dropped."""
    case = next(CASES.glob("91-*")) / "input.json"
    as_of = date(2025, 7, 31)
    assert looks([case]).narcotic()
    assert silent([case], as_of) == []
    real = derive

    def without_findings(paths: list[Path], *, as_of: date) -> Any:
        derivation = real(paths, as_of=as_of)
        return type(derivation)(derivation.as_of, derivation.reports, [])

    monkeypatch.setattr(sys.modules[__name__], "derive", without_findings)
    assert silent([case], as_of) == looks([case]).narcotic()


def test_never_silent_sees_markers_and_categories() -> None:
    """The test's own reading finds the KBV, ePA and SR markers and category 01 (no engine)."""
    kbv = {
        "extension": [
            {
                "url": next(iter(_MARKER_EXTENSIONS)),
                "extension": [{"url": "BtM-Sonderkennzeichen", "valueCoding": {"code": "S T"}}],
            }
        ]
    }
    epa = {
        "extension": [
            {
                "url": list(_MARKER_EXTENSIONS)[1],
                "extension": [{"url": "narcotics-markings", "valueCoding": {"code": "N"}}],
            }
        ]
    }
    ours = {"category": [{"coding": [{"system": SR_MARKER, "code": "K"}]}]}
    assert [btm_marker(r) for r in (kbv, epa, ours, {})] == ["ST", "N", "K", None]
    medication = {
        "extension": [{"url": sorted(_CATEGORY_EXTENSIONS)[0], "valueCoding": {"code": "01"}}]
    }
    assert btm_category(medication)
    assert not btm_category(
        {"extension": [{"url": sorted(_CATEGORY_EXTENSIONS)[0], "valueCoding": {"code": "00"}}]}
    )
