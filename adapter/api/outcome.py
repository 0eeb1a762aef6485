"""Errors over HTTP as FHIR OperationOutcome (stand-in: the service-core helper owns this
module, and the lead reconciles; this is its `operation_outcome`, as merged into main)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

FHIR_JSON = "application/fhir+json"


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
