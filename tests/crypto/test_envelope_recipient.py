"""The register's certificate is checked before anything is sealed to it (fail closed).

Covers adapter/crypto/envelope/recipient.py: the pin (SHA-256 fingerprint), the validity
period against a `now` passed in, keyEncipherment, RSA ≥ 3000 bits; each refusal with its
reason for the ledger and a sentence for a person.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography import x509

from adapter.crypto.envelope import (
    REASONS,
    certificate_fingerprint,
    check_recipient,
    normalise_fingerprint,
)
from adapter.errors import RecipientCertificateError
from tests.crypto.pki import NOW, Pki


def pinned(certificate: x509.Certificate) -> str:
    return certificate_fingerprint(certificate)


def refusal(certificate: x509.Certificate, *, now: datetime = NOW, pin: str | None = None) -> str:
    """The reason `check_recipient` refuses `certificate` with (pinned to itself unless
    another pin is given); fails when it is accepted."""
    with pytest.raises(RecipientCertificateError) as caught:
        check_recipient(certificate, now=now, pinned_sha256=pin or pinned(certificate))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("Register certificate refused: ")
    assert caught.value.exit_status == 2
    return caught.value.reason


def test_the_pinned_valid_certificate_is_accepted(pki: Pki) -> None:
    """Pinned, valid now, keyEncipherment, RSA 3072: a recipient with its key and pin."""
    recipient = check_recipient(pki.register.cert, now=NOW, pinned_sha256=pinned(pki.register.cert))
    assert recipient.certificate == pki.register.cert
    assert recipient.public_key.key_size == 3072
    assert recipient.fingerprint == pinned(pki.register.cert)


@pytest.mark.parametrize(
    "write",
    [str.upper, lambda h: ":".join(h[i : i + 2] for i in range(0, 64, 2)).upper()],
    ids=["upper-case", "openssl-colons"],
)
def test_the_pin_may_be_written_as_openssl_prints_it(pki: Pki, write: object) -> None:
    """`openssl x509 -fingerprint -sha256` writes colons and capitals: the same pin."""
    pin = write(pinned(pki.register.cert))  # type: ignore[operator]
    assert check_recipient(pki.register.cert, now=NOW, pinned_sha256=pin).fingerprint == (
        pinned(pki.register.cert)
    )


@pytest.mark.parametrize("pin", [None, "", "ab" * 31, "not a fingerprint"], ids=repr)
def test_without_a_usable_pin_nothing_is_sealed(pki: Pki, pin: str | None) -> None:
    """No pin in the configuration (or none that is a SHA-256 fingerprint): refused."""
    with pytest.raises(RecipientCertificateError, match="no SHA-256 fingerprint") as caught:
        check_recipient(pki.register.cert, now=NOW, pinned_sha256=pin)
    assert caught.value.reason == "no_pin"


def test_a_certificate_that_is_not_the_pinned_one_is_refused(pki: Pki) -> None:
    """Another valid RSA 3072 certificate with keyEncipherment, but not the pinned one."""
    reason = refusal(pki.other_register.cert, pin=pinned(pki.register.cert))
    assert reason == "unpinned"


@pytest.mark.parametrize(
    ("which", "reason"),
    [
        ("expired", "expired"),
        ("not_yet_valid", "not_yet_valid"),
        ("signing_only", "key_usage"),
        ("no_key_usage", "key_usage"),
    ],
)
def test_a_pinned_certificate_out_of_bounds_is_refused(pki: Pki, which: str, reason: str) -> None:
    """Pinned, but expired, not yet valid, or without keyEncipherment: refused by reason."""
    assert refusal(pki.extra[which]) == reason


def test_the_validity_period_is_checked_against_the_time_passed_in(pki: Pki) -> None:
    """A certificate valid until NOW is good at NOW and refused one second later."""
    certificate = pki.extra["last_second"]
    check_recipient(certificate, now=NOW, pinned_sha256=pinned(certificate))
    assert refusal(certificate, now=NOW + timedelta(seconds=1)) == "expired"
    expired = pki.extra["expired"]
    check_recipient(expired, now=NOW - timedelta(days=2), pinned_sha256=pinned(expired))


@pytest.mark.parametrize(
    ("which", "reason", "words"),
    [("small", "key_size", "2048 bits"), ("ec_register", "key_type", "no RSA key")],
)
def test_a_key_unfit_for_oaep_is_refused(pki: Pki, which: str, reason: str, words: str) -> None:
    """RSA under 3000 bits, or no RSA key at all: refused, the message says which."""
    certificate = getattr(pki, which).cert
    with pytest.raises(RecipientCertificateError, match=words) as caught:
        check_recipient(certificate, now=NOW, pinned_sha256=pinned(certificate))
    assert caught.value.reason == reason


def test_a_naive_now_is_a_programming_error(pki: Pki) -> None:
    """`now` must say its time zone: the check never guesses one."""
    with pytest.raises(ValueError, match="aware"):
        check_recipient(
            pki.register.cert, now=NOW.replace(tzinfo=None), pinned_sha256=pinned(pki.register.cert)
        )


def test_every_reason_is_listed() -> None:
    """The reasons the outbox may record are the ones REASONS names."""
    assert REASONS == (
        "no_pin", "unpinned", "not_yet_valid", "expired", "key_usage", "key_type", "key_size",
    )  # fmt: skip
    assert normalise_fingerprint("AB:" * 31 + "AB") == "ab" * 32
    assert normalise_fingerprint("ab" * 33) is None
