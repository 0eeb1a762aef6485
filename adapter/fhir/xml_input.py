"""FHIR XML, read into the FHIR JSON that the rest of the adapter reads (INPUT.md 23).

lxml parses (hardened: no DTD loading, no entity expansion, no network access); the
mapping is the one the FHIR specification fixes between its XML and JSON forms
(https://hl7.org/fhir/R4/xml.html, json.html):

- an element becomes a property of the same name, a list when the element repeats in
  its definition (whether it occurs once or several times);
- a primitive's `value` attribute is its value: boolean and number types become JSON
  booleans and numbers (a number read as orjson reads it in JSON), everything else a
  string, exactly as written; its `id` attribute and `extension` children go to the
  `_name` property, aligned with `null` in lists;
- the `id` attribute of an element, and an extension's `url`, become properties;
- a resource inside `contained`, `entry.resource` or `parameter.resource` is its one
  child element, named by its type; the XHTML `div` of a narrative stays XHTML text.

Which elements repeat and which are primitives of which type come from the R4B models of
fhir.resources (r4b.py). fhir.resources' own XML loader (`model_validate_xml`) was not
used: it validates while it reads, so one resource with an id the models reject
(`mr_1`) makes the whole file unreadable, where the JSON path reads it; it drops the `id`
of repeating primitives; and it writes instants and date-times back in another form
(`Z` becomes `+00:00`). Here XML gives the same dicts as the same resource in JSON, and
`validate` checks both alike. An element the models do not know is kept as FHIR JSON
would carry it (a list when it repeats): `derive` ignores it as it ignores an unknown
JSON property, and `validate` reports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from lxml import etree

from adapter.errors import InputError
from adapter.fhir.r4b import Element, elements

FHIR_NAMESPACE = "http://hl7.org/fhir"
_NUMBERS = frozenset({"integer", "unsignedInt", "positiveInt", "integer64", "decimal"})
_BOOLEANS = {"true": True, "false": False}
# The attributes of a complex element that are JSON properties: `id`, an extension's
# `url`, and a `value` sent by mistake (kept, so that `validate` names it, not dropped).
_COMPLEX_ATTRIBUTES = ("id", "url", "value")

Json = dict[str, Any]


def load_xml(path: Path) -> Json:
    """The resource (Bundles and Parameters included) a FHIR XML file holds, as FHIR JSON.

    Raises `InputError` when the file cannot be read, is not well-formed XML, or its root
    element is not in the FHIR namespace.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror})"
        raise InputError(msg) from None
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        msg = f"{path}: not well-formed XML ({exc.msg})"
        raise InputError(msg) from None
    if not root.tag.startswith(f"{{{FHIR_NAMESPACE}}}"):
        msg = (
            f"{path}: not FHIR XML (the root element <{_name(root.tag)}> is not in the FHIR "
            f"namespace {FHIR_NAMESPACE})"
        )
        raise InputError(msg)
    return _resource(root)


def _name(tag: str) -> str:
    """'{namespace}name' → 'name'."""
    return tag.rpartition("}")[2]


def _resource(node: Any) -> Json:
    kind = _name(node.tag)
    return {"resourceType": kind, **_complex(node, kind)}


def _complex(
    node: Any, kind: str | None, attributes: tuple[str, ...] = _COMPLEX_ATTRIBUTES
) -> Json:
    """An element of a complex type (or a resource's content), by the type's definition."""
    known = elements(kind) if kind else {}
    out: Json = {}
    if node.attrib:
        for attribute in attributes:
            value = node.get(attribute)
            if value is not None:
                out[attribute] = value
    groups: dict[str, list[Any]] = {}
    for child in node.iterchildren(etree.Element):  # elements only: no text, no entities
        groups.setdefault(_name(child.tag), []).append(child)
    for name, children in groups.items():
        _put(out, name, children, known.get(name))
    return out


def _put(out: Json, name: str, children: list[Any], element: Element | None) -> None:
    pairs = [_value(child, element) for child in children]
    # A non-repeating element given twice stays a list: the JSON readers then say it
    # is not the single value they expect, rather than one of the two being dropped.
    if len(pairs) > 1 or (element is not None and element.many):
        values = [value for value, _ in pairs]
        extras = [extra for _, extra in pairs]
        if any(value is not None for value in values):
            out[name] = values
        if any(extra is not None for extra in extras):
            out[f"_{name}"] = extras
        return
    [(value, extra)] = pairs
    if value is not None:
        out[name] = value
    if extra is not None:
        out[f"_{name}"] = extra


def _value(node: Any, element: Element | None) -> tuple[Any, Json | None]:
    """The JSON value of one element, and its `_name` part (primitives only)."""
    if element is None:  # not in the models: a primitive if it has a value, else complex
        if node.get("value") is None:
            return _complex(node, None), None
        return _primitive(node, "string")
    if element.type == "Resource":
        inner = next(node.iterchildren(etree.Element), None)
        return ({} if inner is None else _resource(inner)), None
    if element.type == "xhtml":
        return etree.tostring(node, encoding="unicode", with_tail=False), None
    if element.primitive:
        return _primitive(node, element.type)
    return _complex(node, element.type), None


def _primitive(node: Any, kind: str) -> tuple[Any, Json | None]:
    raw = node.get("value")
    value = None if raw is None else _typed(raw, kind)
    if len(node) == 0 and node.get("id") is None:
        return value, None  # the common case: a bare value
    extra = _complex(node, "Element", ("id",))  # its id attribute and extensions
    return value, (extra or None)


def _typed(raw: str, kind: str) -> Any:
    """A primitive's value in JSON; a value that does not fit its type stays a string,
    for the readers and `validate` to report as JSON's would be."""
    if kind == "boolean":
        return _BOOLEANS.get(raw, raw)
    if kind in _NUMBERS:
        try:
            number = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return number
    return raw
