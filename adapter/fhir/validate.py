"""Full FHIR R4 validation with fhir.resources' R4B models (the `validate` path).

The bulk path (`derive`) reads only the fields it needs with strict readers of its own
(values.py), because full models are several times slower than parsing the JSON. This
module is the one import site of fhir.resources (STYLE rule 3: R4-family models only;
the top-level models are R5 and drop R4 fields silently).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from adapter.domain.model import Finding
from adapter.fhir.collect import Collector
from adapter.fhir.source import Entry, Unreadable, read_paths
from adapter.mappings import Mappings, load_mappings

MAX_DEPTH = 100  # JSON levels; real resources have a dozen, 50 nested extensions are 100


def validate_paths(paths: list[Path], mappings: Mappings | None = None) -> Iterator[Finding]:
    """Error findings per resource that is not valid FHIR R4, naming resource and field,
    and what the adapter's own readers find in it (D-2, D-40: a date they cannot use, a
    far-future end they read as open), so that `validate` and `derive` agree.

    Raises `adapter.fhir.source.InputError` when the input cannot be used at all.
    """
    readers = mappings or load_mappings()
    for item in read_paths(paths):
        if isinstance(item, Unreadable):
            yield Finding("error", "INPUT", f"{item.where}: {item.problem}", (item.where,))
            continue
        depth = nesting_depth(item.resource, MAX_DEPTH)
        if depth > MAX_DEPTH:
            yield _too_deep(item.resource)
            continue
        yield from _validate(item)
        yield from _read(item, readers)


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply `value` nests objects and lists, counted up to `limit` + 1 (no recursion:
    the point is to refuse what would exhaust the interpreter's stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep(resource: dict[str, Any]) -> Finding:
    where = _where(resource)
    return Finding(
        "error",
        "INPUT",
        f"{where}: nested more than {MAX_DEPTH} levels deep (extensions within extensions …): "
        "it cannot be validated or read; send it without the nesting.",
        (where,),
    )


def _where(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource.get('id', '?')}"


def _read(entry: Entry, mappings: Mappings) -> Iterator[Finding]:
    """What the adapter's lean readers find in the resource (derive and sync read it so)."""
    collector = Collector(mappings)
    collector.add(entry)
    yield from (f for f in collector.result.findings if f.rule == "INPUT")


def _validate(entry: Entry) -> Iterator[Finding]:
    resource = entry.resource
    kind = resource["resourceType"]
    where = _where(resource)
    try:
        model = get_fhir_model_class(kind)
    except ValueError:
        yield Finding(
            "error", "INPUT", f"{where}: '{kind}' is not a FHIR R4 resource type", (where,)
        )
        return
    try:
        model.model_validate(resource)
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps it from happening
        yield _too_deep(resource)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "(resource)"
            message = f"{where}: {field}: {error['msg']}"
            yield Finding("error", "INPUT", message, (where,))
