"""The `[pull]` section of practice.toml: the EHR's FHIR server that `substreg pull`,
`substreg import --server` and id-only subscription notifications read from (issue 13).

    [pull]
    server = "https://ehr.example/fhir"         # the FHIR base searched
    types = ["Patient", "MedicationRequest"]    # default: every type INPUT.md reads
    page_size = 200                             # _count of each search page
    requests_per_second = 5                     # to protect the EHR: at most this many
    attempts = 6                                # per request, on 429, 503, timeouts
    max_wait_seconds = 300                      # the longest Retry-After honoured
    token_file = "secrets/ehr-token"            # a static bearer token, or:

    [pull.smart]                                # SMART Backend Services (client credentials)
    token_url = "https://ehr.example/auth/token"
    client_id = "substreg-praxis"
    private_key = "keys/ehr-client.pem"         # PEM: RSA for RS384, P-384 for ES384
    algorithm = "RS384"                         # or ES384
    key_id = "substreg-2026"                    # the JWKS key id the EHR knows (kid)
    scope = "system/*.rs"

Paths are read relative to the folder of practice.toml; the files hold secrets and are
read when they are used, never copied into the database, a log or a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapter.errors import ConfigError
from adapter.settings.submission import TransportSettings

_KEYS = frozenset(
    {
        "server",
        "types",
        "page_size",
        "requests_per_second",
        "attempts",
        "max_wait_seconds",
        "token_file",
        "smart",
    }
)
_SMART = ("token_url", "client_id", "private_key", "algorithm", "key_id", "scope")
ALGORITHMS = ("RS384", "ES384")  # SMART Backend Services: the two a server must accept


@dataclass(frozen=True, slots=True)
class SmartClient:
    """A SMART Backend Services client: its id and key, where it asks for tokens."""

    token_url: str
    client_id: str
    private_key: Path
    algorithm: str = "RS384"
    key_id: str | None = None
    scope: str = "system/*.rs"


@dataclass(frozen=True, slots=True)
class PullConfig:
    server: str | None = None
    types: tuple[str, ...] | None = None  # None: every type INPUT.md reads
    page_size: int = 200
    requests_per_second: float = 5.0
    attempts: int = 6
    max_wait_seconds: float = 300.0
    token_file: Path | None = None
    smart: SmartClient | None = None
    where: str = "[pull]"


def pull_config(path: Path, entry: Any) -> PullConfig | None:
    """The `[pull]` table of `path`, checked; None when there is none."""
    if entry is None:
        return None
    where = f"{path}: [pull"
    if not isinstance(entry, dict):
        msg = f"{where}] must be a table"
        raise ConfigError(msg)
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        msg = f"{where}]: unknown setting '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})"
        raise ConfigError(msg)
    settings = TransportSettings("pull", entry, path.parent, f"{where}]", Path(), None)
    types = entry.get("types")
    if types is not None and (
        not isinstance(types, list) or not all(isinstance(t, str) and t for t in types)
    ):
        msg = f'{where}]: types must be a list of resource types, e.g. ["Patient"]'
        raise ConfigError(msg)
    if "token_file" in entry and "smart" in entry:
        msg = f"{where}]: give token_file or [pull.smart], not both"
        raise ConfigError(msg)
    return PullConfig(
        server=settings.text("server") if "server" in entry else None,
        types=tuple(types) if types is not None else None,
        page_size=int(settings.number("page_size", 200, minimum=1, whole=True)),
        requests_per_second=settings.number("requests_per_second", 5.0, minimum=0.01),
        attempts=int(settings.number("attempts", 6, minimum=1, whole=True)),
        max_wait_seconds=settings.number("max_wait_seconds", 300.0, minimum=0.0),
        token_file=settings.optional_path("token_file"),
        smart=_smart(path, entry.get("smart")),
        where=f"{where}]",
    )


def _smart(path: Path, entry: Any) -> SmartClient | None:
    if entry is None:
        return None
    where = f"{path}: [pull.smart]"
    if not isinstance(entry, dict):
        msg = f"{where} must be a table"
        raise ConfigError(msg)
    unknown = sorted(set(entry) - set(_SMART))
    if unknown:
        msg = f"{where}: unknown setting '{unknown[0]}' (known: {', '.join(_SMART)})"
        raise ConfigError(msg)
    settings = TransportSettings("smart", entry, path.parent, where, Path(), None)
    algorithm = settings.text("algorithm", "RS384")
    if algorithm not in ALGORITHMS:
        msg = f"{where}: algorithm must be one of {', '.join(ALGORITHMS)}"
        raise ConfigError(msg)
    return SmartClient(
        token_url=settings.text("token_url"),
        client_id=settings.text("client_id"),
        private_key=settings.path("private_key"),
        algorithm=algorithm,
        key_id=settings.text("key_id") if "key_id" in entry else None,
        scope=settings.text("scope", "system/*.rs"),
    )
