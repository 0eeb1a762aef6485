"""How the http transport reads each answer, on httpx's MockTransport: statuses, the
register's reason, Retry-After, and the endpoints it refuses to talk to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.errors import ConfigError, PermanentTransportError, TransientTransportError
from adapter.transport.base import Parcel
from adapter.transport.http import CONTENT_TYPE, REASON_CHARS, HttpTransport, retry_after_seconds
from tests.registersim.helpers import batch, register_certificate, report

NOW = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
PARCEL = Parcel("b-1", b"0\x82 envelope", batch("b-1", report("anmeldung", "HAMÜF284", NOW.date())))


def answering(state: Path, handler: Callable[[httpx.Request], httpx.Response]) -> HttpTransport:
    return HttpTransport(
        "https://register.example/api/",
        register_certificate(state),
        clock=lambda: NOW,
        transport=httpx.MockTransport(handler),
    )


def test_the_request_is_the_protocol_s(state: Path) -> None:
    """POST {endpoint}/submissions, the envelope's bytes, its type and the batch id as key."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    with answering(state, handler) as http, pytest.raises(TransientTransportError):
        http.deliver(PARCEL)
    [request] = seen
    assert (request.method, str(request.url)) == (
        "POST",
        "https://register.example/api/submissions",
    )
    assert request.headers["content-type"] == CONTENT_TYPE
    assert request.headers["idempotency-key"] == "b-1"
    assert request.content == PARCEL.envelope


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 301, 404, 418, 507])
def test_busy_failing_and_unexpected_answers_are_transient(state: Path, status: int) -> None:
    """Retried with the same bytes; the message names the status only."""
    answer = httpx.Response(status, json={"reason": "HAMÜF284 secret"})
    with answering(state, lambda _: answer) as http, pytest.raises(TransientTransportError) as e:
        http.deliver(PARCEL)
    assert str(e.value).startswith(f"HTTP {status}: ")
    assert "HAMÜF284" not in str(e.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"reason": "Not a valid batch: reports must be a list"}',
         "Not a valid batch: reports must be a list"),
        (b'{"reason": "line one\\nline\\ttwo\\u0000"}', "line one line two"),
        (b"<html>Bad Request</html>", "the register gave no reason"),
        (b'{"reason": 42}', "the register gave no reason"),
        (b'{"detail": "x"}', "the register gave no reason"),
    ],
    ids=["reason", "one printable line", "not JSON", "not text", "no reason"],
)  # fmt: skip
@pytest.mark.parametrize("status", [400, 409, 422])
def test_a_refusal_is_permanent_with_the_register_s_reason(
    state: Path, status: int, body: bytes, reason: str
) -> None:
    """400, 409, 422: the reason as the register gave it, behind the status."""
    answer = httpx.Response(status, content=body)
    with answering(state, lambda _: answer) as http, pytest.raises(PermanentTransportError) as e:
        http.deliver(PARCEL)
    assert e.value.reason == f"HTTP {status}: {reason}"


def test_a_long_reason_is_cut(state: Path) -> None:
    """At most REASON_CHARS characters of the register's words are kept."""
    answer = httpx.Response(422, json={"reason": "x" * 5000})
    with answering(state, lambda _: answer) as http, pytest.raises(PermanentTransportError) as e:
        http.deliver(PARCEL)
    assert len(e.value.reason) == len("HTTP 422: ") + REASON_CHARS
    assert e.value.reason.endswith("…")


@pytest.mark.parametrize(
    "body", [b"", b"not json", b'{"receipt": {}, "signature": "", "certificate_sha256": ""}']
)
def test_a_200_that_is_not_a_receipt_of_the_register_is_transient(state: Path, body: bytes) -> None:
    """Asked for again under the same key (D-106): never handed on as proof."""
    answer = httpx.Response(200, content=body)
    with (
        answering(state, lambda _: answer) as http,
        pytest.raises(TransientTransportError, match="not a receipt of the register"),
    ):
        http.deliver(PARCEL)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("Thu, 15 Jan 2026 10:01:30 GMT", 90.0),
        ("Thu, 15 Jan 2026 09:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
    ids=["seconds", "zero", "date", "date passed", "words", "negative", "absent"],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    state: Path, header: str | None, seconds: float | None
) -> None:
    """RFC 9110: delta-seconds or an HTTP date, counted from the transport's clock."""
    headers = {"Retry-After": header} if header is not None else {}
    answer = httpx.Response(429, headers=headers)
    with answering(state, lambda _: answer) as http, pytest.raises(TransientTransportError) as e:
        http.deliver(PARCEL)
    assert e.value.retry_after == seconds


@given(st.text(max_size=40))
def test_retry_after_never_fails_on_any_header(header: str) -> None:
    """Whatever the other side writes: seconds ≥ 0 or None, never an exception."""
    seconds = retry_after_seconds(header, NOW)
    assert seconds is None or seconds >= 0


@pytest.mark.parametrize(
    "endpoint",
    ["http://register.example", "http://10.0.0.5:8765", "http://127.0.0.1.example.org"],
)
def test_plain_http_is_refused_beyond_the_loopback(state: Path, endpoint: str) -> None:
    """Only the simulator on this machine is spoken to without TLS (D-105)."""
    with pytest.raises(ConfigError, match="plain http:// is allowed only to the loopback"):
        HttpTransport(endpoint, register_certificate(state))


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/submissions"),
        ("http://localhost:8765/", "http://localhost:8765/submissions"),
        ("http://[::1]:8765", "http://[::1]:8765/submissions"),
        ("https://register.example/v1", "https://register.example/v1/submissions"),
    ],
)
def test_https_anywhere_and_http_on_the_loopback_are_taken(
    state: Path, endpoint: str, url: str
) -> None:
    """The submissions URL is the endpoint's path plus /submissions."""
    with HttpTransport(endpoint, register_certificate(state)) as http:
        assert http.url == url


@pytest.mark.parametrize(
    "endpoint", ["ftp://register.example", "register.example", "https://r.example/?a=1"]
)
def test_an_endpoint_that_is_no_https_url_is_refused(state: Path, endpoint: str) -> None:
    """A configuration error, said before anything is sent."""
    with pytest.raises(ConfigError, match="http transport endpoint"):
        HttpTransport(endpoint, register_certificate(state))


def test_an_unreadable_ca_file_is_refused(state: Path, tmp_path: Path) -> None:
    """The CA file is read when the transport is made."""
    (tmp_path / "ca.pem").write_text("not a certificate", encoding="utf-8")
    with pytest.raises(ConfigError, match="ca_file"):
        HttpTransport("https://r.example", register_certificate(state), ca_file=tmp_path / "ca.pem")
