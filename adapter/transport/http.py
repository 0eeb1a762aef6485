"""The `http` transport: `POST {endpoint}/submissions` to the register (or its simulator),
as docs/SUBMISSION.md "The register's wire protocol" gives it.

TLS is verified (the system's trust store, or `ca_file`); plain `http://` is taken only
for the loopback (127.0.0.1, ::1, localhost), where the simulator runs, and refused for any
other host (D-105). Connect and read timeouts are set. What comes back:

    200                           Delivered(receipt=…): a receipt document whose signature
                                  verifies against the register's pinned certificate for
                                  this batch and envelope; any other 200 is transient (D-106)
    429 500 502 503 504           TransientTransportError(retry_after=Retry-After: seconds
                                  or an HTTP date)
    timeouts, refused or dropped  TransientTransportError
    400 409 422                   PermanentTransportError(reason): the register's reason
                                  from {"reason": …}, one line, at most 300 characters
    anything else                 TransientTransportError

Messages name the HTTP status and the kind of failure only: never a URL's query, a header,
a body other than the register's reason, or an exception's text.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
import orjson

from adapter.crypto.envelope import Certificate, load_certificate
from adapter.crypto.envelope.receipt import verify_receipt
from adapter.errors import (
    ConfigError,
    PermanentTransportError,
    ReceiptError,
    TransientTransportError,
)
from adapter.settings.submission import TransportSettings
from adapter.transport.base import Delivered, Parcel

__all__ = ["CONTENT_TYPE", "HttpTransport", "retry_after_seconds"]

CONTENT_TYPE = "application/pkcs7-mime; smime-type=authEnveloped-data"
PERMANENT = frozenset({400, 409, 422})
TRANSIENT = frozenset({429, 500, 502, 503, 504})
REASON_CHARS = 300
_LOOPBACK_NAMES = frozenset({"localhost"})
_SECONDS = re.compile(r"[0-9]{1,9}")


class HttpTransport:
    """Hands sealed batches to the register over HTTPS (HTTP on the loopback only)."""

    name = "http"

    def __init__(
        self,
        endpoint: str,
        register_certificate: Certificate,
        *,
        ca_file: Path | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.BaseTransport | None = None,  # tests: httpx.MockTransport
    ) -> None:
        self.url = _submissions_url(endpoint)
        self.register_certificate = register_certificate
        self.clock = clock
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError):
                msg = f"[submission.http] ca_file {ca_file}: cannot be read as PEM certificates"
                raise ConfigError(msg) from None
        self._client = httpx.Client(
            verify=verify,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def deliver(self, parcel: Parcel) -> Delivered:
        """POST the envelope under the batch id as idempotency key; see the module doc."""
        headers = {"Content-Type": CONTENT_TYPE, "Idempotency-Key": parcel.batch_id}
        try:
            response = self._client.post(self.url, content=parcel.envelope, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientTransportError(f"HTTP: {_timeout_kind(exc)} timed out") from None
        except httpx.ConnectError as exc:
            raise TransientTransportError(f"HTTP: {_connect_kind(exc)}") from None
        except httpx.TransportError:  # RemoteProtocolError, ReadError, WriteError …
            raise TransientTransportError("HTTP: the connection was dropped") from None
        return self._answer(response, parcel)

    def _answer(self, response: httpx.Response, parcel: Parcel) -> Delivered:
        status = response.status_code
        if status == 200:
            try:
                verify_receipt(
                    response.content,
                    self.register_certificate,
                    batch_id=parcel.batch_id,
                    envelope=parcel.envelope,
                )
            except ReceiptError:
                msg = "HTTP 200: the answer is not a receipt of the register for this envelope"
                raise TransientTransportError(msg) from None
            return Delivered(at=self.clock(), receipt=response.content, proof=self.url)
        if status in PERMANENT:
            raise PermanentTransportError(f"HTTP {status}: {_reason(response)}")
        retry_after = retry_after_seconds(response.headers.get("retry-after"), self.clock())
        kind = "the register is busy or failing" if status in TRANSIENT else "unexpected answer"
        raise TransientTransportError(f"HTTP {status}: {kind}", retry_after=retry_after)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now`: delta-seconds or an HTTP date; None when absent
    or unreadable (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):  # ASCII digits only: "¹" is a digit to str.isdigit
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def _submissions_url(endpoint: str) -> str:
    try:
        url = httpx.URL(endpoint)
    except httpx.InvalidURL:
        msg = "http transport endpoint: not a URL"
        raise ConfigError(msg) from None
    if url.scheme not in ("https", "http") or not url.host:
        msg = "http transport endpoint: an https:// URL of the register"
        raise ConfigError(msg)
    if url.scheme == "http" and not _loopback(url.host):
        msg = (
            f"http transport endpoint: plain http:// is allowed only to the loopback "
            f"(127.0.0.1, ::1, localhost), not to {url.host}; use https://"
        )
        raise ConfigError(msg)
    if url.query or url.fragment:
        msg = "http transport endpoint: a URL without query or fragment"
        raise ConfigError(msg)
    return str(url.copy_with(path=url.path.rstrip("/") + "/submissions"))


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reason(response: httpx.Response) -> str:
    """The register's reason, one line of printable characters, cut to REASON_CHARS."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        return "the register gave no reason"
    line = " ".join("".join(c if c.isprintable() else " " for c in reason).split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting"
    if isinstance(exc, httpx.ReadTimeout):
        return "waiting for the answer"
    if isinstance(exc, httpx.WriteTimeout):
        return "sending"
    return "waiting for a connection"


def _connect_kind(exc: httpx.ConnectError) -> str:
    cause: BaseException | None = exc
    for _ in range(10):  # the chain httpx builds is short; never follow a cycle
        if cause is None:
            break
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "the register's TLS certificate does not verify"
        if isinstance(cause, ssl.SSLError):
            return "the TLS handshake failed"
        cause = cause.__cause__ or cause.__context__
    return "the connection was refused or the host cannot be reached"


def from_settings(settings: TransportSettings) -> HttpTransport:
    """`[submission.http] endpoint = "https://…"`, optional `ca_file`, `timeout_seconds`,
    `connect_timeout_seconds`; the register's certificate is `[submission]`'s."""
    settings.only("endpoint", "ca_file", "timeout_seconds", "connect_timeout_seconds")
    try:
        pem = settings.register_certificate.read_bytes()
    except OSError as exc:
        msg = f"{settings.where}: the register certificate cannot be read ({exc.strerror})"
        raise ConfigError(msg) from None
    return HttpTransport(
        settings.text("endpoint"),
        load_certificate(pem, what=f"register certificate {settings.register_certificate}"),
        ca_file=settings.optional_path("ca_file"),
        timeout=settings.number("timeout_seconds", 30.0, minimum=1.0),
        connect_timeout=settings.number("connect_timeout_seconds", 5.0, minimum=0.5),
        clock=settings.clock,
    )
