"""How deeply a resource nests, and the limit that `validate`, `derive` and `sync` share
(D-41): a resource nested more than `MAX_DEPTH` levels (extensions within extensions) is
left out with one `error` finding, the same in all three, instead of being validated by
models that recurse, or read in part by readers that do not look so deep."""

from __future__ import annotations

from typing import Any

import orjson

MAX_DEPTH = 100  # JSON levels; real resources have a dozen, 50 nested extensions are 100


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


def too_deep(resource: dict[str, Any]) -> bool:
    """Whether the resource nests more than MAX_DEPTH levels. Cheap for the usual resource
    (derive reads hundreds of thousands): one that opens no more than MAX_DEPTH objects and
    lists cannot nest deeper, and orjson counts them in C; only the others are walked."""
    try:
        encoded = orjson.dumps(resource)
    except TypeError:  # beyond orjson's own limit (about 255 levels)
        return True
    if encoded.count(b"{") + encoded.count(b"[") <= MAX_DEPTH:
        return False
    return nesting_depth(resource, MAX_DEPTH) > MAX_DEPTH


def too_deep_message(name: str) -> str:
    return (
        f"{name}: nested more than {MAX_DEPTH} levels deep (extensions within extensions …): "
        "it cannot be validated or read; send it without the nesting."
    )
