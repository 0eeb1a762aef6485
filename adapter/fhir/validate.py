"""Full FHIR R4 validation with fhir.resources' R4B models (the `validate` path).

The bulk path (`derive`) reads only the fields it needs with strict readers of its own
(values.py), because full models are several times slower than parsing the JSON. This
module is the one import site of fhir.resources (STYLE rule 3: R4-family models only;
the top-level models are R5 and drop R4 fields silently).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from adapter.domain.model import Finding
from adapter.fhir.source import Entry, Unreadable, read_paths


def validate_paths(paths: list[Path]) -> Iterator[Finding]:
    """One error finding per resource that is not valid FHIR R4, naming resource and field.

    Raises `adapter.fhir.source.InputError` when the input cannot be used at all.
    """
    for item in read_paths(paths):
        if isinstance(item, Unreadable):
            yield Finding("error", "INPUT", f"{item.where}: {item.problem}", (item.where,))
            continue
        yield from _validate(item)


def _validate(entry: Entry) -> Iterator[Finding]:
    resource = entry.resource
    kind = resource["resourceType"]
    where = f"{kind}/{resource.get('id', '?')}"
    try:
        model = get_fhir_model_class(kind)
    except ValueError:
        yield Finding(
            "error", "INPUT", f"{where}: '{kind}' is not a FHIR R4 resource type", (where,)
        )
        return
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "(resource)"
            message = f"{where}: {field}: {error['msg']}"
            yield Finding("error", "INPUT", message, (where,))
