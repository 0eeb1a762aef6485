"""The one place that builds what the commands run on: the settings (read from the
environment once), who acts, and the store with its keys. The command line asks here,
and so will the API; the services take what is built and never read the environment.
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from adapter.errors import ConfigError
from adapter.settings.environment import KEYRING_NAME, Settings, key_passphrase
from adapter.settings.service import ServiceSettings
from adapter.store.audit import Actor
from adapter.store.opening import (
    open_registry,
    open_store,
    prepare_tenant_database,
    tenant_database_url,
)
from adapter.store.registry import Registry
from adapter.store.workspace import Store

if TYPE_CHECKING:  # the submission's parts load asn1crypto: only `submit` and `outbox` use them
    from adapter.connect.client import FhirClient
    from adapter.services.submit import Sealing
    from adapter.services.worker import Delivery
    from adapter.settings.practice import PracticeConfig
    from adapter.settings.submission import SubmissionConfig
    from adapter.transport.base import Transport


def settings() -> Settings:
    return Settings.from_env()


def operator(settings: Settings) -> Actor:
    """Who acts at the command line, for the audit log."""
    return Actor(settings.actor, "operator")


def store(settings: Settings, clock: Callable[[], datetime]) -> Store:
    return open_store(settings.database_url, settings.keyring_path, clock=clock)


# -- submission (issue 12) ----------------------------------------------------------------

# The transports by the name `[submission] transport` gives, each a module that defines
# `from_settings(settings: TransportSettings) -> Transport` (adapter/settings/submission.py):
# one line plugs a transport in. A module is imported only when its transport is chosen.
TRANSPORTS: dict[str, str] = {
    "folder": "adapter.transport.folder",
    "http": "adapter.transport.http",
    "paper": "adapter.transport.paper",
}


def submission_of(config: PracticeConfig) -> SubmissionConfig:
    """The `[submission]` section; ConfigError when there is none or it names a transport
    (or has a table for one) that this program does not know."""
    submission = config.submission
    if submission is None:
        msg = (
            "the configuration has no [submission] section: name the transport, the signer's "
            "key and certificate and the register's certificate (docs/SUBMISSION.md)"
        )
        raise ConfigError(msg)
    for name in (submission.transport, *submission.transports):
        if name not in TRANSPORTS:
            known = ", ".join(sorted(TRANSPORTS))
            msg = f"{submission.where}]: the transport {name!r} is unknown (known: {known})"
            raise ConfigError(msg)
    return submission


def transport(config: PracticeConfig, clock: Callable[[], datetime]) -> Transport:
    """The transport the configuration chooses, built from its table (checked now)."""
    submission = submission_of(config)
    module = importlib.import_module(TRANSPORTS[submission.transport])
    settings = submission.transport_settings(config.register_certificate_sha256, clock)
    built: Transport = module.from_settings(settings)
    return built


def sealing(config: PracticeConfig) -> Sealing:
    """What `submit` and `outbox resend` seal with (the key's passphrase from the
    environment: SUBSTREG_KEY_PASSPHRASE)."""
    from adapter.services.submit import Sealing  # noqa: PLC0415

    submission = submission_of(config)
    return Sealing(
        signer_key=submission.signer_key,
        signer_certificate=submission.signer_certificate,
        register_certificate=submission.register_certificate,
        pinned_sha256=config.register_certificate_sha256,
        passphrase=key_passphrase(),
        transport=submission.transport,
        max_reports=submission.max_reports,
        bundle_weekdays=config.bundle_weekdays,
    )


def delivery(config: PracticeConfig, clock: Callable[[], datetime]) -> Delivery:
    """What a worker delivers with: the transport, the retry schedule, a lease, its name,
    and the register's pinned certificate that receipts are checked against."""
    from adapter.services.submit import register_recipient  # noqa: PLC0415
    from adapter.services.worker import Delivery  # noqa: PLC0415

    submission = submission_of(config)
    seal_with = sealing(config)
    return Delivery(
        transport=transport(config, clock),
        policy=submission.retry,
        lease=timedelta(seconds=submission.lease_seconds),
        worker=f"w-{os.getpid()}-{uuid.uuid4().hex[:12]}",
        register_certificate=lambda: register_recipient(seal_with, clock()).certificate,
    )


# -- the service (issue 13): a registry, and a store per tenant (D-120) -------------------


def service_settings() -> ServiceSettings:
    return ServiceSettings.from_env()


def registry(settings: ServiceSettings) -> Registry:
    return open_registry(settings)


def tenant_settings(service: ServiceSettings, tenant_id: str) -> Settings:
    """The settings a tenant's store runs on: what `substreg init` and every use case of a
    single installation get, pointed at the tenant's own home and database."""
    home = service.tenant_home(tenant_id)
    return Settings(
        database_url=tenant_database_url(service, tenant_id),
        home=home,
        keyring_path=home / KEYRING_NAME,
        keyring_from_env=False,
        actor=f"tenant-{tenant_id}",
    )


def prepare_tenant(service: ServiceSettings, tenant_id: str) -> None:
    prepare_tenant_database(service, tenant_id)


def tenant_store(service: ServiceSettings, tenant_id: str, clock: Callable[[], datetime]) -> Store:
    settings = tenant_settings(service, tenant_id)
    return open_store(settings.database_url, settings.keyring_path, clock=clock)


# -- the EHR's FHIR server (issue 13: pull, import --server, id-only notifications) -------


def pull_source(
    config: PracticeConfig,
    *,
    server: str | None = None,
    token_file: Path | None = None,
) -> FhirClient | None:
    """The client of the EHR's FHIR server: `server` (a command-line flag) or `[pull]
    server`, authorised as `[pull]` says (or with `token_file`); None when no server is
    named anywhere. A key or token file is read when the first request is made."""
    from adapter.connect.auth import Authorisation, BackendServices, StaticToken  # noqa: PLC0415
    from adapter.connect.client import FhirClient  # noqa: PLC0415
    from adapter.connect.pacing import Pacer  # noqa: PLC0415
    from adapter.settings.pull import PullConfig  # noqa: PLC0415

    settings = config.pull or PullConfig()
    base = server or settings.server
    if base is None:
        return None
    auth: Authorisation | None = None
    token = token_file or settings.token_file
    if token is not None:
        auth = StaticToken(token)
    elif settings.smart is not None:
        auth = BackendServices(settings.smart)
    return FhirClient(
        base,
        auth=auth,
        pacer=Pacer(settings.requests_per_second),
        attempts=settings.attempts,
        max_wait=settings.max_wait_seconds,
    )
