"""Worked cases: ../shared/scenarios (when beside the clone) and our own tests/cases.

Each case directory holds `input.json` and `expected.json` in the format of
../shared/scenarios/README.md. A case passes when `substreg derive input.json --as-of
<as_of>` exits 0 and prints one JSON document whose reports equal the expected ones as
a multiset on (kind, patient_code, date, substance, doctor_btm, consultant_btm), whose
matched reports carry every `remarks_include` text, which holds every expected finding
(severity, rule), and none of whose reports has a date or made_on after as_of (made_on
present). The comparison is written here, so that a clone on its own can run it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from adapter.cli.main import main

SHARED = Path(__file__).resolve().parents[2] / "shared" / "scenarios"
OWN = Path(__file__).resolve().parent / "cases"
TIMEOUT_SECONDS = 60
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIELDS = ("kind", "patient_code", "date", "substance", "doctor_btm", "consultant_btm")
RULE_GROUPS = ("R-CODE", "R-SUB", "R-DATE", "R-EP", "R-CHG", "R-ABS", "R-NOT", "R-DOC", "R-NOTE")

Json = dict[str, Any]
Key = tuple[Any, ...]


def case_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(
        d
        for d in root.iterdir()
        if (d / "input.json").is_file() and (d / "expected.json").is_file()
    )


SHARED_CASES = case_dirs(SHARED)
OWN_CASES = case_dirs(OWN)
ALL_CASES = [
    *(pytest.param(d, id=d.name, marks=pytest.mark.scenario) for d in SHARED_CASES),
    *(pytest.param(d, id=d.name, marks=pytest.mark.scenario) for d in OWN_CASES),
]


# -- the comparison of ../shared/scenarios/README.md ---------------------------------


def _btm(person: Any) -> Any:
    if person is None:
        return None
    return person.get("btm_number") if isinstance(person, dict) else "<not an object>"


def actual_key(report: Json) -> Key:
    return (
        report.get("kind"),
        report.get("patient_code"),
        report.get("date"),
        report.get("substance"),
        _btm(report.get("doctor")),
        _btm(report.get("consultant")),
    )


def expected_key(report: Json) -> Key:
    return tuple(report.get(f) for f in FIELDS)


def _remarks_ok(wanted: list[str], remarks: Any) -> bool:
    texts = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in remarks or []]
    return all(any(w in t for t in texts) for w in wanted)


def _assign(expected: list[Json], actual: list[Json]) -> bool:
    """Can every expected report get its own actual report with the remarks it needs?"""
    used = [False] * len(actual)

    def place(i: int) -> bool:
        if i == len(expected):
            return True
        for j, report in enumerate(actual):
            if not used[j] and _remarks_ok(
                expected[i].get("remarks_include") or [], report.get("remarks")
            ):
                used[j] = True
                if place(i + 1):
                    return True
                used[j] = False
        return False

    return place(0)


def report_problems(expected: list[Json], actual: list[Json]) -> list[str]:
    """Criteria 2 and 3: the six-field multiset, then remarks_include per matched report."""
    wanted, got = Counter(map(expected_key, expected)), Counter(map(actual_key, actual))
    problems = [f"missing {k}" for k in sorted((wanted - got).elements(), key=str)]
    problems += [f"unexpected {k}" for k in sorted((got - wanted).elements(), key=str)]
    if problems:
        return problems
    for key in wanted:
        exps = [e for e in expected if expected_key(e) == key]
        acts = [a for a in actual if actual_key(a) == key]
        if not _assign(exps, acts):
            problems.append(
                f"remarks of {key}: want {[e.get('remarks_include') for e in exps]}, "
                f"got {[a.get('remarks') for a in acts]}"
            )
    return problems


def date_problems(reports: list[Json], as_of: str) -> list[str]:
    """Criterion 5: no date or made_on after as_of, and every report has a made_on."""
    problems = []
    for report in reports:
        day, made_on = report.get("date"), report.get("made_on")
        if isinstance(day, str) and DATE.match(day) and day > as_of:
            problems.append(f"date {day} after as_of in {actual_key(report)}")
        if not (isinstance(made_on, str) and DATE.match(made_on)):
            problems.append(f"made_on missing or not a day in {actual_key(report)}")
        elif made_on > as_of:
            problems.append(f"made_on {made_on} after as_of in {actual_key(report)}")
    return problems


def finding_problems(expected: list[Json], findings: list[Any]) -> list[str]:
    """Criterion 4: every expected (severity, rule) is printed (extra findings are fine)."""
    have = Counter((f.get("severity"), f.get("rule")) for f in findings if isinstance(f, dict))
    problems = []
    for finding in expected:
        key = (finding["severity"], finding["rule"])
        if have[key] <= 0:
            problems.append(f"missing finding {key}")
        else:
            have[key] -= 1
    return problems


def run_case(case: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Json, Json]:
    """Criterion 1: `substreg derive input.json --as-of <as_of>` exits 0 with one document."""
    expected: Json = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    started = time.monotonic()
    status = main(["derive", str(case / "input.json"), "--as-of", expected["as_of"]])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert status == 0, err
    assert elapsed < TIMEOUT_SECONDS
    document = json.loads(out)
    assert isinstance(document, dict)
    assert isinstance(document.get("reports"), list)
    assert isinstance(document.get("findings"), list)
    assert all(isinstance(r, dict) for r in document["reports"])
    return expected, document


@pytest.mark.parametrize("case", ALL_CASES)
def test_worked_case(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The reports and findings of a worked case (scenarios/README.md criteria 1–5)."""
    expected, document = run_case(case, capsys)
    problems = date_problems(document["reports"], expected["as_of"])
    problems += report_problems(expected.get("reports", []), document["reports"])
    problems += finding_problems(expected.get("findings", []), document["findings"])
    assert problems == [], f"{case.name}: {expected.get('title')}"


SUBSTANCES = {
    "Levomethadon",
    "Methadon",
    "Buprenorphin",
    "Morphin",
    "Diamorphin",
    "Codein",
    "Dihydrocodein",
}


def contract_problems(reports: list[Json]) -> list[str]:
    """What REPORTS.md and R-EP-4 say of every report list, whatever the case."""
    problems = []
    ids = [r.get("id") for r in reports]
    if len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
        problems.append(f"ids not unique and non-empty: {ids}")
    for r in reports:
        key = actual_key(r)
        if r["kind"] == "abmeldung" and (r["substance"] is not None or r["consultant"] is not None):
            problems.append(f"Abmeldung with substance or consultant: {key}")
        if r["kind"] == "abmeldung" and r["made_on"] < r["date"]:
            problems.append(f"Abmeldung made before its date: {key}")
        if r["kind"] == "anmeldung" and (
            r["substance"] not in SUBSTANCES or r["made_on"] < r["date"]
        ):
            problems.append(f"Anmeldung substance or made_on wrong: {key}")
        if r["kind"] == "mitteilung" and (
            r["patient_code"] is not None or r["substance"] is not None
        ):
            problems.append(f"notice with patient code or substance: {key}")
        if not (re.fullmatch(r"R-[A-Z]+-\d+", str(r.get("rule"))) and r.get("sources")):
            problems.append(f"rule or sources missing: {key}")
    return problems


def sequence_problems(reports: list[Json]) -> list[str]:
    """R-EP-4: per code and doctor, Anmeldung and Abmeldung alternate, starting with one."""
    runs: dict[tuple[Any, Any], list[Json]] = {}
    for r in reports:
        if r["kind"] in ("anmeldung", "abmeldung"):
            runs.setdefault((r["patient_code"], _btm(r["doctor"])), []).append(r)
    problems = []
    for key, run in runs.items():
        kinds = [
            r["kind"] for r in sorted(run, key=lambda r: (r["date"], r["kind"] == "abmeldung"))
        ]
        if any(kind != ("anmeldung", "abmeldung")[i % 2] for i, kind in enumerate(kinds)):
            problems.append(f"{key}: {kinds}")
    return problems


@pytest.mark.parametrize("case", ALL_CASES)
def test_reports_keep_the_contract(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """REPORTS.md fields per kind, made_on never before date, R-EP-4 alternation."""
    _, document = run_case(case, capsys)
    problems = contract_problems(document["reports"])
    if not any(f.get("rule") == "R-CODE-9" for f in document["findings"]):
        problems += sequence_problems(document["reports"])  # shared codes interleave
    assert problems == []


# -- the comparison itself must be able to fail ---------------------------------------------


def _report(**fields: Any) -> Json:
    base: Json = {
        "kind": "anmeldung",
        "patient_code": "ANBEF530",
        "date": "2025-03-03",
        "substance": "Methadon",
        "made_on": "2025-03-03",
        "doctor": {"btm_number": "3800101"},
        "consultant": None,
        "remarks": [],
    }
    return {**base, **fields}


def _expected(**fields: Any) -> Json:
    base: Json = {
        "kind": "anmeldung",
        "patient_code": "ANBEF530",
        "date": "2025-03-03",
        "substance": "Methadon",
        "doctor_btm": "3800101",
        "consultant_btm": None,
        "remarks_include": [],
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("expected", "actual", "count"),
    [
        ([_expected()], [_report()], 0),
        ([_expected()], [], 1),
        ([], [_report()], 1),
        ([_expected()], [_report(date="2025-03-04")], 2),
        ([_expected(consultant_btm="3800404")], [_report(consultant={"btm_number": "3800404"})], 0),
        ([_expected()], [_report(consultant={"btm_number": "3800404"})], 2),
        ([_expected(), _expected()], [_report()], 1),
        ([_expected(remarks_include=["Konsiliararztwechsel"])], [_report()], 1),
        (
            [_expected(remarks_include=["Konsiliararztwechsel"]), _expected()],
            [_report(), _report(remarks=["Konsiliararztwechsel"])],
            0,
        ),
    ],
    ids=[
        "equal",
        "missing",
        "extra",
        "other-date",
        "consultant",
        "unexpected-consultant",
        "multiplicity",
        "remark-missing",
        "remarks-assigned-across-twins",
    ],
)
def test_report_comparison(expected: list[Json], actual: list[Json], count: int) -> None:
    """The multiset comparison finds missing, extra and remark problems (README criteria 2, 3)."""
    assert len(report_problems(expected, actual)) == count


def test_date_and_finding_checks() -> None:
    """Reports after as_of or without made_on, and missing findings, are problems (4, 5)."""
    reports = [
        _report(),
        _report(date="2025-03-20"),
        _report(made_on=None),
        _report(made_on="2025-04-01"),
    ]
    assert len(date_problems(reports, "2025-03-10")) == 3
    findings = [{"severity": "warning", "rule": "R-SUB-5"}]
    assert finding_problems([{"severity": "warning", "rule": "R-SUB-5"}], findings) == []
    assert len(finding_problems([{"severity": "error", "rule": "R-SUB-5"}], findings)) == 1
    twice = [{"severity": "warning", "rule": "R-SUB-5"}] * 2
    assert len(finding_problems(twice, findings)) == 1


def test_contract_checks() -> None:
    """The contract checks flag a bad Abmeldung and a second Anmeldung (REPORTS.md, R-EP-4)."""
    anm = _report(id="a", rule="R-EP-1", sources=["MedicationAdministration/m1"])
    abm = {
        **anm,
        "id": "b",
        "kind": "abmeldung",
        "substance": None,
        "date": "2025-03-07",
        "made_on": "2025-03-18",
    }
    assert contract_problems([anm, abm]) == []
    assert sequence_problems([anm, abm]) == []
    assert len(contract_problems([anm, {**abm, "made_on": "2025-03-06"}])) == 1
    assert len(contract_problems([anm, {**abm, "substance": "Methadon"}])) == 1
    assert len(contract_problems([anm, {**abm, "id": "a"}])) == 1
    assert len(sequence_problems([abm])) == 1
    assert len(sequence_problems([anm, {**anm, "id": "c", "date": "2025-03-05"}])) == 1


# -- our own cases: format, coverage, made_on -------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(d, id=d.name) for d in OWN_CASES])
def test_own_case_is_in_the_scenario_format(case: Path) -> None:
    """tests/cases/* follow ../shared/scenarios/README.md exactly (files and fields)."""
    assert re.fullmatch(r"\d\d-[a-z0-9-]+", case.name)
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert set(expected) == {"as_of", "title", "rules", "why", "reports", "findings"}
    assert DATE.match(expected["as_of"])
    assert expected["title"]
    assert len(expected["why"]) > 80
    assert expected["rules"]
    assert all(re.fullmatch(r"R-[A-Z]+-\d+", r) for r in expected["rules"])
    for report in expected["reports"]:
        assert set(report) == {*FIELDS, "remarks_include"}
        assert report["kind"] in {"anmeldung", "abmeldung", "mitteilung"}
        assert (report["substance"] is None) == (report["kind"] != "anmeldung")
        assert report["kind"] == "anmeldung" or report["consultant_btm"] is None
        assert (report["patient_code"] is None) == (report["kind"] == "mitteilung")
        assert report["date"] <= expected["as_of"]
    for finding in expected["findings"]:
        assert set(finding) == {"severity", "rule"}
    bundle = json.loads((case / "input.json").read_text(encoding="utf-8"))
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    assert all("resource" in entry and "fullUrl" in entry for entry in bundle["entry"])


def test_own_cases_cover_every_rule_group() -> None:
    """A clone on its own still tests every rule group with a worked case."""
    named = {
        rule.rsplit("-", 1)[0]
        for case in OWN_CASES
        for rule in json.loads((case / "expected.json").read_text(encoding="utf-8"))["rules"]
    }
    assert set(RULE_GROUPS) <= named


# (kind, patient_code, date) → made_on, by hand from INPUT.md edge case 10 and D-4.
MADE_ON: dict[str, dict[tuple[str, str | None, str], str]] = {
    "31-abs-substitute-40-days": {
        ("anmeldung", "MAWEM713", "2025-04-01"): "2025-04-01",
        ("abmeldung", "MAWEM713", "2025-04-10"): "2025-05-11",  # the run's 31st day
        ("anmeldung", "MAWEM713", "2025-04-11"): "2025-05-11",
    },
    "32-ep-episode-finished": {
        ("abmeldung", "JUNEF862", "2025-03-14"): "2025-03-22",  # max(03-14, 03-21) + 1
    },
    "33-not-detox-21-days": {
        ("abmeldung", "EVLAF005", "2025-05-25"): "2025-06-05",  # L + 11
    },
    "34-chg-leaving-doctor": {
        ("abmeldung", "SAKOF119", "2025-06-13"): "2025-06-16",  # H + 1
        ("anmeldung", "SAKOF119", "2025-06-18"): "2025-06-18",
    },
    "35-chg-qualification-acquired": {("mitteilung", None, "2025-09-10"): "2025-09-10"},
    "41-depot-sixmo-six-months": {("abmeldung", "HEVOF476", "2025-07-14"): "2025-07-25"},
    "42-depot-buvidal-unknown-form": {("abmeldung", "ROMEM981", "2025-03-02"): "2025-03-13"},
    "43-ep-take-home-st-request": {("abmeldung", "INWAF204", "2025-10-17"): "2025-10-28"},
    "47-ep-gap-10-vs-9-days": {
        ("abmeldung", "TOWOM550", "2025-07-11"): "2025-07-22",
        ("anmeldung", "TOWOM550", "2025-07-22"): "2025-07-22",
    },
    "48-abs-hospital-31-vs-30-days": {
        ("abmeldung", "OLBRF337", "2025-08-14"): "2025-09-14",  # day 31 of the absence
        ("anmeldung", "OLBRF337", "2025-09-15"): "2025-09-15",
    },
    "49-chg-name-change": {
        ("abmeldung", "SOKRF943", "2025-02-10"): "2025-02-11",  # D + 1
        ("anmeldung", "SOALF943", "2025-02-11"): "2025-02-11",
    },
    "50-chg-to-diamorphin": {
        ("abmeldung", "LUBAM886", "2025-06-16"): "2025-06-17",
        ("anmeldung", "LUBAM886", "2025-06-17"): "2025-06-17",
    },
    "51-chg-new-consultant": {
        ("abmeldung", "EMSCM729", "2025-04-14"): "2025-04-15",
        ("anmeldung", "EMSCM729", "2025-04-15"): "2025-04-15",
    },
    "52-not-detox-turns-substitution": {
        ("anmeldung", "NIKAM157", "2025-02-03"): "2025-02-17",  # known once substitution starts
    },
    "53-note-address-change": {("mitteilung", None, "2025-10-20"): "2025-10-20"},
    # The real-shape cases (INPUT.md 15–23): each Abmeldung on the 11th empty day, L + 11.
    "81-real-kbv-st-fortnightly-gematik-dispenses-one-anmeldung": {
        ("anmeldung", "KASCM444", "2025-03-03"): "2025-03-03",
        ("abmeldung", "KASCM444", "2025-04-27"): "2025-05-08",
    },
    "82-real-gematik-dispense-without-any-reach-one-day": {
        ("abmeldung", "KASCM444", "2025-03-18"): "2025-03-29",
    },
    "83-real-epa-dispenses-by-reference-and-process-identifier": {
        ("abmeldung", "KASCM444", "2025-02-19"): "2025-03-02",
    },
    "85-real-gematik-dispense-unknown-kvnr-and-prescription": {
        ("abmeldung", "KASCM444", "2025-03-16"): "2025-03-27",
    },
    "86-real-kbv-two-practitioner-ids-one-lanr-one-doctor": {
        ("anmeldung", "LUKÖM265", "2025-02-03"): "2025-02-03",  # no re-registration on 03-19
        ("abmeldung", "LUKÖM265", "2025-04-13"): "2025-04-24",
    },
    "88-real-kbv-patient-with-gender-added-reported": {
        ("abmeldung", "PAPRF265", "2025-05-18"): "2025-05-29",
    },
    "89-real-kbv-freetext-d-l-methadon-is-methadon": {
        ("abmeldung", "KASCM444", "2025-06-08"): "2025-06-19",
    },
    "90-real-kbv-compounding-d-l-methadon-is-methadon": {
        ("abmeldung", "PEPAM892", "2025-06-08"): "2025-06-19",
    },
    "95-real-isik-administration-entered-in-error-version": {
        ("anmeldung", "ERMUF284", "2025-05-06"): "2025-05-06",
        ("abmeldung", "ERMUF284", "2025-05-15"): "2025-05-26",
    },
    "96-real-epa-requests-in-a-history-bundle": {
        ("abmeldung", "KASCM444", "2025-01-28"): "2025-02-08",
    },
}


@pytest.mark.parametrize("name", sorted(MADE_ON), ids=str)
def test_own_case_made_on(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The day each report falls due (INPUT.md edge case 10), checked where the format cannot."""
    _, document = run_case(OWN / name, capsys)
    made_on = {(r["kind"], r["patient_code"], r["date"]): r["made_on"] for r in document["reports"]}
    assert {key: made_on.get(key) for key in MADE_ON[name]} == MADE_ON[name]


# -- the official checker ----------------------------------------------------------------------


def _substreg_command() -> str:
    installed = Path(sys.executable).with_name("substreg")
    if installed.is_file():
        return str(installed)
    found = shutil.which("substreg")
    return found if found else f"{sys.executable} -m adapter.cli.main"


SMOKE_CASES = 2  # own cases the checker runs against the installed command, in a child each


def _checker() -> ModuleType:
    """../shared/scenarios/check.py as a module (skips when ../shared is not beside us)."""
    path = SHARED / "check.py"
    if not path.is_file():
        pytest.skip(f"{SHARED} is not beside this clone")
    spec = importlib.util.spec_from_file_location("scenario_checker", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_official_checker_passes_every_own_case(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """../shared/scenarios/check.py, its comparison unchanged, passes on every own case:
    the command it would start (`substreg derive input.json --as-of …` in the case's
    folder) runs in this process instead, one child per case being an interpreter's start
    each (D-119). The installed command is run by the checker in the test below."""
    checker = _checker()

    def in_process(argv: list[str], cwd: str, **_: object) -> subprocess.CompletedProcess[bytes]:
        assert argv[:2] == ["substreg", "derive"], argv
        with contextlib.chdir(cwd):
            status = main(argv[1:])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(argv, status, out.encode(), err.encode())

    monkeypatch.setattr(
        checker,
        "subprocess",
        SimpleNamespace(run=in_process, TimeoutExpired=subprocess.TimeoutExpired),
    )
    status = checker.main([str(OWN), "--cmd", "substreg"])
    summary = capsys.readouterr().out.splitlines()
    assert status == 0, summary
    assert summary[-1] == f"{len(case_dirs(OWN))} passed, 0 failed"


def test_official_checker_passes_with_the_installed_command(tmp_path: Path) -> None:
    """../shared/scenarios/check.py passes on our own cases against the installed CLI
    (README 'How … checked'), started as a child per case: here on SMOKE_CASES of them
    (every own case is compared in the test above, the public scenarios once in `make
    scenarios`, part of `make test`; each of them also runs in `test_worked_case`)."""
    checker = _checker()
    root = tmp_path / "cases"
    root.mkdir()
    for case in case_dirs(OWN)[:SMOKE_CASES]:
        (root / case.name).symlink_to(case, target_is_directory=True)
    proc = subprocess.run(
        [sys.executable, checker.__file__, str(root), "--cmd", _substreg_command()],
        check=False,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS * (SMOKE_CASES + 1),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == f"{SMOKE_CASES} passed, 0 failed"
