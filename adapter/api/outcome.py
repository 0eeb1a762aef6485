"""Errors over HTTP as FHIR OperationOutcome (`application/fhir+json`), from one helper,
and the exception handlers that use it: an error of the tree (adapter/errors.py) is its
one-line message and the status that fits it; anything else is a 500 that says nothing
of its cause (it is logged, without personal data, under the request's id)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapter.errors import (
    AccessError,
    DatabaseError,
    HandoverDayError,
    HandoverInvalid,
    HandoverUnknown,
    HandoverUntrusted,
    KeyringError,
    LedgerError,
    NoLocalPatient,
    NoticeError,
    OutboxError,
    RefusedError,
    RegistryError,
    SubstregError,
    SyncError,
    UnknownApiKeyError,
    UnknownBatchError,
    UnknownReportError,
    UsageError,
)

FHIR_JSON = "application/fhir+json"
log = logging.getLogger("substreg.api")


def operation_outcome(status: int, issues: list[tuple[str, str, str | None]]) -> JSONResponse:
    """An OperationOutcome: each issue is (severity/code, diagnostics, expression path).
    `severity/code` as "error/not-found"; a bare "error" means code "processing"."""
    rendered = []
    for kind, diagnostics, expression in issues:
        severity, _, code = kind.partition("/")
        issue: dict[str, Any] = {
            "severity": severity,
            "code": code or "processing",
            "diagnostics": diagnostics,
        }
        if expression:
            issue["expression"] = [expression]
        rendered.append(issue)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"resourceType": "OperationOutcome", "issue": rendered},
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers,
    )


class OutcomeIssue(BaseModel):
    severity: Literal["fatal", "error", "warning", "information"]
    code: str
    diagnostics: str
    expression: list[str] | None = None


class OperationOutcome(BaseModel):
    """The body of every error answer."""

    resourceType: Literal["OperationOutcome"]  # noqa: N815 (FHIR's name)
    issue: list[OutcomeIssue]


def _documented(description: str) -> dict[str, Any]:
    return {"model": OperationOutcome, "description": description}


# What every route may answer besides its success (the OpenAPI schema documents them).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: _documented("The request cannot be read (a parameter, the body)"),
    401: _documented("No credentials, or none that are valid"),
    403: _documented("The caller's role may not do this"),
    503: _documented("The tenant's database or keyring cannot be reached"),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _documented("There is no such row")}
CONFLICT: dict[int | str, dict[str, Any]] = {409: _documented("Its state does not allow it")}
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: _documented(
        "The body is not what the route takes (`expression` names the field), or a "
        "handover document was changed, is none, or its signer is not trusted, or its `on` "
        "day cannot be (after today, before the handover day, a return after day 30)"
    )
}


def status_of(exc: SubstregError) -> tuple[int, str]:
    """The HTTP status and the OperationOutcome code of an error of the tree."""
    table: list[tuple[type[SubstregError], int, str]] = [
        (AccessError, 0, ""),  # its own status
        (UnknownReportError, 404, "not-found"),
        (UnknownBatchError, 404, "not-found"),
        (UnknownApiKeyError, 404, "not-found"),
        (NoLocalPatient, 404, "not-found"),
        (NoticeError, 422, "invalid"),  # its field's path as the issue's expression
        (HandoverUnknown, 404, "not-found"),
        (HandoverInvalid, 422, "invalid"),
        (HandoverDayError, 422, "invalid"),  # an argument wrong in itself (D-204, D-244)
        (HandoverUntrusted, 422, "security"),  # 403 is the caller's role (D-193)
        (LedgerError, 409, "conflict"),
        (OutboxError, 409, "conflict"),
        (RegistryError, 409, "conflict"),
        (DatabaseError, 503, "transient"),
        (KeyringError, 503, "security"),
        (UsageError, 400, "invalid"),
        (RefusedError, 409, "business-rule"),
    ]
    for kind, status, code in table:
        if isinstance(exc, kind):
            if isinstance(exc, AccessError):
                return exc.status, "login" if exc.status == 401 else "forbidden"
            return status, code
    return 500, "exception"


def said(exc: SubstregError) -> str:
    """An error's one line for an HTTP caller: its service wording where it has one (a
    SyncError or a NoticeError names no command-line flag there), else its message."""
    service = exc.service if isinstance(exc, (SyncError, NoticeError)) else None
    return " ".join((service or str(exc)).split())


def install(app: FastAPI) -> None:
    """Every error answer of `app` as OperationOutcome."""

    async def substreg_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SubstregError)
        status, code = status_of(exc)
        if status >= 500:  # the message names a file or key at most, never personal data
            log.warning("refused (%s): %s", type(exc).__name__, said(exc))
        path = exc.field if isinstance(exc, NoticeError | HandoverDayError) else None
        return operation_outcome(status, [(f"error/{code}", said(exc), path)])

    async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return request_outcome(exc.errors())

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "not-found", 405: "not-supported", 406: "not-supported"}
        code = codes.get(exc.status_code, "processing")
        return operation_outcome(exc.status_code, [(f"error/{code}", str(exc.detail), None)])

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # The type only: a message may quote data (a driver's error, a value).
        log.error("unexpected error: %s", type(exc).__name__)
        return operation_outcome(500, [("fatal/exception", "internal error", None)])

    app.add_exception_handler(SubstregError, substreg_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
    _document_body_errors(app)


def request_outcome(errors: Sequence[Any]) -> JSONResponse:
    """FastAPI's validation errors as one OperationOutcome: 422 when the body is JSON but
    not what the route takes (each issue's expression the field's path in it, `body` for
    a missing body), else 400 (a parameter, or a body that is no JSON: the location)."""
    issues: list[tuple[str, str, str | None]] = [
        ("error/invalid", str(error.get("msg", "invalid")), _where(error.get("loc", ())))
        for error in errors
    ]
    if not issues:
        return operation_outcome(400, [("error/invalid", "invalid request", None)])
    return operation_outcome(422 if all(map(_in_body, errors)) else 400, issues)


def _in_body(error: Any) -> bool:
    location = tuple(error.get("loc", ()))
    return location[:1] == ("body",) and error.get("type") != "json_invalid"


def _where(location: Sequence[Any]) -> str:
    """`query.days`, `path.ledger_id`; in a body the field's path (`items[0].id`)."""
    if tuple(location[:1]) != ("body",) or len(location) == 1:
        return ".".join(str(part) for part in location)
    path = ""
    for part in location[1:]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path.removeprefix(".")


def _document_body_errors(app: FastAPI) -> None:
    """The OpenAPI schema as the handlers answer: FastAPI documents a 422 of its own
    shape on every route with a parameter; a route with a body answers an
    OperationOutcome then, one without never answers 422 (a parameter is a 400)."""
    made = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = made()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    answers = operation.get("responses", {})
                    if answers.get("422", {}).get("description") != "Validation Error":
                        continue
                    if "requestBody" in operation:
                        answers["422"] = dict(_BODY_ERROR)
                    else:
                        del answers["422"]
            for unused in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(unused, None)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


_BODY_ERROR: dict[str, Any] = {
    "description": "The body is not what the route takes (`expression` names the field)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}},
}
