"""Input that is broken as a whole or deep inside: a folder that cannot be read, and
extensions nested hundreds of levels deep (issue 9.7). Each is a clear line or a
finding, never silence and never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapter.cli.main import main
from adapter.fhir.validate import validate_paths
from adapter.services import derive
from tests.cli_helpers import DEMO, one_line
from tests.faults.practice import practice, write
from tests.storage import make_twin
from tests.sync.helpers import run_sync

AS_OF = date(2026, 3, 31)


@pytest.fixture
def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An export folder whose subfolder `2026-03` this user may not read: as with mode 000
    for another user. The tests may run as root, who reads everything, so the operating
    system's answers are played: listing the folder, and looking at anything in it (stat,
    open), fail with EACCES, while the folder itself can be looked at from its parent.
    `test_a_folder_another_user_may_not_read_*` below has the real thing."""
    folder = tmp_path / "export"
    (folder / "2026-03").mkdir(parents=True)
    write(folder / "practice.json", practice())
    write(folder / "2026-03" / "march.json", practice())
    hidden = str(folder / "2026-03")
    listing, looking = os.scandir, os.stat

    def denied(path: Any) -> PermissionError:
        return PermissionError(13, "Permission denied", os.fspath(path))

    def scandir(path: Any = ".") -> Iterator[os.DirEntry[str]]:
        if os.fspath(path) == hidden:
            raise denied(path)
        return listing(path)

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if os.fspath(path).startswith(hidden + os.sep):
            raise denied(path)
        return looking(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "stat", stat)
    return folder


def test_derive_of_a_folder_with_an_unreadable_subfolder_is_refused(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 and one line naming the subfolder, instead of reports without its data."""
    status = main(["derive", str(export), "--as-of", "2026-03-31"])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert "2026-03: cannot be read (Permission denied)" in one_line(err)


def test_sync_of_a_folder_with_an_unreadable_subfolder_writes_nothing(
    export: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`substreg sync` stops before the database is touched."""
    monkeypatch.setenv("SUBSTREG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SUBSTREG_DATABASE_URL", f"sqlite:///{tmp_path / 'substreg.db'}")
    assert main(["init"]) == 0
    capsys.readouterr()
    assert main(["sync", str(export), "--as-of", "2026-03-31"]) == 2
    assert "2026-03: cannot be read" in one_line(capsys.readouterr().err)
    assert main(["reports", "list"]) == 0
    assert capsys.readouterr().out.startswith("0 report(s)")


def _run_as_nobody(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`substreg ARGV` as a user without privileges: this one when it is not root, else
    uid 65534 by `setpriv` (root reads a folder of mode 000, another user does not)."""
    command = [sys.executable, "-m", "adapter.cli", *argv]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SUBSTREG_")}
    return subprocess.run(
        command, cwd=cwd, env=inherited, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def closed_export() -> Iterator[Path]:
    """An export of the demo whose subfolder of NDJSON files has mode 000, in a folder
    others may enter (pytest's own temporary folders are private to root)."""
    root = Path(tempfile.mkdtemp(prefix="substreg-closed-"))
    root.chmod(0o755)
    export = root / "export"
    (export / "sub").mkdir(parents=True)
    for file in DEMO.glob("*.json"):
        shutil.copy(file, export)
    for file in DEMO.glob("*.ndjson"):
        shutil.copy(file, export / "sub")
    export.chmod(0o755)
    (export / "sub").chmod(0o000)
    try:
        yield export
    finally:
        (export / "sub").chmod(0o700)
        shutil.rmtree(root)


@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None,
    reason="root without setpriv cannot give up the right to read every folder",
)
def test_a_folder_another_user_may_not_read_stops_derive_in_one_line(closed_export: Path) -> None:
    """A real permission error (mode 000, a user without privileges): exit 2 and one line
    naming the folder, never a PermissionError traceback (it once came from looking for
    a Bulk Data manifest in the folder before listing it)."""
    result = _run_as_nobody(["derive", str(closed_export), "--as-of", "2025-12-31"], Path("/"))
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    line = one_line(result.stderr)
    assert f"{closed_export / 'sub'}: cannot be read (Permission denied)" in line


def _nested(depth: int) -> dict[str, Any]:
    extension: dict[str, Any] = {"url": "https://example.org/leaf", "valueString": "x"}
    for _ in range(depth):
        extension = {"url": "https://example.org/level", "extension": [extension]}
    return extension


@pytest.mark.parametrize("depth", [60, 200, 450])
def test_validate_names_a_deeply_nested_resource_instead_of_crashing(
    depth: int, tmp_path: Path
) -> None:
    """200 nested extensions once gave a RecursionError of 1,754 lines; now one finding
    (depth 60 is beyond the limit too: 120 levels of objects and lists)."""
    patient = {**practice()[1], "extension": [_nested(depth)]}
    bundle = write(tmp_path / "deep.json", [patient])
    findings = list(validate_paths([bundle]))
    assert [(f.severity, f.sources) for f in findings] == [("error", ("Patient/p1",))]
    assert "nested more than 100 levels deep" in findings[0].message


def test_validate_keeps_checking_a_resource_nested_within_the_limit(tmp_path: Path) -> None:
    """Ten nested extensions are FHIR as any other: validated, no finding."""
    patient = {**practice()[1], "extension": [_nested(10)]}
    assert list(validate_paths([write(tmp_path / "deep.json", [patient])])) == []


def test_a_deeply_nested_medication_is_a_finding_in_derive_and_sync(tmp_path: Path) -> None:
    """A medication concept nested past the JSON encoder's depth is left out with a
    finding; the patient's other events are still reported."""
    resources = practice()
    admin = next(r for r in resources if r["id"] == "a1")
    admin["medicationCodeableConcept"] = {
        **admin["medicationCodeableConcept"],
        "extension": [_nested(200)],
    }
    bundle = write(tmp_path / "deep.json", resources)
    derived = derive([bundle], as_of=AS_OF)
    assert [f.severity for f in derived.findings if "MedicationAdministration/a1" in f.sources] == [
        "error"
    ]
    assert derived.reports
    store, _ = make_twin()
    synced = run_sync(store, [bundle], AS_OF)
    assert [f.severity for f in synced.findings if "MedicationAdministration/a1" in f.sources] == [
        "error"
    ]
    assert synced.recorded


@pytest.mark.parametrize(
    "depth", [60, 200, 450], ids=["past-the-limit", "past-orjson-dumps", "deep"]
)
def test_derive_and_sync_name_a_resource_nested_past_the_limit_as_validate_does(
    depth: int, tmp_path: Path
) -> None:
    """A Patient nested past the limit: `validate` refused it while `derive` and `sync`
    used it silently. All three now give the same error finding and leave it out."""
    patient = {**practice()[1], "extension": [_nested(depth)]}
    bundle = write(tmp_path / "deep.json", [patient, *practice()[2:]])
    [validated] = [f for f in validate_paths([bundle]) if "Patient/p1" in f.sources]
    derived = [f for f in derive([bundle], as_of=AS_OF).findings if "nested" in f.message]
    assert derived == [validated]
    store, _ = make_twin()
    synced = run_sync(store, [bundle], AS_OF)
    assert [f for f in synced.findings if "nested" in f.message] == [validated]


def test_json_nested_past_the_parser_is_called_nested_too_deeply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """orjson stops at 1,024 levels: such a file is "nested too deeply", not "not JSON" (it
    is JSON), in one line, exit 2; such an NDJSON line is a finding saying the same."""
    deep = '{"resourceType":"Patient","id":"p9","extension":' + "[" * 1100 + "]" * 1100 + "}"
    file = tmp_path / "deep.json"
    file.write_text(deep, encoding="utf-8")
    assert main(["derive", str(file), "--as-of", "2026-03-31"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "nested too deeply to be read (more than 1,024 levels" in line
    assert "not JSON" not in line
    lines = tmp_path / "deep.ndjson"
    lines.write_text(deep + "\n", encoding="utf-8")
    [finding] = derive([lines], as_of=AS_OF).findings
    assert finding.severity == "error" and "nested too deeply" in finding.message
