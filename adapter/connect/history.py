"""How the pull connector reads deletions (D-180), as JSON: the server's
CapabilityStatement (`GET [base]/metadata`: which types offer the `history-type`
interaction) and the pages of a type's history (`GET [base]/[type]/_history?_since=`),
whose entries with `request.method` DELETE are the resources deleted on the EHR. A search
never returns a deleted resource, so without the history a deletion would stay in our
store. `FhirClient.history_types` and `.history` make the requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a type's history: the resource (`Type/id`), whether it was deleted,
    and when (the server's text of `response.lastModified` or `meta.lastUpdated`)."""

    ref: str
    deleted: bool
    at: str | None


def offered(statement: dict[str, Any]) -> frozenset[str]:
    """The resource types whose history a CapabilityStatement offers (`history-type`)."""
    found: set[str] = set()
    for rest in _list(statement.get("rest")):
        if rest.get("mode", "server") != "server":
            continue
        for resource in _list(rest.get("resource")):
            codes = {i.get("code") for i in _list(resource.get("interaction"))}
            if "history-type" in codes and isinstance(resource.get("type"), str):
                found.add(resource["type"])
    return frozenset(found)


def changes(bundle: dict[str, Any], resource_type: str) -> Iterator[Change]:
    """The changes one page of a type's history records."""
    for entry in _list(bundle.get("entry")):
        change = _change(entry, resource_type)
        if change is not None:
            yield change


def _change(entry: dict[str, Any], resource_type: str) -> Change | None:
    """The change an entry records; None for one that names no resource of the type."""
    request, response, resource = (_dict(entry.get(k)) for k in ("request", "response", "resource"))
    method = request.get("method")
    url = request.get("url") or entry.get("fullUrl")
    resource_id = resource.get("id")
    if isinstance(resource_id, str) and resource.get("resourceType") == resource_type:
        ref = f"{resource_type}/{resource_id}"
    elif isinstance(url, str):
        ref = _ref(url, resource_type)
    else:
        return None
    if not ref:
        return None
    at = response.get("lastModified") or _dict(resource.get("meta")).get("lastUpdated")
    return Change(ref, method == "DELETE", at if isinstance(at, str) else None)


def _ref(url: str, resource_type: str) -> str:
    """`Type/id` of a request URL (`Type/id`, `Type/id/_history/3`, or absolute)."""
    parts = [p for p in url.split("?", 1)[0].split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == resource_type:
        return f"{resource_type}/{parts[-1]}"
    return ""


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
