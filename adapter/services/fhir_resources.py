"""The FHIR REST interactions on the pushed resources: create, update, delete, read, vread,
history, with versions, `If-Match` and conditional create (issue 13, D-127).

The HTTP edge (`adapter/api/fhir`) only parses and answers; what a version is, when a write
is refused and what a conditional create finds is decided here, so that the pull
connector and the Bundle processor (`fhir_bundle`) do the same. Each interaction works on
a `Workspace`, so that a transaction Bundle runs many in one unit of work; the functions
on a `Store` run one on its own.

Versions are ours: `meta.versionId` is 1, 2, … per resource, `meta.lastUpdated` the
store's clock, whatever the client sent; a created resource gets a random id (an update
may create one with the client's id, FHIR's update-as-create). A DELETE is a version
too: a read answers 410 Gone, and sync reads it as the resource being gone (INPUT.md
21, `adapter.fhir.items.Deleted`).

Errors are `FhirRequestError` with the HTTP status FHIR gives them and one issue per
problem (code, sentence, FHIRPath); messages name the type and never a value of the
resource (a logical id may be the EHR's patient id, PRIVACY.md T2).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from adapter.errors import FhirRequestError
from adapter.services.fhir_index import identifiers_of
from adapter.services.fhir_requests import (
    JsonObject,
    checked,
    expected_version,
    identifier_condition,
    require_id,
    require_type,
)
from adapter.store.audit import Actor
from adapter.store.resources import Kept, Located
from adapter.store.workspace import Store, Workspace


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a resource as a client sees it."""

    kind: str
    logical_id: str
    version: int
    last_updated: datetime
    deleted: bool
    resource: JsonObject  # meta set; a DELETE's is only its type and id
    method: str | None = None  # POST, PUT or DELETE; None: written before it was kept

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    @property
    def location(self) -> str:
        """Relative to the FHIR base: `Type/id/_history/n`."""
        return f"{self.kind}/{self.logical_id}/_history/{self.version}"


@dataclass(frozen=True, slots=True)
class Written:
    """What a write did: 201 created, 200 updated, or 200 found by a conditional create
    (`wrote` False: nothing was written)."""

    status: int
    version: Version
    wrote: bool = True


# -- interactions on a unit of work --------------------------------------------------------


def create_in(
    space: Workspace,
    kind: str,
    resource: JsonObject,
    *,
    condition: tuple[str, str] | None = None,
    logical_id: str | None = None,
) -> Written:
    """Create `resource` with a new id (or `logical_id`, which a transaction assigned); with
    a condition, the one current resource of that identifier is answered instead (200), and
    several are 412."""
    if condition is not None:
        existing = _matching(space, kind, condition)
        if existing is not None:
            return Written(200, _current(space, kind, existing), wrote=False)
    new_id = logical_id or str(uuid.uuid4())
    return Written(201, _write(space, kind, new_id, None, resource, method="POST"))


def update_in(
    space: Workspace,
    kind: str,
    logical_id: str,
    resource: JsonObject,
    *,
    if_match: int | None = None,
) -> Written:
    """The next version of `kind/logical_id`, created when it is new or deleted (201);
    `if_match`: only while that version is the current one (412 otherwise)."""
    if resource.get("id") != logical_id:
        msg = "the resource's id differs from the id in the URL"
        raise FhirRequestError(msg, issues=[("invalid", msg, f"{kind}.id")])
    previous = space.resources.locate(kind, logical_id)
    if if_match is not None and (previous is None or previous.version != if_match):
        now = "no version" if previous is None else f"version {previous.version}"
        msg = f"If-Match names version {if_match} of the {kind}, which has {now}"
        raise FhirRequestError(msg, status=412, issues=[("conflict", msg, None)])
    status = 201 if previous is None or previous.deleted else 200
    return Written(status, _write(space, kind, logical_id, previous, resource, method="PUT"))


def delete_in(space: Workspace, kind: str, logical_id: str) -> Version | None:
    """A DELETE: a version that says the resource is gone (None when it was gone before:
    nothing new); 404 for a resource never kept."""
    previous = _located(space, kind, logical_id)
    if previous.deleted:
        return None
    tombstone = {"resourceType": kind, "id": logical_id}
    return _write(space, kind, logical_id, previous, tombstone, method="DELETE", deleted=True)


def read_in(space: Workspace, kind: str, logical_id: str, version: int | None = None) -> Version:
    """The current version (or `version`): 404 when unknown, 410 when deleted."""
    located = _located(space, kind, logical_id)
    kept = space.resources.version(located, version or located.version)
    if kept is None:
        msg = f"the {kind} has no version {version}"
        raise FhirRequestError(msg, status=404, issues=[("not-found", msg, None)])
    if kept.deleted:
        msg = f"the {kind} was deleted (version {kept.version})"
        raise FhirRequestError(msg, status=410, issues=[("deleted", msg, None)])
    return _version(kind, kept)


def history_in(space: Workspace, kind: str, logical_id: str) -> list[Version]:
    """Every version, newest first (a DELETE too)."""
    located = _located(space, kind, logical_id)
    return [_version(kind, kept) for kept in space.resources.history(located)]


# -- one interaction, one unit of work -----------------------------------------------------


def create(
    store: Store, actor: Actor, kind: str, resource: JsonObject, *, if_none_exist: str | None
) -> Written:
    require_type(kind)
    condition = identifier_condition(if_none_exist) if if_none_exist is not None else None
    checked(resource, kind)
    return store.run_grouped(
        actor, lambda space: _audited(space, create_in(space, kind, resource, condition=condition))
    )


def update(
    store: Store,
    actor: Actor,
    kind: str,
    logical_id: str,
    resource: JsonObject,
    *,
    if_match: str | None,
) -> Written:
    require_type(kind)
    require_id(logical_id)
    expected = expected_version(if_match) if if_match is not None else None
    checked(resource, kind)
    return store.run_grouped(
        actor,
        lambda space: _audited(
            space, update_in(space, kind, logical_id, resource, if_match=expected)
        ),
    )


def delete(store: Store, actor: Actor, kind: str, logical_id: str) -> Version | None:
    require_type(kind)
    require_id(logical_id)

    def work(space: Workspace) -> Version | None:
        gone = delete_in(space, kind, logical_id)
        if gone is not None:
            record(space, {"deleted": 1})
        return gone

    return store.run_grouped(actor, work)


def read(store: Store, kind: str, logical_id: str, version: int | None = None) -> Version:
    require_type(kind)
    require_id(logical_id)
    return store.read(lambda space: read_in(space, kind, logical_id, version))


def history(store: Store, kind: str, logical_id: str) -> JsonObject:
    """The instance's `_history` as a FHIR `history` Bundle, newest first."""
    require_type(kind)
    require_id(logical_id)
    versions = store.read(lambda space: history_in(space, kind, logical_id))
    return {
        "resourceType": "Bundle",
        "type": "history",
        "total": len(versions),
        "entry": [
            _history_entry(v, created=v.version == 1 or (older is not None and older.deleted))
            for v, older in zip(versions, [*versions[1:], None], strict=True)
        ],
    }


def record(space: Workspace, counts: dict[str, int]) -> None:
    """One audit entry per unit of work that wrote: how many, never which (T2)."""
    space.audit.append(space.actor, "fhir.write", details=counts)


def _audited(space: Workspace, written: Written) -> Written:
    if written.wrote:
        record(space, {"created" if written.status == 201 else "updated": 1})
    return written


# -- helpers -------------------------------------------------------------------------------


def _located(space: Workspace, kind: str, logical_id: str) -> Located:
    located = space.resources.locate(kind, logical_id)
    if located is None:
        msg = f"no {kind} of this id is kept here"
        raise FhirRequestError(msg, status=404, issues=[("not-found", msg, None)])
    return located


def _matching(space: Workspace, kind: str, condition: tuple[str, str]) -> Located | None:
    found = [r for r in space.resources.identified(kind, *condition) if not r.deleted]
    if len(found) > 1:
        msg = f"the conditional create's identifier matches {len(found)} {kind} resources"
        raise FhirRequestError(msg, status=412, issues=[("multiple-matches", msg, None)])
    return found[0] if found else None


def matching_id(space: Workspace, kind: str, condition: tuple[str, str]) -> str | None:
    """The logical id of the one current resource with the identifier (412 for several)."""
    existing = _matching(space, kind, condition)
    return None if existing is None else _current(space, kind, existing).logical_id


def _current(space: Workspace, kind: str, located: Located) -> Version:
    kept = space.resources.version(located, located.version)
    assert kept is not None  # the current version is always kept
    return _version(kind, kept)


def _write(
    space: Workspace,
    kind: str,
    logical_id: str,
    previous: Located | None,
    resource: JsonObject,
    *,
    method: str,
    deleted: bool = False,
) -> Version:
    version = 1 if previous is None else previous.version + 1
    stamped = {**resource, "id": logical_id}
    if not deleted:
        meta = dict(resource.get("meta") or {})
        meta.update(versionId=str(version), lastUpdated=instant(space.now))
        stamped["meta"] = meta
    identifiers = [] if deleted else identifiers_of(resource)
    body = orjson.dumps(stamped)
    located = space.resources.write(
        kind, logical_id, previous, body, identifiers, method=method, deleted=deleted
    )
    return Version(
        kind, logical_id, located.version, located.last_updated, deleted, stamped, method
    )


def _version(kind: str, kept: Kept) -> Version:
    resource = orjson.loads(kept.body)
    return Version(
        kind, resource["id"], kept.version, kept.last_updated, kept.deleted, resource, kept.method
    )


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _history_entry(version: Version, *, created: bool) -> JsonObject:
    """One version as a history entry; `created`: nothing was there before it (its first
    version, or the first after a deletion), so it was answered 201 (FHIR http.html)."""
    entry: JsonObject = {
        "fullUrl": f"{version.kind}/{version.logical_id}",
        "request": _request(version),
        "response": {
            "status": "204" if version.deleted else "201" if created else "200",
            "etag": version.etag,
            "lastModified": instant(version.last_updated),
        },
    }
    if not version.deleted:
        entry["resource"] = version.resource
    return entry


def _request(version: Version) -> JsonObject:
    """How the version was written (D-238): a POST to the type, a PUT or DELETE to the
    instance. A version kept before the method was (revision 0012) is answered as then:
    DELETE for a deletion, else PUT, which FHIR allows for a create too."""
    method = version.method or ("DELETE" if version.deleted else "PUT")
    url = version.kind if method == "POST" else f"{version.kind}/{version.logical_id}"
    return {"method": method, "url": url}


def outcome(issues: list[tuple[str, str, str | None]], severity: str = "error") -> JsonObject:
    """A FHIR OperationOutcome of (IssueType code, sentence, FHIRPath or None) issues."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity,
                "code": code,
                "diagnostics": text,
                **({"expression": [path]} if path else {}),
            }
            for code, text, path in issues
        ],
    }
