"""`/fhir`: the FHIR REST endpoint an EHR pushes to (issue 13, D-127 … D-129).

Thin on purpose: each route checks the content type, reads the body, calls one use case
of `adapter.services.fhir_resources` / `fhir_bundle` on the caller's own store and
answers `application/fhir+json`, with `ETag`, `Location` and `Last-Modified` where FHIR
has them; a `FhirRequestError` becomes its OperationOutcome. After a write the tenant's
ingestion is told (`adapter.api.ingestion`): the sync runs once the tenant is quiet.

Mount it with its prefix: `app.include_router(fhir_router(current_caller), prefix="/fhir")`
(URLs in answers are made from where it is mounted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC
from email.utils import format_datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapter.api.fhir.capabilities import FHIR_JSON, capability_statement
from adapter.api.ingestion import Ingestion
from adapter.api.outcome import operation_outcome
from adapter.api.tenancy import Caller
from adapter.errors import ConcurrentUpdateError, FhirRequestError
from adapter.services import fhir_bundle, fhir_resources
from adapter.services.fhir_requests import JsonObject, parse_json
from adapter.services.fhir_resources import Version

METADATA = "fhir_metadata"  # the route's name: where the router is mounted is read from it
_ACCEPTED = frozenset({FHIR_JSON, "application/json"})
_FHIR_OBJECT = {FHIR_JSON: {"schema": {"type": "object"}}}
_FORMATS = frozenset({"json", FHIR_JSON, "application/json"})  # what we answer in


class FhirResponse(Response):
    """An answer of `/fhir`: FHIR JSON (so the OpenAPI schema documents it as such)."""

    media_type = FHIR_JSON


def _answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """What a route may answer besides 200, for the OpenAPI schema: FHIR JSON each (a
    resource, a Bundle, or the OperationOutcome of an error)."""
    said = {
        200: "FHIR JSON: the resource, a Bundle or the CapabilityStatement",
        201: "Created",
        204: "Done, no body",
        400: "The request cannot be read",
        401: "No credentials, or none that are valid",
        403: "The caller's role may not do this",
        404: "No such resource, type, or version",
        409: "Parallel writes won every retry: try again",
        410: "The resource was deleted",
        412: "If-Match names another version, or a conditional create matches several",
        406: "Only FHIR JSON is answered: Accept or _format asks for another format",
        415: "The body is not FHIR JSON",
        422: "The resource is not valid FHIR R4: an issue with the path of each problem",
        503: "The tenant's database or keyring cannot be reached",
    }
    found: dict[int | str, dict[str, Any]] = {}
    first = () if 204 in statuses else (200,)
    for status in (*first, 400, 401, 403, 406, 503, *statuses):
        found[status] = {"description": said[status]}
        if status != 204:
            found[status]["content"] = _FHIR_OBJECT
    return found


_WRITE = (201, 404, 409, 412, 415, 422)
_BODY = {  # for the OpenAPI schema: the body is read raw, as FHIR JSON
    "requestBody": {
        "required": True,
        "content": {FHIR_JSON: {"schema": {"type": "object"}}},
    }
}


def fhir_router(caller: Callable[..., Caller], *, ingestion: Ingestion | None = None) -> APIRouter:
    """The `/fhir` routes for the callers `caller` resolves; `ingestion`: told of every
    tenant that wrote (None: nothing is synced by itself, as in tests of the endpoint)."""
    router = APIRouter(
        tags=["FHIR"], default_response_class=FhirResponse, dependencies=[Depends(_json_asked)]
    )
    who = Depends(caller)

    def wrote(tenant: Caller) -> None:
        if ingestion is not None:
            ingestion.pushed(tenant)

    @router.get(
        "/metadata",
        name=METADATA,
        summary="The CapabilityStatement: what this endpoint does",
        responses=_answers(),
    )
    async def metadata(request: Request, tenant: Caller = who) -> Response:
        return _fhir(capability_statement(_base(request), tenant.store.clock()))

    @router.post(
        "",
        summary="A transaction or batch Bundle",
        openapi_extra=_BODY,
        responses=_answers(404, 409, 410, 412, 415, 422),
    )
    async def bundle(request: Request, tenant: Caller = who) -> Response:
        async def answer() -> Response:
            body = parse_json(await _body(request))
            result = await run_in_threadpool(fhir_bundle.process, tenant.store, tenant.actor, body)
            wrote(tenant)
            return _fhir(result)

        return await _answered(answer)

    @router.post(
        "/{kind}",
        summary="Create (conditional: If-None-Exist)",
        openapi_extra=_BODY,
        responses=_answers(*_WRITE),
    )
    async def create(request: Request, kind: str, tenant: Caller = who) -> Response:
        async def answer() -> Response:
            body = parse_json(await _body(request))
            written = await run_in_threadpool(
                lambda: fhir_resources.create(
                    tenant.store,
                    tenant.actor,
                    kind,
                    body,
                    if_none_exist=request.headers.get("if-none-exist"),
                )
            )
            if written.wrote:
                wrote(tenant)
            return _version(request, written.version, written.status)

        return await _answered(answer)

    @router.put(
        "/{kind}/{logical_id}",
        summary="Update (If-Match)",
        openapi_extra=_BODY,
        responses=_answers(*_WRITE),
    )
    async def update(
        request: Request, kind: str, logical_id: str, tenant: Caller = who
    ) -> Response:
        async def answer() -> Response:
            body = parse_json(await _body(request))
            written = await run_in_threadpool(
                lambda: fhir_resources.update(
                    tenant.store,
                    tenant.actor,
                    kind,
                    logical_id,
                    body,
                    if_match=request.headers.get("if-match"),
                )
            )
            wrote(tenant)
            return _version(request, written.version, written.status)

        return await _answered(answer)

    @router.delete(
        "/{kind}/{logical_id}",
        summary="Delete: a version saying it is gone",
        status_code=204,
        responses=_answers(204, 404, 409),
    )
    async def delete(kind: str, logical_id: str, tenant: Caller = who) -> Response:
        async def answer() -> Response:
            gone = await run_in_threadpool(
                fhir_resources.delete, tenant.store, tenant.actor, kind, logical_id
            )
            if gone is None:
                return Response(status_code=204)
            wrote(tenant)
            return Response(status_code=204, headers={"ETag": gone.etag})

        return await _answered(answer)

    @router.get(
        "/{kind}/{logical_id}", summary="Read the current version", responses=_answers(404, 410)
    )
    async def read(request: Request, kind: str, logical_id: str, tenant: Caller = who) -> Response:
        async def answer() -> Response:
            found = await run_in_threadpool(fhir_resources.read, tenant.store, kind, logical_id)
            return _version(request, found, 200, location=False)

        return await _answered(answer)

    @router.get(
        "/{kind}/{logical_id}/_history",
        summary="Every version, newest first",
        responses=_answers(404),
    )
    async def history(kind: str, logical_id: str, tenant: Caller = who) -> Response:
        async def answer() -> Response:
            return _fhir(
                await run_in_threadpool(fhir_resources.history, tenant.store, kind, logical_id)
            )

        return await _answered(answer)

    @router.get(
        "/{kind}/{logical_id}/_history/{vid}",
        summary="Read one version (vread)",
        responses=_answers(404, 410),
    )
    async def vread(
        request: Request, kind: str, logical_id: str, vid: str, tenant: Caller = who
    ) -> Response:
        async def answer() -> Response:
            if not vid.isdigit() or len(vid) > 9:
                msg = "the version in the URL is not a version id"
                raise FhirRequestError(msg, status=404, issues=[("not-found", msg, None)])
            found = await run_in_threadpool(
                fhir_resources.read, tenant.store, kind, logical_id, int(vid)
            )
            return _version(request, found, 200, location=False)

        return await _answered(answer)

    return router


async def _answered(answer: Callable[[], Awaitable[Response]]) -> Response:
    """The answer, or the OperationOutcome of a request that cannot be done; other errors
    (a keyring missing, a database down) are the app's to answer."""
    try:
        return await answer()
    except FhirRequestError as exc:
        issues = [(f"error/{code}", text, path) for code, text, path in exc.issues]
        return operation_outcome(exc.status, issues)
    except ConcurrentUpdateError as exc:  # other writes won every retry: try again later
        return operation_outcome(409, [("error/conflict", str(exc), None)])


def _json_asked(request: Request) -> None:
    """406 when the caller asks for a format other than FHIR JSON: `_format` (it overrides
    Accept, FHIR http.html#mime-type) or an Accept header that takes no JSON."""
    asked = request.query_params.get("_format")
    if asked is not None:
        ok = asked.split(";")[0].strip().lower() in _FORMATS
    else:
        ok = any(_takes_json(part) for part in request.headers.get("accept", "*/*").split(","))
    if not ok:
        msg = f"only {FHIR_JSON} is answered here: ask for it (Accept, _format=json)"
        raise StarletteHTTPException(406, detail=msg)


def _takes_json(accepted: str) -> bool:
    """One entry of an Accept header takes FHIR JSON (`*/*`, `application/*`, …; q=0 not)."""
    media, *parameters = (part.strip().lower() for part in accepted.split(";"))
    refused = any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in parameters)
    return not refused and media in {"", "*/*", "application/*", *_FORMATS}


async def _body(request: Request) -> bytes:
    """The body of a FHIR JSON request; 415 for another content type."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _ACCEPTED:
        msg = f"the body must be {FHIR_JSON} (or application/json), not {media or 'untyped'}"
        raise FhirRequestError(msg, status=415, issues=[("not-supported", msg, None)])
    return await request.body()


def _base(request: Request) -> str:
    """The FHIR base URL, wherever the router is mounted."""
    return str(request.url_for(METADATA)).removesuffix("/metadata")


def _fhir(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers=headers, media_type=FHIR_JSON)


def _version(request: Request, version: Version, status: int, *, location: bool = True) -> Response:
    headers = {
        "ETag": version.etag,
        "Last-Modified": format_datetime(version.last_updated.astimezone(UTC), usegmt=True),
    }
    if location:
        headers["Location"] = f"{_base(request)}/{version.location}"
    resource: JsonObject = version.resource
    return _fhir(resource, status, headers)
