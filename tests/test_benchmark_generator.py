"""The benchmark's practice-year generator (benchmarks/generate.py) writes data derive reads."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from adapter.services import derive

GENERATOR = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"
PATIENTS = 6  # both doctors' patients; patients 0 and 3 have take-home weeks


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    return _generator()


def test_derive_reads_every_resource_and_registers_every_patient(
    generate: ModuleType, tmp_path: Path
) -> None:
    """Derive reads the export without INPUT findings and registers each patient at least once."""
    counts = generate.generate(tmp_path, patients=PATIENTS, seed=7)
    assert counts["Patient"] == PATIENTS
    assert counts["MedicationDispense"] > 0
    assert {p.name for p in tmp_path.iterdir()} == {f"{kind}.ndjson" for kind in counts}

    derivation = derive([tmp_path], as_of=date(2026, 1, 31))

    assert [f for f in derivation.findings if f.rule == "INPUT"] == []
    lines = (tmp_path / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    expected = set()
    for patient in map(json.loads, lines):
        name = patient["name"][0]
        birth = date.fromisoformat(patient["birthDate"])
        expected.add(generate.code(name["given"][0], name["family"], patient["gender"], birth))
    assert len(expected) == PATIENTS  # codes are unique by construction
    assert {r.patient_code for r in derivation.reports if r.kind == "anmeldung"} == expected


def test_same_seed_gives_the_same_bytes(generate: ModuleType, tmp_path: Path) -> None:
    """Generating twice with one seed writes byte-identical files; another seed differs."""
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate.generate(tmp_path / name, patients=4, seed=seed)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "MedicationAdministration.ndjson").read_bytes() != (
        tmp_path / "c" / "MedicationAdministration.ndjson"
    ).read_bytes()


def test_scale_multiplies_patients_with_unique_ids(generate: ModuleType, tmp_path: Path) -> None:
    """--scale 0.1 is 8 patients, and no resource id repeats within a type."""
    assert generate.patient_count(0.1) == 8
    assert generate.patient_count(10) == 800
    generate.main([str(tmp_path), "--scale", "0.1"])
    for path in tmp_path.iterdir():
        ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]
        assert len(ids) == len(set(ids)), path.name
