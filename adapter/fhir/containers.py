"""Resources out of the resources that carry others: Bundles and Parameters (INPUT.md 23).

A Bundle of any type yields its entries' resources (with their fullUrls); a `history`
Bundle lists versions newest first, so its entries are yielded oldest first and "input
order" means older to newer downstream (INPUT.md 21). An entry without a resource is
a DELETE or a response (transaction-response, batch-response): it is skipped. A
`Parameters` resource (gematik `$close`, ePA `$provide-prescription-erp` …) yields every
`parameter.resource` and `part.resource`, nested parts too. What they carry may be a
Bundle or Parameters again. The walk keeps its own stack, so that no nesting, however
deep, can exhaust Python's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeGuard

from adapter.fhir.items import Entry, Item, Unreadable

# On the stack: a resource (with its fullUrl, place and enclosing Bundle's identifier) or a
# Parameters' parameter to open.
_Work = tuple[str, dict[str, Any], str | None, str, tuple[str, str] | None] | Unreadable


def unpack(resource: dict[str, Any], full_url: str | None, where: str) -> Iterator[Item]:
    """The resources in `resource` (itself, unless it is a Bundle or Parameters)."""
    if resource["resourceType"] not in ("Bundle", "Parameters"):
        yield Entry(resource, full_url, where)  # most NDJSON lines: no stack needed
        return
    stack: list[_Work] = [("resource", resource, full_url, where, None)]
    while stack:
        work = stack.pop()
        if isinstance(work, Unreadable):
            yield work
            continue
        kind, node, url, place, bundle_id = work
        if kind == "parameter":
            inner = _parameter(node, place)
        elif node["resourceType"] == "Bundle":
            inner = _entries(node, place)
        elif node["resourceType"] == "Parameters":
            inner = _parameters(node, "parameter", place)
        else:
            yield Entry(node, url, place, bundle_id)
            continue
        stack.extend(reversed(inner))  # so that they come out in document order


def _entries(bundle: dict[str, Any], where: str) -> list[_Work]:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        return [Unreadable(where, "Bundle.entry must be a list")]
    found: list[_Work] = []
    bundle_id = _identifier(bundle)
    for index, entry in enumerate(entries):
        place = f"{where} entry {index}"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if resource is None and isinstance(entry, dict) and _is_bare(entry):
            continue  # a DELETE, or a response without the resource, carries none
        if not _is_resource(resource):
            found.append(Unreadable(place, "not a FHIR resource (no resourceType)"))
            continue
        url = entry.get("fullUrl")
        found.append(
            ("resource", resource, url if isinstance(url, str) else None, place, bundle_id)
        )
    if bundle.get("type") == "history":
        found.reverse()  # newest first in the Bundle; oldest first for the reader
    return found


def _identifier(bundle: dict[str, Any]) -> tuple[str, str] | None:
    identifier = bundle.get("identifier")
    if not isinstance(identifier, dict):
        return None
    system, value = identifier.get("system"), identifier.get("value")
    if isinstance(system, str) and isinstance(value, str) and system and value:
        return system, value
    return None


def _is_bare(entry: dict[str, Any]) -> bool:
    return "request" in entry or "response" in entry


def _parameters(node: dict[str, Any], key: str, where: str) -> list[_Work]:
    """`Parameters.parameter` or `parameter.part`: each a parameter to open."""
    items = node.get(key) or []
    if not isinstance(items, list):
        return [Unreadable(where, f"{key} must be a list")]
    found: list[_Work] = []
    for index, item in enumerate(items):
        place = f"{where} {key} {index}"
        if isinstance(item, dict):
            found.append(("parameter", item, None, place, None))
        else:
            found.append(Unreadable(place, f"{key} must be an object"))
    return found


def _parameter(parameter: dict[str, Any], where: str) -> list[_Work]:
    """A parameter's resource, if any, then its parts."""
    found: list[_Work] = []
    if "resource" in parameter:
        resource = parameter["resource"]
        if _is_resource(resource):
            found.append(("resource", resource, None, where, None))
        else:
            found.append(Unreadable(where, "parameter.resource is not a FHIR resource"))
    return found + _parameters(parameter, "part", where)


def _is_resource(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and isinstance(value.get("resourceType"), str)
