"""Stream FHIR resources out of files: JSON resources, Bundles, NDJSON, directories.

Resources are yielded one at a time so that a practice-year never sits in memory as
JSON (an NDJSON file is read line by line). Problems that make an input unusable as a
whole raise `InputError`; a single unreadable line or entry becomes an `Unreadable`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


class InputError(Exception):
    """The input cannot be used at all (missing file, not JSON, not FHIR)."""


@dataclass(frozen=True, slots=True)
class Entry:
    resource: dict[str, Any]
    full_url: str | None


@dataclass(frozen=True, slots=True)
class Unreadable:
    where: str  # "file.ndjson line 7" or "file.json entry 3"
    problem: str


def read_paths(paths: list[Path]) -> Iterator[Entry | Unreadable]:
    for path in paths:
        if path.is_dir():
            for file in _files_under(path):
                yield from read_file(file)
        elif path.is_file():
            yield from read_file(path)
        else:
            msg = f"{path}: no such file or directory"
            raise InputError(msg)


def _files_under(folder: Path) -> list[Path]:
    """The JSON and NDJSON files under `folder`, sorted. A folder that cannot be listed
    stops the run (InputError): part of an export left out silently would look like
    treatments that ended (issue 9)."""

    def refuse(exc: OSError) -> None:
        where = exc.filename or folder
        msg = (
            f"{where}: cannot be read ({exc.strerror}); let this program's user read every "
            "folder of the export, or name only the folders it may read"
        )
        raise InputError(msg)

    found = [
        Path(top) / name
        for top, _, names in os.walk(folder, onerror=refuse)
        for name in names
        if Path(name).suffix in {".json", ".ndjson"}
    ]
    return sorted(p for p in found if p.is_file())


def read_file(path: Path) -> Iterator[Entry | Unreadable]:
    if path.suffix == ".ndjson":
        yield from _read_ndjson(path)
        return
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        msg = f"{path}: not JSON ({exc})"
        raise InputError(msg) from None
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror})"
        raise InputError(msg) from None
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        msg = f"{path}: not a FHIR resource or Bundle (no resourceType)"
        raise InputError(msg)
    yield from _unpack(data, None, str(path.name))


def _read_ndjson(path: Path) -> Iterator[Entry | Unreadable]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror})"
        raise InputError(msg) from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield Unreadable(where, f"not JSON ({exc})")
                continue
            if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
                yield Unreadable(where, "not a FHIR resource (no resourceType)")
                continue
            yield from _unpack(data, None, where)


def _unpack(data: dict[str, Any], full_url: str | None, where: str) -> Iterator[Entry | Unreadable]:
    """A resource, or the entries of a Bundle (nested Bundles too)."""
    if data["resourceType"] != "Bundle":
        yield Entry(data, full_url)
        return
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        yield Unreadable(where, "Bundle.entry must be a list")
        return
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if resource is None and isinstance(entry, dict) and "request" in entry:
            continue  # a DELETE in a transaction carries no resource
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            yield Unreadable(f"{where} entry {index}", "not a FHIR resource (no resourceType)")
            continue
        url = entry.get("fullUrl")
        yield from _unpack(
            resource, url if isinstance(url, str) else None, f"{where} entry {index}"
        )
