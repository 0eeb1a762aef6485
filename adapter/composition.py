"""The one place that builds what the commands run on: the settings (read from the
environment once), who acts, and the store with its keys. The command line asks here,
and so will the API; the services take what is built and never read the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapter.settings.environment import Settings
from adapter.store.audit import Actor
from adapter.store.opening import open_store
from adapter.store.workspace import Store


def settings() -> Settings:
    return Settings.from_env()


def operator(settings: Settings) -> Actor:
    """Who acts at the command line, for the audit log."""
    return Actor(settings.actor, "operator")


def store(settings: Settings, clock: Callable[[], datetime]) -> Store:
    return open_store(settings.database_url, settings.keyring_path, clock=clock)
