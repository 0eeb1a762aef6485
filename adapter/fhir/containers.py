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

from adapter.fhir.items import Deleted, Entry, Item, Unreadable

# On the stack: a resource (with its fullUrl, place and enclosing Bundle's identifier) or a
# Parameters' parameter to open; or what is yielded as it is.
_Work = tuple[str, dict[str, Any], str | None, str, tuple[str, str] | None] | Unreadable | Deleted


def unpack(resource: dict[str, Any], full_url: str | None, where: str) -> Iterator[Item]:
    """The resources in `resource` (itself, unless it is a Bundle or Parameters)."""
    if resource["resourceType"] not in ("Bundle", "Parameters"):
        yield Entry(resource, full_url, where)  # most NDJSON lines: no stack needed
        return
    stack: list[_Work] = [("resource", resource, full_url, where, None)]
    while stack:
        work = stack.pop()
        if isinstance(work, Unreadable | Deleted):
            yield work
            continue
        kind, node, url, place, bundle_id = work
        if kind == "parameter":
            inner = _parameter(node, place, bundle_id)
        elif node["resourceType"] == "Bundle":
            inner = _entries(node, place)
        elif node["resourceType"] == "Parameters":
            inner = _parameters(node, "parameter", place, None)
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
            if (deleted := _deleted(entry, place)) is not None:
                found.append(deleted)  # the resource is gone: an earlier version with it
            continue  # a response without the resource carries none
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


def _deleted(entry: dict[str, Any], where: str) -> Deleted | None:
    """A DELETE of one resource by `Type/id` (a conditional DELETE names none)."""
    request = entry.get("request")
    if not isinstance(request, dict) or request.get("method") != "DELETE":
        return None
    url = request.get("url")
    if not isinstance(url, str) or "?" in url or url.count("/") < 1:
        return None
    parts = url.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return Deleted(f"{parts[-2]}/{parts[-1]}", where) if len(parts) >= 2 else None


def _is_bare(entry: dict[str, Any]) -> bool:
    return "request" in entry or "response" in entry


def _parameters(
    node: dict[str, Any], key: str, where: str, context: tuple[str, str] | None
) -> list[_Work]:
    """`Parameters.parameter` or `parameter.part`: each a parameter to open."""
    items = node.get(key) or []
    if not isinstance(items, list):
        return [Unreadable(where, f"{key} must be a list")]
    found: list[_Work] = []
    for index, item in enumerate(items):
        place = f"{where} {key} {index}"
        if isinstance(item, dict):
            found.append(("parameter", item, None, place, context))
        else:
            found.append(Unreadable(place, f"{key} must be an object"))
    return found


def _parameter(
    parameter: dict[str, Any], where: str, context: tuple[str, str] | None
) -> list[_Work]:
    """A parameter's resource, if any, then its parts. The identifier a part names
    `prescriptionId` (ePA `$provide-dispensation-erp`: the dispense's only link to its
    prescription) goes with the resources of the parts beside it."""
    context = _prescription_id(parameter) or context
    found: list[_Work] = []
    if "resource" in parameter:
        resource = parameter["resource"]
        if _is_resource(resource):
            found.append(("resource", resource, None, where, context))
        else:
            found.append(Unreadable(where, "parameter.resource is not a FHIR resource"))
    return found + _parameters(parameter, "part", where, context)


def _prescription_id(parameter: dict[str, Any]) -> tuple[str, str] | None:
    parts = parameter.get("part")
    for part in parts if isinstance(parts, list) else ():
        if isinstance(part, dict) and part.get("name") == "prescriptionId":
            return _identifier({"identifier": part.get("valueIdentifier")})
    return None


def _is_resource(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and isinstance(value.get("resourceType"), str)
