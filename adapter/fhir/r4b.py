"""The FHIR R4 models of fhir.resources (its R4B package): the one import site of it.

STYLE rule 3: the top-level models of fhir.resources are R5 and drop R4 fields silently,
so only the R4B models are used, and only from here. They serve `validate` (structure
and datatypes of each resource) and the XML reader (which elements repeat and which
are primitives of which type, the facts the FHIR XML-to-JSON rules need). Importing
this module loads fhir.resources; it is imported only when one of those is used, so
that `derive` on JSON starts without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.utils import (
    determine_version_prefix,
    get_fhir_type_name,
    is_list_type,
    is_primitive_type,
)

# How fhir.resources names the R4B types internally (its own XML loader does the same).
_PREFIX = determine_version_prefix(get_fhir_model_class.__module__)


@dataclass(frozen=True, slots=True)
class Element:
    """One element of a FHIR type: whether it repeats, and its type's name."""

    many: bool
    type: str  # "boolean", "decimal", "string" …, "xhtml", "Coding", "Resource" …
    primitive: bool


def model_class(kind: str) -> Any | None:
    """The R4B model of a resource or data type, or None when R4B has none."""
    try:
        return get_fhir_model_class(kind)
    except ValueError:
        return None


@cache
def elements(kind: str) -> Mapping[str, Element]:
    """The elements of a resource or data type by their JSON name (empty when unknown)."""
    model = model_class(kind)
    if model is None:
        return {}
    found = {}
    for field in model.model_fields.values():
        if not (field.json_schema_extra or {}).get("element_property"):
            continue  # the models' own fields: comments, `_x` primitive extensions
        found[field.alias] = Element(
            many=is_list_type(field),
            type=str(get_fhir_type_name(field, prefix=_PREFIX)),
            primitive=is_primitive_type(field),
        )
    return found
