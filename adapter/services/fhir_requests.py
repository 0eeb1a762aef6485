"""What a FHIR REST request must be before any unit of work is opened: a type `/fhir`
keeps, a FHIR id, JSON that is a resource, valid by the R4B models (422 with the FHIRPath of
each issue), the one condition answered (`identifier=system|value`), a version ETag.
Each check raises `FhirRequestError` with FHIR's status; messages name the type, never a
value of the resource (D-127).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import orjson

from adapter.errors import FhirRequestError
from adapter.fhir.collect import READ_TYPES
from adapter.fhir.validate import resource_issues

JsonObject = dict[str, Any]
SUPPORTED = frozenset(READ_TYPES)  # the types sync reads: nothing else is accepted
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR's id datatype
_ETAG = re.compile(r'(?:W/)?"?(\d{1,9})"?')


def require_type(kind: str) -> None:
    """404 for a type this endpoint does not keep (the CapabilityStatement lists them)."""
    if kind not in SUPPORTED:
        msg = (
            f"resource type {kind!r} is not supported here: /fhir keeps only the types the "
            f"register's reports are derived from ({', '.join(sorted(SUPPORTED))})"
        )
        raise FhirRequestError(msg, status=404, issues=[("not-supported", msg, None)])


def require_id(logical_id: str) -> None:
    if not _ID.fullmatch(logical_id):
        msg = "the logical id is not a FHIR id (1 to 64 of A-Z, a-z, 0-9, '-', '.')"
        raise FhirRequestError(msg, issues=[("value", msg, None)])


def parse_json(body: bytes, where: str = "the request body") -> JsonObject:
    """The JSON object of a body; 400 when it is none (the parser's words, no content)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        msg = f"{where} is not JSON ({exc.args[0]})"
        raise FhirRequestError(msg, issues=[("structure", msg, None)]) from None
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        msg = f"{where} is not a FHIR resource (a JSON object with a resourceType)"
        raise FhirRequestError(msg, issues=[("structure", msg, None)])
    return value


def checked(resource: JsonObject, kind: str, *, prefix: str | None = None) -> JsonObject:
    """The resource, when it is of `kind` and the R4B models accept it; else 400 (another
    type) or 422 with each issue's FHIRPath (`prefix` replaces the type in it: a Bundle
    entry's `Bundle.entry[2].resource`)."""
    found = resource.get("resourceType")
    if found != kind:
        msg = f"the resource is a {found}, where the request names {kind}"
        raise FhirRequestError(msg, issues=[("invalid", msg, None)])
    issues = [i for i in resource_issues(resource) if i.severity == "error"]
    if issues:
        problems = [
            (i.code, _without_value(i.message), _path(i.element, kind, prefix)) for i in issues
        ]
        msg = f"the {kind} is not valid FHIR R4: {len(problems)} issue(s)"
        raise FhirRequestError(msg, status=422, issues=problems)
    return resource


def _path(element: str | None, kind: str, prefix: str | None) -> str | None:
    if element is None or prefix is None:
        return element
    return prefix + element.removeprefix(kind)


def _without_value(message: str) -> str:
    """The validator's message names the resource as `Type/id (…)`: the id may be the
    EHR's patient id, and an outcome may be logged; keep the type only."""
    head, sep, rest = message.partition(": ")
    return f"{head.split('/', 1)[0]}: {rest}" if sep else message


def identifier_condition(condition: str) -> tuple[str, str]:
    """(system, value) of `If-None-Exist: identifier=system|value`, the one search this
    endpoint answers (400 for anything else: a condition it would misread is no condition)."""
    params = parse_qs(condition, keep_blank_values=True)
    values = params.get("identifier", [])
    if set(params) != {"identifier"} or len(values) != 1 or "|" not in values[0]:
        msg = (
            "a conditional create is supported on the identifier only, as "
            "`identifier=system|value` with both parts"
        )
        raise FhirRequestError(msg, issues=[("not-supported", msg, None)])
    system, _, value = values[0].partition("|")
    if not system or not value:
        msg = "the conditional create's identifier needs a system and a value: system|value"
        raise FhirRequestError(msg, issues=[("invalid", msg, None)])
    return system, value


def expected_version(if_match: str) -> int:
    """The version of `If-Match: W/"n"` (also `"n"` and `n`)."""
    found = _ETAG.fullmatch(if_match.strip())
    if found is None:
        msg = 'If-Match is not a version ETag (W/"n")'
        raise FhirRequestError(msg, issues=[("invalid", msg, None)])
    return int(found.group(1))
