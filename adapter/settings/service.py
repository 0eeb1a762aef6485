"""The service's settings (`substreg serve`, `substreg tenant …`), read from the environment
once, at start (D-120, D-124):

    SUBSTREG_HOME                   the service's home: the registry (SQLite), and each
                                    tenant's home under tenants/<id>/ (keyring, database)
    SUBSTREG_DATABASE_URL           postgresql://… : the registry and every tenant in one
                                    PostgreSQL database, a schema each; unset or sqlite://:
                                    SQLite files under SUBSTREG_HOME
    SUBSTREG_HOST, SUBSTREG_PORT    where `serve` listens (default 127.0.0.1:8000)
    SUBSTREG_LOG_LEVEL              debug, info (default), warning, error
    SUBSTREG_SYNC_INTERVAL_SECONDS  how often every tenant is synced without a push, so
                                    that reports due by time are recorded (default 21600,
                                    6 hours; 0: only at start; D-208, D-209)
    SUBSTREG_JWT_ISSUER             bearer JWTs: the issuer they must name (`iss`); unset:
                                    API keys only
    SUBSTREG_JWT_AUDIENCE           the audience they must name (`aud`), required with it
    SUBSTREG_JWKS_FILE | _URL       the issuer's public keys (a JWKS document)
    SUBSTREG_JWT_TENANT_CLAIM       the claim naming the tenant (default substreg_tenant)
    SUBSTREG_JWT_ROLE_CLAIM         the claim naming the role (default substreg_role)

A secret may be given as a file instead: `SUBSTREG_DATABASE_URL_FILE` (a URL with a
password), read by `environment.secret` and never logged; giving both is an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapter.errors import ConfigError
from adapter.settings.environment import DATABASE_URL_ENV, HOME_ENV, secret

TENANT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")  # a folder name and a schema name
REGISTRY_NAME = "registry.db"
INTERVAL_ENV = "SUBSTREG_SYNC_INTERVAL_SECONDS"
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, slots=True)
class JwtSettings:
    issuer: str
    audience: str
    jwks_file: Path | None
    jwks_url: str | None
    tenant_claim: str = "substreg_tenant"
    role_claim: str = "substreg_role"


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    home: Path
    postgresql_url: str | None  # None: SQLite files under `home`
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    jwt: JwtSettings | None = None
    sync_interval: float = 21600.0  # seconds between the scheduled syncs (D-209)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if environ is None else environ
        home = Path(env.get(HOME_ENV) or Path.home() / ".local" / "share" / "substreg")
        url = secret(env, DATABASE_URL_ENV)
        level = (env.get("SUBSTREG_LOG_LEVEL") or "info").lower()
        if level not in LOG_LEVELS:
            msg = f"SUBSTREG_LOG_LEVEL: '{level}' is not one of {', '.join(LOG_LEVELS)}"
            raise ConfigError(msg)
        return cls(
            home=home,
            postgresql_url=url if url and url.startswith("postgresql") else None,
            host=env.get("SUBSTREG_HOST") or "127.0.0.1",
            port=_port(env.get("SUBSTREG_PORT") or "8000"),
            log_level=level,
            jwt=_jwt(env),
            sync_interval=_interval(env.get(INTERVAL_ENV) or "21600"),
        )

    @property
    def registry_path(self) -> Path:
        """The registry's SQLite file (when no PostgreSQL URL is set)."""
        return self.home / REGISTRY_NAME

    def tenant_home(self, tenant_id: str) -> Path:
        """A tenant's own folder: its keyring, and its SQLite database."""
        return self.home / "tenants" / tenant_id


def tenant_schema(tenant_id: str) -> str:
    """The PostgreSQL schema of a tenant: ids hold no `_`, so no two ids share one."""
    return "tenant_" + tenant_id.replace("-", "_")


def check_tenant_id(tenant_id: str) -> str:
    if not TENANT_ID.fullmatch(tenant_id):
        msg = (
            f"'{tenant_id[:40]}' is not a tenant id: 1 to 32 lowercase letters, digits and "
            "hyphens, starting with a letter or digit"
        )
        raise ConfigError(msg)
    return tenant_id


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        msg = f"SUBSTREG_PORT: '{text[:10]}' is not a port (1 to 65535)"
        raise ConfigError(msg)
    return int(text)


def _interval(text: str) -> float:
    if not text.isdigit():
        msg = f"{INTERVAL_ENV}: '{text[:10]}' is not a number of seconds (0 or more)"
        raise ConfigError(msg)
    return float(text)


def _jwt(env: Mapping[str, str]) -> JwtSettings | None:
    issuer = env.get("SUBSTREG_JWT_ISSUER")
    if not issuer:
        return None
    audience = env.get("SUBSTREG_JWT_AUDIENCE")
    jwks_file, jwks_url = env.get("SUBSTREG_JWKS_FILE"), env.get("SUBSTREG_JWKS_URL")
    if not audience:
        msg = "SUBSTREG_JWT_ISSUER is set without SUBSTREG_JWT_AUDIENCE: name the audience too"
        raise ConfigError(msg)
    if bool(jwks_file) == bool(jwks_url):
        msg = "SUBSTREG_JWT_ISSUER needs the issuer's keys: SUBSTREG_JWKS_FILE or _URL, one"
        raise ConfigError(msg)
    return JwtSettings(
        issuer=issuer,
        audience=audience,
        jwks_file=Path(jwks_file) if jwks_file else None,
        jwks_url=jwks_url or None,
        tenant_claim=env.get("SUBSTREG_JWT_TENANT_CLAIM") or "substreg_tenant",
        role_claim=env.get("SUBSTREG_JWT_ROLE_CLAIM") or "substreg_role",
    )
