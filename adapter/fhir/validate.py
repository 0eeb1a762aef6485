"""`substreg validate`: each resource against the R4B models of fhir.resources.

What that checks, and what not: the structure and datatypes of each resource as the
FHIR R4 (4.3, R4B) models define them — known elements only, cardinality (lists,
required elements), choice types, primitive formats (dates, ids, codes, numbers). Not
profiles (KBV, ISiK, ours), invariants (FHIRPath constraints), terminology bindings or
references. R4B differs from R4 4.0.1 in a few resources the adapter does not read.

The bulk path (`derive`) reads only the fields it needs with strict readers of its own
(values.py), because full models are several times slower than parsing the JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adapter.domain.codes import birth_date_problem
from adapter.domain.model import Finding, Severity
from adapter.fhir.collect import Collector
from adapter.fhir.depth import MAX_DEPTH, nesting_depth, too_deep_message
from adapter.fhir.r4b import model_class
from adapter.fhir.source import Deleted, Entry, Note, Unreadable, read_paths
from adapter.fhir.values import FAR_FUTURE
from adapter.mappings import Mappings, load_mappings

_FHIR_SEVERITY = {"error": "error", "warning": "warning", "info": "information"}
LAST_DAY = FAR_FUTURE - timedelta(days=1)  # without a today: the last day D-40 reads
CHECKS = (
    "structure and datatypes against the FHIR R4B models of fhir.resources (elements, "
    "cardinality, choice types, primitive formats); not profiles, invariants, "
    "terminology or references"
)


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Severity
    code: str  # FHIR IssueType: structure, required, value, not-supported, informational
    where: str  # file, line or entry
    resource: str | None  # "Type/id"
    element: str | None  # FHIRPath of the element: "MedicationRequest.category[0].coding"
    message: str
    rule: str = "INPUT"

    def finding(self) -> Finding:
        return Finding(self.severity, self.rule, self.message, (self.resource or self.where,))


@dataclass(frozen=True, slots=True)
class Validation:
    resources: int  # how many were checked
    issues: list[Issue]


def validate_paths(paths: list[Path]) -> Iterator[Finding]:
    """One error finding per problem of a resource, naming resource, place and field.

    Raises `adapter.errors.InputError` when the input cannot be used at all.
    """
    for issue in check(paths).issues:
        yield issue.finding()


def check(
    paths: list[Path], mappings: Mappings | None = None, *, today: date | None = None
) -> Validation:
    """Every issue of the input, and how many resources were checked: what the R4B models
    say, and what the adapter's own readers find in each resource (D-2, D-40: a date they
    cannot use, a far-future end they read as open; D-83: a birth date before 1900 or after
    `today`, the last day a report can be made), so that `validate` and `derive` agree.

    Raises `adapter.errors.InputError` when the input cannot be used at all.
    """
    readers = mappings or load_mappings()
    resources, found = 0, list[Issue]()
    for item in read_paths(paths):
        if isinstance(item, Deleted):
            continue  # a DELETE names a resource; there is nothing to check
        if not isinstance(item, Entry):
            found.append(_input_issue(item))
            continue
        resources += 1
        if nesting_depth(item.resource, MAX_DEPTH) > MAX_DEPTH:
            found.append(_too_deep(item))
            continue
        model_issues = list(_validate(item))
        found.extend(model_issues)
        # What the readers add: a resource the models accept but derive cannot use (a date
        # before 1900), or reads with a note (an open end); an invalid one is named once.
        if not any(i.severity == "error" for i in model_issues):
            found.extend(_read(item, readers))
            found.extend(_birth_date(item, today or LAST_DAY))
    return Validation(resources, found)


def _name(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource.get('id', '?')}"


def _too_deep(entry: Entry) -> Issue:
    name = _name(entry.resource)
    return Issue("error", "structure", entry.where, name, None, too_deep_message(name))


def _read(entry: Entry, mappings: Mappings) -> Iterator[Issue]:
    """What the adapter's lean readers find in the resource (derive and sync read it so)."""
    collector = Collector(mappings)
    collector.add(entry)
    name = _name(entry.resource)
    for finding in collector.result.findings:
        if finding.rule == "INPUT":
            code = "value" if finding.severity == "error" else "informational"
            yield Issue(finding.severity, code, entry.where, name, None, finding.message)


def _birth_date(entry: Entry, today: date) -> Iterator[Issue]:
    """A Patient's birth date that `derive` cannot make a code of (R-CODE-4, D-83)."""
    resource = entry.resource
    born = resource.get("birthDate")
    if resource.get("resourceType") != "Patient" or not isinstance(born, str):
        return
    problem = birth_date_problem(born, today)
    if problem is not None:
        name = _name(resource)
        message = (
            f"{name}: Patient.birthDate cannot be used: {problem}; record the full birth date "
            "as on the ID document. No patient code can be made, and the patient's reports "
            "are withheld until then (R-CODE-4, D-83)."
        )
        yield Issue("error", "value", entry.where, name, "Patient.birthDate", message, "R-CODE-4")


def _input_issue(item: Unreadable | Note) -> Issue:
    if isinstance(item, Unreadable):
        return Issue("error", "structure", item.where, None, None, f"{item.where}: {item.problem}")
    return Issue(item.severity, "informational", item.where, None, None, item.message)


def _validate(entry: Entry) -> Iterator[Issue]:
    resource = entry.resource
    kind = resource["resourceType"]
    name = f"{kind}/{resource.get('id', '?')}"
    place = f"{name} ({entry.where})" if entry.where else name
    model = model_class(kind)
    if model is None:
        message = f"{place}: '{kind}' is not a FHIR R4 resource type"
        yield Issue("error", "not-supported", entry.where, name, None, message)
        return
    try:
        model.model_validate(resource)
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps it from happening
        yield _too_deep(entry)
    except ValidationError as exc:
        for error in exc.errors():
            path = _fhirpath(kind, error["loc"])
            field = path.partition(".")[2] or "(resource)"
            message = f"{place}: {field}: {error['msg']}"
            code = _code(error["type"], error["loc"])
            yield Issue("error", code, entry.where, name, path, message)


def _fhirpath(kind: str, loc: tuple[int | str, ...]) -> str:
    path = kind
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _code(error_type: str, loc: tuple[int | str, ...]) -> str:
    if "missing" in error_type:
        return "required"
    if error_type == "extra_forbidden" or not loc:
        return "structure"  # an unknown element, or a rule across elements (choice types)
    return "value"


def operation_outcome(validation: Validation) -> dict[str, Any]:
    """The issues as one FHIR OperationOutcome; without any, one `information` issue."""
    found = validation.issues
    if not found:
        summary = f"{validation.resources} resources checked, no issues: {CHECKS}."
        return {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational", "diagnostics": summary}],
        }
    return {"resourceType": "OperationOutcome", "issue": [_outcome_issue(i) for i in found]}


def _outcome_issue(issue: Issue) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "severity": _FHIR_SEVERITY[issue.severity],
        "code": issue.code,
        "diagnostics": issue.message,
        "location": [issue.where, *([issue.resource] if issue.resource else [])],
    }
    if issue.element:
        entry["expression"] = [issue.element]
    return entry


def resource_issues(resource: dict[str, Any], where: str = "") -> list[Issue]:
    """What the R4B models find in one resource (a nesting too deep included), named as
    `validate` names them: for a resource pushed to `/fhir` before it is kept."""
    entry = Entry(resource, None, where)
    if nesting_depth(resource, MAX_DEPTH) > MAX_DEPTH:
        return [_too_deep(entry)]
    return list(_validate(entry))


def is_resource_type(kind: str) -> bool:
    """Whether `kind` is a FHIR R4 (R4B) resource type."""
    return kind.isalpha() and model_class(kind) is not None
