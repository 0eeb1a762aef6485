"""The `[submission]` section of practice.toml: how approved reports leave the practice.

    [submission]
    transport = "folder"                        # http, folder or paper
    signer_key = "keys/praxis.key"              # PEM or DER; an encrypted key takes its
                                                # passphrase from SUBSTREG_KEY_PASSPHRASE
    signer_certificate = "keys/praxis.pem"
    register_certificate = "keys/register.pem"  # SHA-256 pinned in [register]
    max_reports_per_batch = 200                 # a doctor's reports, cut into batches
    lease_seconds = 120                         # a worker holds a batch this long
    poll_seconds = 60                           # `submit --worker` looks again at least this often

    [submission.retry]                          # after a transient failure
    initial_seconds = 30                        # doubling, up to
    max_seconds = 3600
    attempts = 10                               # deliveries in all, then `failed`
    jitter = 0.5                                # each wait stretched by up to half of itself

    [submission.folder]                         # the transport's own table, read by the
    path = "outbox"                             # transport's builder (adapter/composition.py)

Paths are read relative to the folder of practice.toml. A transport's table is handed to
its builder as `TransportSettings`, whose readers check each value and name the setting
when it is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapter.domain.submission import RetryPolicy
from adapter.errors import ConfigError

_KEYS = frozenset(
    {
        "transport",
        "signer_key",
        "signer_certificate",
        "register_certificate",
        "max_reports_per_batch",
        "lease_seconds",
        "poll_seconds",
        "retry",
    }
)
_RETRY = {"initial_seconds": "initial", "max_seconds": "maximum", "attempts": "attempts"}


@dataclass(frozen=True, slots=True)
class TransportSettings:
    """What a transport's builder gets: its table of practice.toml, and the readers."""

    name: str
    options: Mapping[str, Any]
    base: Path  # the folder of practice.toml
    where: str  # `practice.toml: [submission.folder]`, for messages
    register_certificate: Path
    register_certificate_sha256: str | None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def only(self, *keys: str) -> None:
        """Refuse a setting the transport does not know (a typo would be ignored)."""
        unknown = sorted(set(self.options) - set(keys))
        if unknown:
            known = ", ".join(keys) or "none"
            msg = f"{self.where}: unknown setting '{unknown[0]}' (known: {known})"
            raise ConfigError(msg)

    def text(self, key: str, default: str | None = None) -> str:
        value = self.options.get(key, default)
        if not isinstance(value, str) or not value.strip():
            msg = f"{self.where}: {key} must be given as a non-empty string"
            raise ConfigError(msg)
        return value.strip()

    def path(self, key: str, default: str | None = None) -> Path:
        """A path, relative to the folder of practice.toml unless absolute."""
        return self.base / Path(self.text(key, default)).expanduser()

    def optional_path(self, key: str) -> Path | None:
        return self.path(key) if key in self.options else None

    def number(
        self, key: str, default: float, *, minimum: float = 0.0, whole: bool = False
    ) -> float:
        return _number(self.where, key, self.options.get(key, default), minimum, whole=whole)


@dataclass(frozen=True, slots=True)
class SubmissionConfig:
    transport: str
    signer_key: Path
    signer_certificate: Path
    register_certificate: Path
    base: Path
    where: str
    max_reports: int = 200
    lease_seconds: float = 120.0
    poll_seconds: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transports: dict[str, dict[str, Any]] = field(default_factory=dict)

    def transport_settings(
        self, pinned_sha256: str | None, clock: Callable[[], datetime]
    ) -> TransportSettings:
        """The settings of the transport chosen (its table may be empty)."""
        return TransportSettings(
            name=self.transport,
            options=self.transports.get(self.transport, {}),
            base=self.base,
            where=f"{self.where}.{self.transport}]",
            register_certificate=self.register_certificate,
            register_certificate_sha256=pinned_sha256,
            clock=clock,
        )


def submission_config(path: Path, entry: Any) -> SubmissionConfig | None:
    """The `[submission]` table of `path`, checked; None when there is none."""
    if entry is None:
        return None
    where = f"{path}: [submission"
    if not isinstance(entry, dict):
        msg = f"{where}] must be a table"
        raise ConfigError(msg)
    tables = {k: v for k, v in entry.items() if isinstance(v, dict) and k != "retry"}
    unknown = sorted(set(entry) - _KEYS - set(tables))
    if unknown:
        msg = f"{where}]: unknown setting '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})"
        raise ConfigError(msg)
    base = path.parent
    settings = TransportSettings("submission", entry, base, f"{where}]", Path(), None)
    return SubmissionConfig(
        transport=settings.text("transport"),
        signer_key=settings.path("signer_key"),
        signer_certificate=settings.path("signer_certificate"),
        register_certificate=settings.path("register_certificate"),
        base=base,
        where=where,
        max_reports=int(settings.number("max_reports_per_batch", 200, minimum=1, whole=True)),
        lease_seconds=settings.number("lease_seconds", 120.0, minimum=1.0),
        poll_seconds=settings.number("poll_seconds", 60.0, minimum=0.1),
        retry=_retry(f"{where}.retry]", entry.get("retry", {})),
        transports=tables,
    )


def _retry(where: str, entry: Any) -> RetryPolicy:
    if not isinstance(entry, dict):
        msg = f"{where} must be a table"
        raise ConfigError(msg)
    unknown = sorted(set(entry) - {*_RETRY, "jitter"})
    if unknown:
        msg = f"{where}: unknown setting '{unknown[0]}'"
        raise ConfigError(msg)
    default = RetryPolicy()
    values = {
        name: _number(
            where,
            key,
            entry.get(key, getattr(default, name)),
            0.001 if name == "initial" else 1.0,
            whole=name == "attempts",
        )
        for key, name in _RETRY.items()
    }
    jitter = _number(where, "jitter", entry.get("jitter", default.jitter), 0.0)
    try:
        return RetryPolicy(
            initial=values["initial"],
            maximum=values["maximum"],
            attempts=int(values["attempts"]),
            jitter=jitter,
        )
    except ValueError:
        msg = f"{where}: initial_seconds must not exceed max_seconds, and jitter lies in 0 … 1"
        raise ConfigError(msg) from None


def _number(where: str, key: str, value: object, minimum: float, *, whole: bool = False) -> float:
    number_types = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, number_types) or value < minimum:
        kind = "a whole number" if whole else "a number"
        msg = f"{where}: {key} must be {kind} of at least {minimum:g}"
        raise ConfigError(msg)
    return float(value)
