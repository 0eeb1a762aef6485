"""Where the stateful commands find their database and keys (fail fast, nothing at import).

    SUBSTREG_DATABASE_URL   sqlite:///./substreg.db (default) or postgresql://…
    SUBSTREG_HOME           ~/.local/share/substreg: the keyring file lives here
    SUBSTREG_KEYRING_FILE   a path to the keyring instead (a docker secret, say)
    SUBSTREG_ACTOR          who is acting, for the audit log (default: the OS user)

There is never a default key: without a keyring file the commands stop.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapter.store.database import database_url

HOME_ENV = "SUBSTREG_HOME"
KEYRING_FILE_ENV = "SUBSTREG_KEYRING_FILE"
ACTOR_ENV = "SUBSTREG_ACTOR"
KEYRING_NAME = "keyring.json"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    home: Path
    keyring_path: Path
    keyring_from_env: bool  # a mounted secret: never rewritten by this program
    actor: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get(HOME_ENV) or Path.home() / ".local" / "share" / "substreg")
        keyring_file = env.get(KEYRING_FILE_ENV)
        return cls(
            database_url=database_url(env),
            home=home,
            keyring_path=Path(keyring_file) if keyring_file else home / KEYRING_NAME,
            keyring_from_env=bool(keyring_file),
            actor=(env.get(ACTOR_ENV) or _os_user())[:64],
        )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in a container
        return f"uid-{os.getuid()}"
