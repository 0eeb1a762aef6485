"""Errors over HTTP as FHIR OperationOutcome (stand-in of the pull helper's branch: the
service-core helper owns this module, and the lead reconciles)."""

from __future__ import annotations

from fastapi.responses import JSONResponse

FHIR_JSON = "application/fhir+json"


def operation_outcome(status: int, issues: list[tuple[str, str, str | None]]) -> JSONResponse:
    """`issues`: (severity/code, diagnostics, expression path) each."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status >= 400 else "information",
                "code": code,
                "diagnostics": diagnostics,
                **({"expression": [path]} if path else {}),
            }
            for code, diagnostics, path in issues
        ],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)
