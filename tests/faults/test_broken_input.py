"""Input that is broken as a whole or deep inside: a folder that cannot be read, and
extensions nested hundreds of levels deep (issue 9.7). Each is a clear line or a
finding, never silence and never a traceback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapter.cli.main import main
from adapter.fhir.validate import validate_paths
from adapter.services import derive
from tests.cli_helpers import one_line
from tests.faults.practice import practice, write
from tests.storage import make_store
from tests.sync.helpers import run_sync

AS_OF = date(2026, 3, 31)


@pytest.fixture
def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An export folder whose subfolder `2026-03` cannot be listed (as with mode 000 for
    another user: the tests may run as root, who reads everything, so listing it fails
    the way the operating system would fail it)."""
    folder = tmp_path / "export"
    (folder / "2026-03").mkdir(parents=True)
    write(folder / "practice.json", practice())
    write(folder / "2026-03" / "march.json", practice())
    hidden = str(folder / "2026-03")
    listing = os.scandir

    def scandir(path: Any = ".") -> Iterator[os.DirEntry[str]]:
        if os.fspath(path) == hidden:
            raise PermissionError(13, "Permission denied", hidden)
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
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
    store, _ = make_store(f"sqlite:///{tmp_path / 'substreg.db'}")
    synced = run_sync(store, [bundle], AS_OF)
    assert [f.severity for f in synced.findings if "MedicationAdministration/a1" in f.sources] == [
        "error"
    ]
    assert synced.recorded
