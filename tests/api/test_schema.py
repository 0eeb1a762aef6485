"""schemathesis against the service's OpenAPI schema (issue 13): for generated requests
to every documented route — with the staff, doctor and admin keys of tenant alpha — no
5xx, and every answer is one the schema documents, in the documented shape.

The example count is kept small: the suite stays fast, and each route's parameters are
few and typed. The service is built once, when the module is collected (schemathesis
reads the schema then)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from adapter.store.registry import Role
from tests.api.service import make_service
from tests.submission.pki import make_submission_pki
from tests.submission.setup import sealing_for

_FOLDER = tempfile.TemporaryDirectory(prefix="substreg-schema-")
SERVICE = make_service(sealing_for(make_submission_pki(), Path(_FOLDER.name)))
schema = schemathesis.openapi.from_asgi("/openapi.json", SERVICE.app)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_requests_get_documented_answers(case: schemathesis.Case) -> None:
    for role in Role:  # each role: the allowed answer, or the documented 403
        case.call_and_validate(headers=SERVICE.auth("alpha", role), checks=CHECKS)
