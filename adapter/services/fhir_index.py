"""The blind indexes of pushed resources under a new index key (D-146), apart from
`fhir_resources` so that `keys rotate` loads no FHIR models (tests/test_cli_startup.py)."""

from __future__ import annotations

from typing import Any

import orjson

from adapter.store.workspace import Workspace

JsonObject = dict[str, Any]


def identifiers_of(resource: JsonObject) -> list[tuple[str, str]]:
    """(system, value) of each business identifier with both (one or a list: Composition
    has one, most types a list): what a conditional create finds a resource by."""
    found = resource.get("identifier")
    listed = found if isinstance(found, list) else [found]
    return sorted(
        {
            (i["system"], i["value"])
            for i in listed
            if isinstance(i, dict)
            and isinstance(i.get("system"), str)
            and isinstance(i.get("value"), str)
        }
    )


def migrate_index_in(space: Workspace) -> int:
    """An index-key rotation: every pushed resource with an index row under an old key is
    indexed again under the active one, from its current version (the logical id and the
    identifiers are only in the sealed body: they are read, never kept in clear), so that
    a read, an update or a conditional create still finds it once the old key is retired.
    How many were."""
    stale = space.resources.indexed_under_old_keys()
    for located in stale:
        kept = space.resources.version(located, located.version)
        assert kept is not None  # the current version is always kept
        resource = orjson.loads(kept.body)
        identifiers = [] if kept.deleted else identifiers_of(resource)  # as a write keeps them
        space.resources.reindex(located, resource["id"], identifiers)
    return len(stale)
