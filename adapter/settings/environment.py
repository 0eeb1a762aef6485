"""The one reader of the environment (fail fast, nothing at import).

    SUBSTREG_DATABASE_URL       sqlite:///./substreg.db (default) or postgresql://…
    SUBSTREG_HOME               ~/.local/share/substreg: the keyring file lives here
    SUBSTREG_KEYRING_FILE       a path to the keyring instead (a docker secret, say)
    SUBSTREG_ACTOR              who is acting, for the audit log (default: the OS user)
    SUBSTREG_MAPPINGS_DIR       a practice's own reviewed copy of the mapping files
    SUBSTREG_BACKUP_PASSPHRASE  the passphrase of `keys backup` and `keys restore`
    SUBSTREG_PDF_FONT           a Unicode TrueType font for the PDF ledger export
    SUBSTREG_KEY_PASSPHRASE     the passphrase of an encrypted private key (`envelope`, and the
                                signer key `submit` seals with)

A secret may be given as a file instead (a mounted secret): SUBSTREG_DATABASE_URL_FILE,
SUBSTREG_BACKUP_PASSPHRASE_FILE, SUBSTREG_KEY_PASSPHRASE_FILE; giving both is an error.
There is never a default key: without a keyring file the commands stop.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapter.errors import ConfigError

DATABASE_URL_ENV = "SUBSTREG_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///./substreg.db"
MAPPINGS_DIR_ENV = "SUBSTREG_MAPPINGS_DIR"
PASSPHRASE_ENV = "SUBSTREG_BACKUP_PASSPHRASE"
FONT_ENV = "SUBSTREG_PDF_FONT"
KEY_PASSPHRASE_ENV = "SUBSTREG_KEY_PASSPHRASE"
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


def secret(env: Mapping[str, str], name: str) -> str | None:
    """`name` from the environment, or the contents of the file `name_FILE` names (a
    mounted secret, its trailing newline dropped); ConfigError when both are set or the
    file cannot be read. The message names the variable and the file, never the value."""
    value, path = env.get(name), env.get(f"{name}_FILE")
    if value and path:
        msg = f"{name} and {name}_FILE are both set: give the secret one way"
        raise ConfigError(msg)
    if not path:
        return value or None
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n") or None
    except OSError as exc:
        msg = f"{name}_FILE: {path} cannot be read ({exc.strerror})"
        raise ConfigError(msg) from None


def database_url(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return secret(env, DATABASE_URL_ENV) or DEFAULT_DATABASE_URL


def database_configured(environ: Mapping[str, str] | None = None) -> bool:
    """A store is set up for this shell: the database is named (directly or as a secret
    file), or the default database exists in the current folder. Nothing is opened."""
    env = os.environ if environ is None else environ
    if env.get(DATABASE_URL_ENV) or env.get(f"{DATABASE_URL_ENV}_FILE"):
        return True
    return Path(DEFAULT_DATABASE_URL.removeprefix("sqlite:///")).exists()


def mappings_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """A practice's own copy of the mapping files, when one is set (read on every call, so
    a folder set after an earlier call is honoured)."""
    env = os.environ if environ is None else environ
    given = env.get(MAPPINGS_DIR_ENV, "").strip()
    return Path(given) if given else None


def backup_passphrase(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return secret(env, PASSPHRASE_ENV)


def key_passphrase(environ: Mapping[str, str] | None = None) -> str | None:
    """The passphrase of the encrypted private key `envelope seal|open` is given; None
    when unset (a key without a passphrase)."""
    env = os.environ if environ is None else environ
    return secret(env, KEY_PASSPHRASE_ENV)


def pdf_font(environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    given = env.get(FONT_ENV)
    return Path(given) if given else None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in a container
        return f"uid-{os.getuid()}"
