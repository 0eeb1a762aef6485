"""`POST /fhir` of a `transaction` or `batch` Bundle (issue 13, D-128).

- A **batch** is many requests in one: each entry on its own unit of work, so an invalid
  or refused entry is answered in its `response` (with an OperationOutcome) and every
  other entry is kept all the same.
- An entry of a type sync does not read (a Condition, an Observation) is answered `200`
  with an informational outcome and not kept: the register needs no more health data
  than it derives from (D-129). `POST /fhir/Condition` itself is 404: that endpoint does
  not exist.
- A **transaction** is all or nothing: every entry is checked first, then all run in one
  unit of work in FHIR's order (DELETE, POST, PUT, GET); any refusal rolls everything
  back and the whole request is answered with the OperationOutcome, naming the entry.
  The `urn:uuid:` fullUrls of created resources become the ids assigned, and every
  reference to them in the Bundle is rewritten (a PUT's fullUrl too).

The answer is a `transaction-response` / `batch-response` Bundle, one entry per request
in the request's order, each with `response.status`, `location`, `etag`, `lastModified`
(and `outcome` for a refused batch entry).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any

from adapter.errors import FhirRequestError
from adapter.fhir.validate import is_resource_type
from adapter.services.fhir_requests import (
    SUPPORTED,
    JsonObject,
    checked,
    expected_version,
    identifier_condition,
    require_id,
    require_type,
)
from adapter.services.fhir_resources import (
    Version,
    Written,
    create_in,
    delete_in,
    instant,
    matching_id,
    outcome,
    read_in,
    record,
    update_in,
)
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}  # FHIR's transaction processing order


@dataclass(frozen=True, slots=True)
class Request:
    """One entry's request, checked."""

    index: int
    method: str
    kind: str
    logical_id: str | None = None
    version: int | None = None  # GET …/_history/n
    resource: JsonObject = field(default_factory=dict)
    condition: tuple[str, str] | None = None
    if_match: int | None = None
    full_url: str | None = None
    kept: bool = True  # False: of a type sync does not read, answered and not kept


def process(store: Store, actor: Actor, bundle: JsonObject) -> JsonObject:
    """The response Bundle of a transaction or batch Bundle (FhirRequestError for a
    Bundle that is neither, and for a transaction that fails as a whole)."""
    kind = bundle.get("type")
    if bundle.get("resourceType") != "Bundle" or kind not in ("transaction", "batch"):
        msg = "POST /fhir takes a Bundle of type transaction or batch"
        raise FhirRequestError(msg, issues=[("invalid", msg, "Bundle.type")])
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        msg = "Bundle.entry is not a list"
        raise FhirRequestError(msg, issues=[("structure", msg, "Bundle.entry")])
    parsed: list[Request | FhirRequestError] = []
    for index, entry in enumerate(entries):
        try:
            parsed.append(_request(index, entry))
        except FhirRequestError as exc:
            parsed.append(exc)
    if kind == "batch":
        answers = [_batch_entry(store, actor, request) for request in parsed]
    else:
        answers = _transaction(store, actor, parsed)
    return {"resourceType": "Bundle", "type": f"{kind}-response", "entry": answers}


# -- one entry's request -------------------------------------------------------------------


def _request(index: int, entry: Any) -> Request:
    where = f"Bundle.entry[{index}]"
    request = entry.get("request") if isinstance(entry, dict) else None
    method = request.get("method") if isinstance(request, dict) else None
    url = request.get("url") if isinstance(request, dict) else None
    if not isinstance(method, str) or not isinstance(url, str) or method not in _ORDER:
        msg = f"entry {index}: request.method (DELETE, POST, PUT or GET) and request.url needed"
        raise FhirRequestError(msg, issues=[("invalid", msg, f"{where}.request")])
    assert isinstance(request, dict) and isinstance(entry, dict)
    path, _, query = url.strip("/").partition("?")
    parts = path.split("/")
    if query or not _shape_fits(method, parts):
        msg = f"entry {index}: {method} {url!r} is not a request this endpoint answers"
        raise FhirRequestError(msg, issues=[("not-supported", msg, f"{where}.request.url")])
    kind = parts[0]
    if method != "GET" and kind not in SUPPORTED and is_resource_type(kind):
        return Request(index, method, kind, kept=False)
    require_type(kind)
    found = Request(index, method, kind, full_url=entry.get("fullUrl"))
    if len(parts) > 1:
        require_id(parts[1])
        found = replace(found, logical_id=parts[1])
    if len(parts) == 4:
        found = replace(found, version=_version_number(parts[3], index))
    if method in ("POST", "PUT"):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            msg = f"entry {index}: a {method} needs a resource"
            raise FhirRequestError(msg, issues=[("required", msg, f"{where}.resource")])
        found = replace(found, resource=checked(resource, kind, prefix=f"{where}.resource"))
    if method == "POST" and isinstance(request.get("ifNoneExist"), str):
        found = replace(found, condition=identifier_condition(request["ifNoneExist"]))
    if method == "PUT" and isinstance(request.get("ifMatch"), str):
        found = replace(found, if_match=expected_version(request["ifMatch"]))
    return found


def _shape_fits(method: str, parts: list[str]) -> bool:
    if method == "POST":
        return len(parts) == 1
    if method == "GET":
        return len(parts) == 2 or (len(parts) == 4 and parts[2] == "_history")
    return len(parts) == 2


def _version_number(text: str, index: int) -> int:
    if not text.isdigit() or len(text) > 9:
        msg = f"entry {index}: the version in the URL is not a version id"
        raise FhirRequestError(msg, issues=[("value", msg, None)])
    return int(text)


# -- batch ---------------------------------------------------------------------------------


def _batch_entry(store: Store, actor: Actor, request: Request | FhirRequestError) -> JsonObject:
    if isinstance(request, FhirRequestError):
        return _refused(request)
    try:
        if request.method == "GET":
            return store.read(lambda space: _do(space, request, Counter()))
        return store.run_grouped(actor, lambda space: _counted(space, [request]))[0]
    except FhirRequestError as exc:
        return _refused(exc)


def _refused(error: FhirRequestError) -> JsonObject:
    return {"response": {"status": _status(error.status), "outcome": outcome(error.issues)}}


def _counted(space: Workspace, requests: list[Request]) -> list[JsonObject]:
    counts: Counter[str] = Counter()
    answers = [_do(space, request, counts) for request in requests]
    if counts:
        record(space, dict(counts))
    return answers


# -- transaction ---------------------------------------------------------------------------


def _transaction(
    store: Store, actor: Actor, parsed: list[Request | FhirRequestError]
) -> list[JsonObject]:
    refused = [p for p in parsed if isinstance(p, FhirRequestError)]
    if refused:
        issues = [issue for error in refused for issue in error.issues]
        msg = f"the transaction was not done: {len(refused)} of its entries cannot be"
        raise FhirRequestError(msg, status=refused[0].status, issues=issues)
    requests = [p for p in parsed if isinstance(p, Request)]
    _refuse_overlaps(requests)

    def work(space: Workspace) -> list[JsonObject]:
        resolved = _resolve(space, requests)
        space.resources.prefetch([(r.kind, r.logical_id) for r in resolved if r.logical_id])
        counts: Counter[str] = Counter()
        answers: dict[int, JsonObject] = {}
        for request in sorted(resolved, key=lambda r: (_ORDER[r.method], r.index)):
            try:
                answers[request.index] = _do(space, request, counts)
            except FhirRequestError as exc:  # rolls the whole unit of work back
                place = f"entry {request.index}"
                issues = [(code, f"{place}: {text}", path) for code, text, path in exc.issues]
                msg = f"the transaction was not done: {place}: {exc}"
                raise FhirRequestError(msg, status=exc.status, issues=issues) from None
        if counts:
            record(space, dict(counts))
        return [answers[r.index] for r in requests]

    return store.run_grouped(actor, work)


def _refuse_overlaps(requests: list[Request]) -> None:
    """FHIR R4 (http.html#trules): a transaction whose DELETE, POST and PUT entries name one
    resource twice (by id, or by the same conditional-create query) SHALL fail: which
    version would it leave? (D-213)"""
    first: dict[tuple[object, ...], int] = {}
    for request in requests:
        if request.method == "GET" or not request.kept:
            continue
        if request.logical_id is not None:
            identity: tuple[object, ...] = (request.kind, request.logical_id)
            named = f"{request.kind}/{request.logical_id}"
        elif request.condition is not None:
            identity = (request.kind, "?", request.condition)
            named = f"the {request.kind} of one ifNoneExist"  # its value may be a KVNR
        else:
            continue
        if identity in first:
            msg = (
                f"the transaction was not done: entries {first[identity]} and {request.index} "
                f"both change {named}; a transaction names each resource once"
            )
            where = f"Bundle.entry[{request.index}].request"
            raise FhirRequestError(msg, issues=[("invalid", msg, where)])
        first[identity] = request.index


def _resolve(space: Workspace, requests: list[Request]) -> list[Request]:
    """The ids of created resources assigned (or found, for a conditional create), and
    every reference to a fullUrl of the Bundle rewritten to `Type/id`."""
    targets: dict[str, str] = {}
    assigned: list[Request] = []
    for given in requests:
        request = given
        if request.method == "POST" and request.kept:
            found = None
            if request.condition is not None:
                found = matching_id(space, request.kind, request.condition)
            request = replace(request, logical_id=found or str(uuid.uuid4()))
        if request.full_url and request.logical_id and request.method in ("POST", "PUT"):
            targets[request.full_url] = f"{request.kind}/{request.logical_id}"
        assigned.append(request)
    return [replace(r, resource=_rewritten(r.resource, targets)) for r in assigned]


def _rewritten(value: Any, targets: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: targets.get(v, v)
            if k == "reference" and isinstance(v, str)
            else _rewritten(v, targets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewritten(v, targets) for v in value]
    return value


# -- one request on a unit of work ---------------------------------------------------------


def _do(space: Workspace, request: Request, counts: Counter[str]) -> JsonObject:
    kind, logical_id = request.kind, request.logical_id
    if not request.kept:
        return _not_kept(kind)
    if request.method == "GET":
        assert logical_id is not None
        found = read_in(space, kind, logical_id, request.version)
        return {"resource": found.resource, "response": _response(200, found)}
    if request.method == "DELETE":
        assert logical_id is not None
        gone = delete_in(space, kind, logical_id)
        counts["deleted"] += gone is not None
        return {"response": {"status": _status(204)}}
    written: Written
    if request.method == "POST":
        written = create_in(
            space, kind, request.resource, condition=request.condition, logical_id=logical_id
        )
    else:
        assert logical_id is not None
        written = update_in(space, kind, logical_id, request.resource, if_match=request.if_match)
    if written.wrote:
        counts["created" if written.status == 201 else "updated"] += 1
    return {"response": _response(written.status, written.version)}


def _not_kept(kind: str) -> JsonObject:
    """An entry of a type sync does not read (a Condition, an Observation): not kept, as
    little health data as the register needs (D-129), and said so, not silently."""
    msg = (
        f"{kind} is not kept: the register's reports are not derived from it (the "
        "CapabilityStatement lists the types kept)"
    )
    notice = outcome([("informational", msg, None)], severity="information")
    return {"response": {"status": _status(200), "outcome": notice}}


def _response(status: int, version: Version) -> JsonObject:
    return {
        "status": _status(status),
        "location": version.location,
        "etag": version.etag,
        "lastModified": instant(version.last_updated),
    }


def _status(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"
