"""Bearer JWTs from an OAuth2 issuer (D-122): verified against the issuer's public keys
(a JWKS file, or its URL, fetched and cached by PyJWT), the configured `iss` and `aud`,
an expiry, and asymmetric algorithms only (never `none`, never a shared secret)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from adapter.errors import ConfigError, Forbidden, NotAuthenticated
from adapter.settings.service import JwtSettings
from adapter.store.registry import Role

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
LEEWAY_SECONDS = 30  # clock skew between the issuer and this machine


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    tenant_id: str
    role: Role
    subject: str  # `sub`: who, for the audit log (a person at the practice, never a patient)


class JwtVerifier:
    def __init__(self, settings: JwtSettings) -> None:
        self.settings = settings
        self._set: jwt.PyJWKSet | None = None
        self._client: jwt.PyJWKClient | None = None
        if settings.jwks_file is not None:
            try:
                self._set = jwt.PyJWKSet.from_json(settings.jwks_file.read_text("utf-8"))
            except (OSError, jwt.PyJWTError, ValueError) as exc:
                msg = f"SUBSTREG_JWKS_FILE: {settings.jwks_file} is not a readable JWKS ({exc})"
                raise ConfigError(msg) from None
        else:
            assert settings.jwks_url is not None
            self._client = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300)

    def identify(self, token: str) -> TokenIdentity:
        try:
            claims = jwt.decode(
                token,
                self._key(token),
                algorithms=ALGORITHMS,
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError:
            raise NotAuthenticated(_INVALID) from None
        return self._identity(claims)

    def _key(self, token: str) -> Any:
        try:
            if self._client is not None:
                return self._client.get_signing_key_from_jwt(token).key
            assert self._set is not None
            kid = jwt.get_unverified_header(token).get("kid")
            keys = [k for k in self._set.keys if kid is None or k.key_id == kid]
        except jwt.PyJWTError:
            raise NotAuthenticated(_INVALID) from None
        if len(keys) != 1:
            raise NotAuthenticated(_INVALID)
        return keys[0].key

    def _identity(self, claims: dict[str, Any]) -> TokenIdentity:
        tenant = claims.get(self.settings.tenant_claim)
        role = claims.get(self.settings.role_claim)
        if not isinstance(tenant, str) or not tenant:
            raise NotAuthenticated(f"the token names no tenant ({self.settings.tenant_claim})")
        if role not in {r.value for r in Role}:
            msg = f"the token names no role this service knows ({self.settings.role_claim})"
            raise Forbidden(msg)
        return TokenIdentity(tenant, Role(role), str(claims["sub"])[:64])


_INVALID = "the bearer token is not valid here (signature, issuer, audience or expiry)"
