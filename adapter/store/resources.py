"""The resources pushed to `/fhir`: every version sealed, found by blind indexes.

A logical id may be the EHR's own (a PUT that creates), and a business identifier may be a
patient's insurance number: neither is kept in clear. A resource is found by the blind
index of `Type/id`, and by those of its identifiers (`Type|system|value`) for a conditional
create; each resource has its own data key, which seals every version's JSON, id included,
bound to the resource and the version (a ciphertext moved to another row fails to open).
The store keeps bytes and version numbers; what they mean (FHIR versioning, conditional
create, Bundles) is `adapter.services.fhir_resources`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from adapter.errors import ConcurrentUpdateError
from adapter.store.keys import KeyStore
from adapter.store.rows import ResourceRows, Row

_OWNER = "fhir"  # data_key.owner of a pushed resource's key


@dataclass(frozen=True, slots=True)
class Located:
    """A logical resource as its row says: ours id, current version, whether deleted."""

    resource_id: str
    resource_type: str
    version: int
    deleted: bool
    last_updated: datetime
    dek_id: str


@dataclass(frozen=True, slots=True)
class Kept:
    """One version as kept (a DELETE's body names the resource only: type and id)."""

    resource_id: str
    version: int
    last_updated: datetime
    deleted: bool
    body: bytes
    method: str | None = None  # POST, PUT or DELETE; None: written before it was kept (D-238)


class PushedResources:
    def __init__(self, rows: ResourceRows, keys: KeyStore, now: datetime) -> None:
        self.rows = rows
        self.keys = keys
        self.now = now
        # (type, id) -> the resource as this transaction knows it (None: not kept), filled
        # by `prefetch` and kept up to date by `write`: a Bundle looks up once, not per entry.
        self._known: dict[tuple[str, str], Located | None] = {}

    # -- finding ---------------------------------------------------------------------------

    def locate(self, kind: str, logical_id: str) -> Located | None:
        """The resource `kind/logical_id`, looked up under every usable index key."""
        if (kind, logical_id) in self._known:
            return self._known[(kind, logical_id)]
        found = self.rows.find(self.keys.blind(_id_text(kind, logical_id)))
        return _located(found[0]) if found else None

    def prefetch(self, names: list[tuple[str, str]]) -> None:
        """Look up many (type, id) with one query, for the `locate`s that follow."""
        wanted = [n for n in dict.fromkeys(names) if n not in self._known]
        pairs = {pair: name for name in wanted for pair in self.keys.blind(_id_text(*name))}
        found = {(r["idx_ver"], r["id_idx"]): _located(r) for r in self.rows.find(list(pairs))}
        for name in wanted:
            self._known[name] = None
        for pair, located in found.items():
            self._known[pairs[pair]] = located

    def identified(self, kind: str, system: str, value: str) -> list[Located]:
        """The resources of `kind` whose current version has the identifier."""
        ids = self.rows.identified(self.keys.blind(_identifier_text(kind, system, value)))
        rows = [self.rows.get(resource_id) for resource_id in ids]
        return [_located(row) for row in rows if row is not None]

    def version(self, located: Located, version: int) -> Kept | None:
        row = self.rows.version(located.resource_id, version)
        return self._opened(located, row) if row is not None else None

    def history(self, located: Located) -> list[Kept]:
        """Every version, newest first."""
        return [self._opened(located, row) for row in self.rows.versions(located.resource_id)]

    # -- writing ---------------------------------------------------------------------------

    def write(
        self,
        kind: str,
        logical_id: str,
        previous: Located | None,
        body: bytes,
        identifiers: list[tuple[str, str]],
        *,
        method: str,
        deleted: bool = False,
    ) -> Located:
        """Keep the next version of `kind/logical_id` (version 1 without `previous`), written
        by `method` (POST, PUT, DELETE); `deleted`: a DELETE, whose body is what still
        names the resource (its type and id, for sync's `Deleted`). ConcurrentUpdateError
        when another write made that version first (the unit of work runs again)."""
        version = 1 if previous is None else previous.version + 1
        index_version, id_idx = self.keys.active_blind(_id_text(kind, logical_id))
        if previous is None:
            located = Located(
                str(uuid.uuid4()),
                kind,
                version,
                deleted,
                self.now,
                self.keys.create_data_key(_OWNER),
            )
            self.rows.add(
                {
                    "resource_id": located.resource_id,
                    "resource_type": kind,
                    "id_idx": id_idx,
                    "idx_ver": index_version,
                    "dek_id": located.dek_id,
                    "version": version,
                    "deleted": deleted,
                    "last_updated": self.now,
                }
            )
        else:
            located = Located(
                previous.resource_id, kind, version, deleted, self.now, previous.dek_id
            )
            values = {"version": version, "deleted": deleted, "last_updated": self.now}
            values |= {"id_idx": id_idx, "idx_ver": index_version}  # under the active key
            if not self.rows.advance(previous.resource_id, previous.version, values):
                raise ConcurrentUpdateError("another write made a version of this resource")
        sealed = self.keys.seal(located.dek_id, _row_id(located), _field(version), body)
        self.rows.add_version(
            {
                "resource_id": located.resource_id,
                "version": version,
                "last_updated": self.now,
                "deleted": deleted,
                "nonce": sealed.nonce,
                "ct": sealed.ct,
                "ingested_at": None,
                "method": method,
            }
        )
        pairs = [
            self.keys.active_blind(_identifier_text(kind, system, value))
            for system, value in identifiers
        ]
        if previous is not None or pairs:  # a new resource has no identifier rows to clear
            self.rows.set_identifiers(located.resource_id, pairs)
        if (kind, logical_id) in self._known:
            self._known[(kind, logical_id)] = located
        return located

    # -- index-key rotation ------------------------------------------------------------------

    def indexed_under_old_keys(self) -> list[Located]:
        """The resources with an index row under another than the active index key."""
        version, _ = self.keys.active_index()
        rows = self.rows.indexed_under_other_versions(version)
        self.keys.preload([row["dek_id"] for row in rows])  # their current versions are read
        return [_located(row) for row in rows]

    def reindex(
        self, located: Located, logical_id: str, identifiers: list[tuple[str, str]]
    ) -> None:
        """Index the resource (its `Type/id` and its current identifiers) under the active
        index key only; the version stays (nothing is written but the indexes)."""
        index_version, id_idx = self.keys.active_blind(_id_text(located.resource_type, logical_id))
        values = {"id_idx": id_idx, "idx_ver": index_version}
        if not self.rows.advance(located.resource_id, located.version, values):
            raise ConcurrentUpdateError("another write made a version of this resource")
        kind = located.resource_type
        pairs = [
            self.keys.active_blind(_identifier_text(kind, system, value))
            for system, value in identifiers
        ]
        self.rows.set_identifiers(located.resource_id, pairs)
        self._known.clear()

    def rows_indexed_under(self, version: int) -> int:
        """How many index rows (ids and identifiers) use the index version (`keys status`,
        and an old index key is retired only when none does)."""
        return self.rows.count_indexed_under(version)

    # -- ingestion -------------------------------------------------------------------------

    def pending(self, limit: int) -> list[tuple[str, Kept]]:
        """Up to `limit` resources with a version sync has not read: (type, current version)."""
        rows = self.rows.pending(limit)
        self.keys.preload([row["dek_id"] for row in rows])
        found = []
        for row in rows:
            located = Located(
                row["resource_id"],
                row["resource_type"],
                row["version"],
                row["deleted"],
                row["last_updated"],
                row["dek_id"],
            )
            found.append((row["resource_type"], self._opened(located, row)))
        return found

    def mark_ingested(self, marks: list[tuple[str, int]]) -> None:
        """Sync has read these versions (and every one before them)."""
        self.rows.mark_ingested(marks, self.now)

    def count_pending(self) -> int:
        return self.rows.count_pending()

    def set_owners(self, owners: dict[str, str | None]) -> None:
        """Whose each resource is (a mapping id, None: the practice's), as sync filed it."""
        self.rows.set_owners(owners)

    def forget_owned(self, mapping_id: str) -> int:
        """Retention (D-131): the resources of a shredded patient are forgotten, their data
        keys destroyed (a backup keeps ciphertext nobody can open) and their rows deleted
        (an EHR that pushes them again starts afresh); how many there were."""
        owned = self.rows.owned_by(mapping_id)
        for row in owned:
            self.keys.destroy_data_key(row["dek_id"])
        self.rows.forget([row["resource_id"] for row in owned])
        self._known.clear()
        return len(owned)

    def _opened(self, located: Located, row: Row) -> Kept:
        body = self.keys.open(
            located.dek_id, _row_id(located), _field(row["version"]), row["nonce"], row["ct"]
        )
        return Kept(
            located.resource_id,
            row["version"],
            row["last_updated"],
            row["deleted"],
            body,
            row["method"],
        )


def _located(row: Row) -> Located:
    return Located(
        row["resource_id"],
        row["resource_type"],
        row["version"],
        row["deleted"],
        row["last_updated"],
        row["dek_id"],
    )


def _id_text(kind: str, logical_id: str) -> str:
    return f"fhir-resource|{kind}/{logical_id}"


def _identifier_text(kind: str, system: str, value: str) -> str:
    return f"fhir-identifier|{kind}|{system}|{value}"


def _row_id(located: Located) -> str:
    return f"fhir/{located.resource_id}"


def _field(version: int) -> str:
    return f"version/{version}"
