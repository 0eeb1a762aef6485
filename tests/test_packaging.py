"""The wheel holds what an installation needs, and runs with no checkout beside it: the
mapping files are package data read with importlib.resources, SUBSTREG_MAPPINGS_DIR
still overrides them (issue 8). `.ci/fresh-clone-check` installs the wheel into a fresh
venv with its dependencies; here it is built offline and put on the path as pip lays
it out (a folder) and as it is (a zip archive, read through zipimport)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from adapter.mappings import MAPPING_FILES, packaged_mappings

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "fhir_profiles" / "examples"  # one Anmeldung: JOWEM318, Levomethadon

# `substreg ARGS` through main(), as the installed script runs it; the last line of
# standard error says where the adapter and its mapping files were found.
PROBE = """
import json, sys
import adapter
from adapter.cli.main import main
from adapter.mappings import default_mappings_dir
try:
    status = main(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
where = {"adapter": adapter.__file__, "mappings": str(default_mappings_dir())}
print(json.dumps({"status": status, **where}), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built without network from a copy of the sources (a build in the
    checkout would leave a build/ folder whose stale files a later build packs)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "adapter", source / "adapter", ignore=ignore)
    dist = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps"]
    build += ["--no-build-isolation", "--no-index", "--quiet", "--wheel-dir", str(dist)]
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    [built] = dist.glob("substreg_adapter-*.whl")
    return built


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel's files in a folder, as `pip install` puts them into site-packages."""
    site = tmp_path_factory.mktemp("site-packages")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def run_from(path: Path, argv: list[str], cwd: Path, **env: str) -> tuple[int, dict[str, str]]:
    """`substreg argv` with the adapter imported from `path` only (no checkout on the path)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(path), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    probe = json.loads(result.stderr.splitlines()[-1])
    assert probe["adapter"].startswith(str(path)), probe  # not the checkout's copy
    return probe.pop("status"), probe | {"stdout": result.stdout, "stderr": result.stderr}


def test_the_wheel_holds_the_mapping_files_and_migrations(wheel: Path) -> None:
    """Package data: the three mapping files as in the repository, and Alembic's scripts."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name in MAPPING_FILES:
            packed = archive.read(f"adapter/data/mappings/{name}")
            assert packed == (packaged_mappings() / name).read_bytes(), name
    assert "adapter/store/migrations/env.py" in names
    assert any(n.startswith("adapter/store/migrations/versions/0001_") for n in names)
    assert "adapter/py.typed" in names


@pytest.mark.parametrize("layout", ["unpacked", "zip"], ids=str)
def test_an_installed_wheel_derives_with_its_own_mapping_files(
    layout: str, wheel: Path, unpacked: Path, tmp_path: Path
) -> None:
    """No checkout, no environment variable: derive finds Levomethadon and its Anmeldung."""
    path = unpacked if layout == "unpacked" else wheel
    status, found = run_from(path, ["derive", str(TINY), "--as-of", "2025-06-30"], tmp_path)
    assert status == 0, found["stderr"]
    assert found["mappings"].startswith(str(path))
    [report] = json.loads(found["stdout"])["reports"]
    assert (report["patient_code"], report["substance"]) == ("JOWEM318", "Levomethadon")


def test_an_installed_wheel_reads_the_override_folder(unpacked: Path, tmp_path: Path) -> None:
    """SUBSTREG_MAPPINGS_DIR replaces the packaged files: a copy without Levomethadon's
    ATC code and words leaves the example without a substance, so no Anmeldung."""
    folder = tmp_path / "reviewed"
    shutil.copytree(str(packaged_mappings()), folder)
    substances = json.loads((folder / "substances.json").read_text(encoding="utf-8"))
    substances["atc"] = {
        code: entry
        for code, entry in substances["atc"].items()
        if entry["substance"] != "Levomethadon"
    }
    substances["text"] = [t for t in substances["text"] if t["substance"] != "Levomethadon"]
    (folder / "substances.json").write_text(json.dumps(substances), encoding="utf-8")
    argv = ["derive", str(TINY), "--as-of", "2025-06-30"]
    status, found = run_from(unpacked, argv, tmp_path, SUBSTREG_MAPPINGS_DIR=str(folder))
    assert status == 0, found["stderr"]
    assert found["mappings"] == str(folder)
    assert json.loads(found["stdout"])["reports"] == []
