"""asn1crypto values: one guard for malformed input, CMS attributes, values kept encoded.

asn1crypto parses lazily, so malformed DER may raise on any access, with one of several
built-in exceptions. `malformed_unless` turns each into MalformedEnvelopeError naming the
part being read (never its content: after decryption that is personal data).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from asn1crypto import parser
from cryptography.exceptions import UnsupportedAlgorithm

from adapter.errors import MalformedEnvelopeError

__all__ = ["attribute", "constant", "der_framed", "encoded", "malformed_unless"]

# What asn1crypto (and cryptography, for a certificate it cannot read) raise on bytes
# that are not the structure asked for.
_MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    AttributeError,  # asn1crypto, for a tag it reads as a type without a value (ObjectDescriptor)
    UnsupportedAlgorithm,
)


@contextmanager
def malformed_unless(what: str) -> Iterator[None]:
    """Run the block; malformed input in it becomes MalformedEnvelopeError about `what`."""
    try:
        yield
    except _MALFORMED:
        msg = (
            f"{what} is not well-formed CMS as this program reads it: its bytes are damaged, "
            "cut off, or not a CMS structure."
        )
        raise MalformedEnvelopeError(msg) from None


def attribute(attributes: Any, name: str) -> Any | None:
    """The one value of the attribute `name` in a CMSAttributes; None when it is absent.

    ValueError (malformed, under the guard) when it occurs twice or has several values."""
    found = [a for a in attributes if a["type"].native == name]
    if not found:
        return None
    if len(found) > 1 or len(found[0]["values"]) != 1:
        msg = f"the attribute {name} occurs twice or has several values"
        raise ValueError(msg)
    return found[0]["values"][0]


def encoded(value: Any) -> Any:
    """`value` as a new value of its type made from its encoded contents, which asn1crypto
    reads back lazily. asn1crypto encodes a value built from Python parts anew each time its
    contents are asked for (a parent asks several times, at every level it is placed in), so
    a large payload would be copied dozens of times; this encodes it once. Same DER."""
    return type(value)(contents=value.contents)


def der_framed(data: bytes) -> bool:
    """Whether `data` is one value whose every header, down through each constructed value,
    is the one DER allows: a definite length in the fewest bytes. asn1crypto reads BER as
    well (a length written long, an indefinite length), which would let a changed byte
    through unnoticed where the value read stays the same. ValueError when not even BER."""
    pending = [data]
    while pending:
        value = pending.pop()
        class_, method, tag, _, contents, trailer = parser.parse(value, strict=True)
        if trailer or parser.emit(class_, method, tag, contents) != value:
            return False
        offset = 0
        while method == 1 and offset < len(contents):  # constructed: its values in a row
            child = parser.parse(contents[offset:])
            size = len(child[3]) + len(child[4]) + len(child[5])
            pending.append(contents[offset : offset + size])
            offset += size
    return True


def constant(kind: Any, value: Any) -> Any:
    """`kind(value)` (an OID by name, a version …), built once and read back from its DER
    each time: building maps names and encodes anew, on every envelope."""
    return kind.load(_constant_der(kind, value))


@cache
def _constant_der(kind: Any, value: Any) -> bytes:
    der: bytes = kind(value).dump()
    return der
