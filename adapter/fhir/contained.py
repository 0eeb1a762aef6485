"""Contained resources as resources of their own (INPUT.md 'Accepted containers').

A reference `#id` points into the `contained` list of the resource it occurs in (and `#`
alone to that resource itself). Contained Medications stay where they are: the event's
own reader takes them in (`Collector._med`), which keeps them with the event. Every other
contained resource we read (a requester's PractitionerRole, its Practitioner and
Organization, a performer …) gets a key of its own, and the local references to it, in
the container and in its siblings, are rewritten to that key; from then on it is read
like any other resource.

The key is `Type/<local id>~<digest>`: `~` cannot occur in a FHIR id, so it never meets a
resource sent on its own, and the digest is taken over the contained resources, so the same
contained doctor in a thousand prescriptions is one doctor with one stable key, batch after
batch (sync keeps practice records by key).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from adapter.fhir.values import json_bytes

# Kept inside their container (Medication), or needing an identity of their own that a
# contained copy cannot give (Patient: its pseudonym is keyed by its id).
_STAY_INSIDE = frozenset({"Medication"})
_NOT_CONTAINED = frozenset({"Patient"})


def contained_resources(
    resource: dict[str, Any], container_key: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The contained resources to read on their own, as (id, resource), after rewriting the
    local references of `resource` and of them in place. Nothing when there are none."""
    inner = resource.get("contained")
    if not isinstance(inner, list):
        return
    own = [
        r
        for r in inner
        if isinstance(r, dict)
        and isinstance(r.get("id"), str)
        and r.get("resourceType") not in _STAY_INSIDE
        and isinstance(r.get("resourceType"), str)
    ]
    if not own:
        return
    digest = _digest(own, container_key)
    ids = {f"#{r['id']}": f"{r['id'].replace('/', '_')}~{digest}" for r in own}
    targets = {
        local: f"{r['resourceType']}/{ids[local]}" for local, r in zip(ids, own, strict=True)
    }
    targets["#"] = container_key
    _rewrite(resource, targets)
    for item in own:
        if item["resourceType"] not in _NOT_CONTAINED:
            yield ids[f"#{item['id']}"], item


def contained_patients(resource: dict[str, Any]) -> list[str]:
    """Local ids of contained Patients, which are not read (see `_NOT_CONTAINED`)."""
    inner = resource.get("contained")
    if not isinstance(inner, list):
        return []
    return [
        str(r.get("id"))
        for r in inner
        if isinstance(r, dict) and r.get("resourceType") in _NOT_CONTAINED
    ]


def _digest(own: list[dict[str, Any]], container_key: str) -> str:
    data = json_bytes(own, "contained", sort_keys=True)
    hasher = hashlib.sha256(data)
    if b'"#"' in data:
        # A reference back to the container: the same block in another container differs.
        hasher.update(container_key.encode())
    return hasher.hexdigest()[:12]


def _rewrite(resource: dict[str, Any], targets: dict[str, str]) -> None:
    """Every `reference` naming a local id, anywhere in `resource`, names its key instead.

    Iterative, so that a deeply nested resource cannot exhaust the stack.
    """
    stack: list[Any] = [resource]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str) and ref in targets:
                node["reference"] = targets[ref]
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
