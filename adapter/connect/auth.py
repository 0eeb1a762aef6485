"""How the pull connector authorises itself at the EHR's FHIR server.

- `StaticToken`: a bearer token read from a file (a secret mounted for the service);
  read when first used and again after the server refused it (a rotated file).
- `BackendServices`: SMART Backend Services (https://hl7.org/fhir/smart-app-launch/
  backend-services.html): the client-credentials grant with a JWT assertion signed with
  the client's private key (RS384 or ES384, PyJWT), `iss` = `sub` = client id, `aud` = the
  token URL, a fresh `jti`, five minutes to live. The access token is kept until shortly
  before `expires_in` runs out, and dropped when the server refuses it.

Neither ever puts a token or a key into an error message.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import httpx
import jwt

from adapter.errors import SourceAuthError
from adapter.settings.pull import SmartClient

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ASSERTION_SECONDS = 300  # the most the SMART specification allows
_EARLY_SECONDS = 30.0  # a token is renewed this long before it runs out
_DEFAULT_TOKEN_SECONDS = 300.0  # when the token response gives no expires_in


class Authorisation(Protocol):
    def header(self, http: httpx.Client) -> str:
        """The Authorization header's value for the next request."""
        ...

    def refused(self) -> None:
        """The server answered 401: forget what was held, so the next header is new."""
        ...

    def refusal(self) -> str:
        """What a second 401 says after "was refused (401) ": whose token, what to do."""
        ...


class StaticToken:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._token: str | None = None

    def header(self, http: httpx.Client) -> str:
        if self._token is None:
            try:
                token = self.path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                msg = f"{self.path}: the bearer token file cannot be read ({_reason(exc)})"
                raise SourceAuthError(msg) from None
            if not token or any(c.isspace() for c in token):
                msg = f"{self.path}: the bearer token file must hold one token on one line"
                raise SourceAuthError(msg)
            self._token = token
        return f"Bearer {self._token}"

    def refused(self) -> None:
        self._token = None

    def refusal(self) -> str:
        return (
            f"with the static bearer token of {self.path} (read again): put a valid token "
            "for this server in that file, or name another with --token-file or [pull] "
            "token_file"
        )


class BackendServices:
    def __init__(self, client: SmartClient, *, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self._clock = clock
        self._token: str | None = None
        self._until = 0.0

    def header(self, http: httpx.Client) -> str:
        if self._token is None or self._clock() >= self._until:
            self._token, lifetime = self._request(http)
            self._until = self._clock() + max(lifetime - _EARLY_SECONDS, lifetime / 2)
        return f"Bearer {self._token}"

    def refused(self) -> None:
        self._token = None

    def refusal(self) -> str:
        return "with a fresh token: check the client's authorisation"

    def assertion(self) -> str:
        """The signed JWT that authenticates the client at the token endpoint."""
        now = int(self._clock())
        claims = {
            "iss": self.client.client_id,
            "sub": self.client.client_id,
            "aud": self.client.token_url,
            "exp": now + _ASSERTION_SECONDS,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self.client.key_id} if self.client.key_id else None
        try:
            key = self.client.private_key.read_bytes()
        except OSError as exc:
            msg = f"{self.client.private_key}: the client's key cannot be read ({_reason(exc)})"
            raise SourceAuthError(msg) from None
        try:
            return jwt.encode(claims, key, algorithm=self.client.algorithm, headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            msg = (
                f"{self.client.private_key}: no {self.client.algorithm} signing key "
                f"({type(exc).__name__}); RS384 needs an RSA key, ES384 a P-384 key, in PEM"
            )
            raise SourceAuthError(msg) from None

    def _request(self, http: httpx.Client) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "scope": self.client.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        where = f"the token endpoint {self.client.token_url}"
        try:
            answer = http.post(self.client.token_url, data=form)
        except httpx.HTTPError as exc:
            msg = f"{where} cannot be reached ({type(exc).__name__})"
            raise SourceAuthError(msg) from None
        if answer.status_code != 200:
            error = _oauth_error(answer)
            client = self.client.client_id
            msg = f"{where} refused the client {client!r}: HTTP {answer.status_code}{error}"
            raise SourceAuthError(msg)
        try:
            body = answer.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in", _DEFAULT_TOKEN_SECONDS))
        except (ValueError, KeyError, TypeError):
            msg = f"{where} answered without an access_token"
            raise SourceAuthError(msg) from None
        if not isinstance(token, str) or not token:
            msg = f"{where} answered without an access_token"
            raise SourceAuthError(msg)
        return token, lifetime


def _oauth_error(answer: httpx.Response) -> str:
    """The OAuth error code of a refusal (`invalid_client`), never its free text."""
    try:
        code = answer.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return f" ({code})" if isinstance(code, str) and code.isascii() and len(code) < 64 else ""


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__
