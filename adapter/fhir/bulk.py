"""FHIR Bulk Data exports: a folder with the manifest of a `$export` (INPUT.md 22).

The manifest is the JSON document the export's status request answers with once it is
complete (https://hl7.org/fhir/uv/bulkdata/export.html): `transactionTime`, `request`,
`output` (`type`, `url` of each NDJSON file), `error` (NDJSON files of
OperationOutcomes) and, since Bulk Data 2.0, `deleted`. Clients save it beside the
files as `manifest.json`. Read as the export's table of contents:

- each `output` and `deleted` file is read, found by the file name of its `url` beside
  the manifest; one that is not there is an `error` finding (the export is incomplete);
- each issue of an OperationOutcome in an `error` file is a `warning` finding naming
  the file, the line and the issue's text;
- a JSON, NDJSON or XML file beside the manifest (or below it) that the manifest does
  not list is not read, with a `warning` finding: it belongs to another export, perhaps
  an older one whose resources would replace newer ones (D-38).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from adapter.fhir.items import SUFFIXES, Entry, Item, Note, Unreadable

MANIFEST = "manifest.json"
_MAX_TEXT = 300  # an issue's text, shortened: a server's diagnostics can run long


@dataclass(frozen=True, slots=True)
class Export:
    outputs: list[Path]  # output and deleted files, in the manifest's order
    errors: list[Path]
    notes: list[Item]  # missing and unlisted files, a malformed manifest


def is_manifest(data: Any) -> bool:
    """A Bulk Data manifest: no resourceType, a transactionTime and an output list."""
    return (
        isinstance(data, dict)
        and "resourceType" not in data
        and isinstance(data.get("transactionTime"), str)
        and isinstance(data.get("output"), list)
    )


def plan(manifest: Path, data: dict[str, Any]) -> Export:
    """The files to read for the export whose manifest this is, and what is amiss."""
    notes: list[Item] = []
    outputs = _listed(manifest, data, "output", notes) + _listed(manifest, data, "deleted", notes)
    errors = _listed(manifest, data, "error", notes)
    listed = {manifest, *outputs, *errors}
    for path in sorted(manifest.parent.rglob("*")):
        if path.is_file() and path.suffix in SUFFIXES and path not in listed:
            name = path.relative_to(manifest.parent).as_posix()
            notes.append(
                Note(
                    "warning",
                    name,
                    f"{name} is not listed in {manifest.name}, so it is not read: it is not "
                    "part of this export. If it belongs to it, add it to the manifest's "
                    "output list or name the file on the command line.",
                )
            )
    return Export(list(dict.fromkeys(outputs)), list(dict.fromkeys(errors)), notes)


def _listed(manifest: Path, data: dict[str, Any], key: str, notes: list[Item]) -> list[Path]:
    """The files a manifest list names that are there; the others become notes."""
    items = data.get(key) or []
    if not isinstance(items, list):
        notes.append(Unreadable(f"{manifest.name} {key}", f"{key} must be a list"))
        return []
    found = []
    for index, item in enumerate(items):
        where = f"{manifest.name} {key} {index}"
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str):
            notes.append(Unreadable(where, "it has no url"))
            continue
        name = PurePosixPath(unquote(urlsplit(url).path)).name
        path = manifest.parent / name
        if name and path.is_file():
            found.append(path)
        elif key == "error":
            notes.append(
                Note("warning", where, f"{where}: the export's error file {name or url} is missing")
            )
        else:
            problem = f"the file {name or url} it lists is not beside the manifest"
            notes.append(Unreadable(where, f"{problem}: the export is incomplete"))
    return found


def reported_errors(item: Item) -> Iterator[Item]:
    """An item of an export's error file: each issue of an OperationOutcome is a warning."""
    if not isinstance(item, Entry) or item.resource["resourceType"] != "OperationOutcome":
        yield item
        return
    issues = item.resource.get("issue")
    if not isinstance(issues, list) or not issues:
        issues = [{}]
    for issue in issues:
        text = _issue_text(issue) if isinstance(issue, dict) else "(unreadable issue)"
        yield Note("warning", item.where, f"{item.where}: the export reported a problem: {text}")


def _issue_text(issue: dict[str, Any]) -> str:
    """The issue's human text (details), then its technical one (diagnostics), shortened."""
    details = _object(issue.get("details"))
    codings = details.get("coding")
    first = _object(codings[0]) if isinstance(codings, list) and codings else {}
    summary = next(
        (v for v in (details.get("text"), first.get("display"), first.get("code")) if _filled(v)),
        None,
    )
    parts = [str(v) for v in (summary, issue.get("diagnostics")) if _filled(v)]
    text = " ".join(": ".join(dict.fromkeys(parts)).split()) or "(no text)"
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1] + "…"
    kind = ", ".join(str(issue[k]) for k in ("severity", "code") if _filled(issue.get(k)))
    return f"{text} ({kind})" if kind else text


def _filled(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
