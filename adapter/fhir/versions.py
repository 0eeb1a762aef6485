"""Several versions of one resource in the input: the latest wins (INPUT.md edge case 21).

Latest by `meta.versionId` (numbers compared as numbers), else `meta.lastUpdated`, else
input order — also when the latest is `entered-in-error` and so yields nothing: it then
removes what the earlier version said. A `history` Bundle lists versions newest first;
the source yields it oldest first, so input order means older before newer everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Version:
    version_id: str | None
    last_updated: datetime | None


def version_of(resource: dict[str, Any]) -> Version | None:
    """The version facts a resource carries, or None when it carries none."""
    meta = resource.get("meta")
    if not isinstance(meta, dict):
        return None
    version_id = meta.get("versionId")
    version_id = version_id.strip() if isinstance(version_id, str) and version_id.strip() else None
    last_updated = _instant(meta.get("lastUpdated"))
    if version_id is None and last_updated is None:
        return None
    return Version(version_id, last_updated)


def is_older(new: Version | None, old: Version | None) -> bool:
    """Whether `new`, read after `old`, is an earlier version of the resource.

    Only what both carry is compared; otherwise input order decides (`new` is not older).
    """
    if new is None or old is None:
        return False
    new_id, old_id = new.version_id, old.version_id
    if new_id is not None and old_id is not None and new_id != old_id:
        return _version_key(new_id) < _version_key(old_id)
    if new.last_updated is not None and old.last_updated is not None:
        return new.last_updated < old.last_updated
    return False


def _version_key(value: str) -> tuple[int, int, str]:
    """Numbers as numbers ("10" after "9"), anything else after them as text."""
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def _instant(value: object) -> datetime | None:
    """An instant with its offset; an unreadable or offset-less one compares by input order."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
