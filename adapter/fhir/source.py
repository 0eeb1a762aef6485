"""Stream FHIR resources out of files: JSON and XML resources, Bundles, Parameters, NDJSON,
directories and Bulk Data exports (INPUT.md "Accepted containers", 21–23).

Resources are yielded one at a time so that a practice-year never sits in memory as
JSON (an NDJSON file is read line by line). A file that cannot be used as a whole (not
JSON or XML), named directly or met in a directory, raises `InputError`: the export is
broken, and deriving from the rest would report on part of it; so does a named file that
is no FHIR resource (in a directory it is a warning: an export's own meta files). A single
unreadable line or entry becomes an `Unreadable`, facts about the input a `Note`.

XML is read by xml_input.py, imported only when an XML file is met: reading JSON never
loads lxml or fhir.resources.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from adapter.errors import InputError
from adapter.fhir import bulk
from adapter.fhir.containers import unpack
from adapter.fhir.items import SUFFIXES, Deleted, Entry, Item, Note, Unreadable

__all__ = [
    "Deleted",
    "Entry",
    "InputError",
    "Item",
    "Note",
    "Unreadable",
    "read_file",
    "read_paths",
]


def read_paths(paths: list[Path]) -> Iterator[Item]:
    """The items of every path. Any file or folder the operating system will not let this
    program look at (stat, list, open) stops the run with `InputError`, naming it: part of
    an export left out silently would look like treatments that ended (issue 9, D-41)."""
    for path in paths:
        try:
            yield from _read_path(path)
        except OSError as exc:
            msg = (
                f"{exc.filename or path}: cannot be read ({exc.strerror or type(exc).__name__}); "
                "let this program's user read every folder of the export, or name only the "
                "folders it may read"
            )
            raise InputError(msg) from None


def _read_path(path: Path) -> Iterator[Item]:
    if path.is_dir():
        yield from _read_folder(path, set())
    elif path.is_file():
        yield from read_file(path)
    else:
        msg = f"{path}: no such file or directory"
        raise InputError(msg)


def _read_folder(folder: Path, seen: set[Path]) -> Iterator[Item]:
    """Every *.json, *.ndjson and *.xml file in the folder and below, in name order; a
    folder with a Bulk Data `manifest.json` is read as that export (bulk.py). `seen`: the
    folders read so far, so that a symbolic link back up the tree is read once. What
    cannot be looked at raises OSError, which `read_paths` turns into one line."""
    real = folder.resolve()
    if real in seen:
        return
    seen.add(real)
    listing = _listing(folder)  # first: a folder that cannot be listed is named itself
    manifest = folder / bulk.MANIFEST
    if manifest in listing and manifest.is_file():
        data = _load_json(manifest)
        if bulk.is_manifest(data):
            yield from _read_export(manifest, data)
            return
    for path in listing:
        if path.is_dir():
            yield from _read_folder(path, seen)
        elif path.is_file() and path.suffix in SUFFIXES:
            yield from read_file(path, in_folder=True)


def _listing(folder: Path) -> list[Path]:
    """A folder's entries in name order."""
    with os.scandir(folder) as entries:
        return sorted(folder / entry.name for entry in entries)


def read_file(path: Path, *, in_folder: bool = False) -> Iterator[Item]:
    """The items of one file. A JSON document that is no FHIR resource is an error when
    the file was named, and a warning in a folder: exports carry their own index and meta
    files beside the resources (gematik's `meta_info.json`, D-51). A file that is not
    JSON or XML at all is damaged: an error either way."""
    if path.suffix == ".ndjson":
        yield from _read_ndjson(path)
        return
    if path.suffix == ".xml":
        from adapter.fhir.xml_input import load_xml  # noqa: PLC0415 (lxml only for XML)

        yield from unpack(load_xml(path), None, path.name)
        return
    data = _load_json(path)
    if bulk.is_manifest(data):
        yield from _read_export(path, data)
        return
    if not _is_resource(data):
        if in_folder and path.name != bulk.MANIFEST:  # a broken manifest is no meta file
            yield Note(
                "warning",
                path.name,
                f"{path.name} is JSON but no FHIR resource (no resourceType): it is not read. "
                "Move it out of the export folder if it should not be there.",
            )
            return
        msg = f"{path}: not a FHIR resource or Bundle (no resourceType)"
        raise InputError(msg)
    yield from unpack(data, None, path.name)


def _load_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        msg = f"{path}: {_not_json(exc)}"
        raise InputError(msg) from None
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror})"
        raise InputError(msg) from None


def _read_export(manifest: Path, data: dict[str, Any]) -> Iterator[Item]:
    """The files a Bulk Data manifest lists; its error files become notes."""
    export = bulk.plan(manifest, data)
    yield from export.notes
    for path in export.outputs:
        yield from read_file(path)
    for path in export.errors:
        for item in read_file(path):
            yield from bulk.reported_errors(item)


def _read_ndjson(path: Path) -> Iterator[Item]:
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
                yield Unreadable(where, _not_json(exc))
                continue
            if not _is_resource(data):
                yield Unreadable(where, "not a FHIR resource (no resourceType)")
                continue
            yield from unpack(data, None, where)


def _not_json(exc: orjson.JSONDecodeError) -> str:
    """What is wrong with JSON that could not be parsed: orjson stops at 1,024 levels of
    nesting, which is valid JSON nested too deeply (extensions within extensions …)."""
    if exc.msg.startswith("depth limit exceeded"):
        return (
            "nested too deeply to be read (more than 1,024 levels: extensions within "
            "extensions …); send it without the nesting"
        )
    return f"not JSON ({exc})"


def _is_resource(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("resourceType"), str)
