"""The keyring file: its JSON format, and loading and saving it safely.

The format `substreg-keyring/1`:

    {"format": "substreg-keyring/1",
     "keys": [{"purpose": "wrap", "version": 1, "state": "active",
               "created": "2025-01-01T00:00:00+00:00", "secret": "<base64 of 32 bytes>"}]}

A destroyed key is kept with an empty secret. The file is written with mode 0600;
it may also be read-only (0444), as docker mounts its secrets, but never
world-writable, nor readable by others while writable (0644: a copy, D-43). The
key model itself lives in master_keys.py and is re-exported here.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any, Final

from adapter.crypto.master_keys import (
    KEY_STATES,
    PURPOSES,
    SECRET_BYTES,
    Keyring,
    KeyState,
    MasterKey,
    Purpose,
    # The rules of a key and of a keyring, shared with the in-memory model so that
    # a file is held to exactly the rules a Keyring is built under.
    _key_problem,
    _keyring_problem,
    generate_keyring,
)
from adapter.errors import KeyringError
from adapter.settings.files import make_private_dirs, write_private

__all__ = [
    "KEYRING_FORMAT",
    "KEY_STATES",
    "PURPOSES",
    "SECRET_BYTES",
    "KeyState",
    "Keyring",
    "MasterKey",
    "Purpose",
    "generate_keyring",
    "keyring_from_json",
    "keyring_to_json",
    "load_keyring",
    "save_keyring",
]

KEYRING_FORMAT: Final = "substreg-keyring/1"

_FIELDS = frozenset({"purpose", "version", "state", "created", "secret"})
_RESTORE = "restore it from the keyring backup"


def keyring_to_json(keyring: Keyring) -> bytes:
    """The keyring in the file format `substreg-keyring/1` (UTF-8 JSON, secrets in base64)."""
    document = {
        "format": KEYRING_FORMAT,
        "keys": [
            {
                "purpose": key.purpose,
                "version": key.version,
                "state": key.state,
                "created": key.created,
                "secret": base64.b64encode(key.secret).decode("ascii"),
            }
            for key in keyring.keys
        ],
    }
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def keyring_from_json(data: bytes, *, source: str, fix: str = _RESTORE) -> Keyring:
    """Parse `substreg-keyring/1`; `source` ("/run/secrets/keyring") and `fix` go into errors."""
    try:
        document = json.loads(data)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError; neither message is echoed
        msg = f"The keyring {source} is not JSON; {fix}."
        raise KeyringError(msg) from None
    if (
        not isinstance(document, dict)
        or set(document) != {"format", "keys"}
        or document["format"] != KEYRING_FORMAT
        or not isinstance(document["keys"], list)
    ):
        msg = (
            f"The keyring {source} is not in the format {KEYRING_FORMAT} "
            f'({{"format": ..., "keys": [...]}}); {fix}.'
        )
        raise KeyringError(msg)
    keys = tuple(
        _key_from_json(entry, number, source, fix)
        for number, entry in enumerate(document["keys"], start=1)
    )
    problem = _keyring_problem(keys)
    if problem is not None:
        msg = f"The keyring {source} is invalid: {problem}; {fix}."
        raise KeyringError(msg)
    return Keyring(keys)


def load_keyring(path: Path) -> Keyring:
    """Read the keyring file; refuse it when missing, unreadable, malformed or world-writable."""
    return keyring_from_json(_read_keyring_file(path), source=str(path))


def save_keyring(keyring: Keyring, path: Path) -> None:
    """Write the keyring atomically with mode 0600; create missing folders with mode 0700."""
    try:
        make_private_dirs(path.parent)
        write_private(path, keyring_to_json(keyring))
    except OSError as exc:
        msg = (
            f"Cannot write the keyring {path} ({exc.strerror}); "
            "let the adapter's user write to its directory."
        )
        raise KeyringError(msg) from None


def _read_keyring_file(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            # fstat on the open file, not stat on the path: what is checked is what is read.
            mode = os.fstat(file.fileno()).st_mode
            if not stat.S_ISREG(mode):
                msg = f"The keyring {path} is not a regular file; point the adapter at the file."
                raise KeyringError(msg)
            if mode & stat.S_IWOTH:
                msg = (
                    f"The keyring {path} is world-writable, so anyone on this machine could "
                    f"replace its keys; run `chmod 600 {path}`."
                )
                raise KeyringError(msg)
            if _readable_by_others(mode):
                msg = (
                    f"The keyring {path} can be read by other users of this machine (mode "
                    f"{stat.S_IMODE(mode):04o}), and with it every stored patient code; run "
                    f"`chmod 600 {path}` (a read-only secret mount, 0444, is accepted)."
                )
                raise KeyringError(msg)
            return file.read()
    except FileNotFoundError:
        msg = (
            f"There is no keyring at {path}; generate one for a new installation, "
            "or restore it from the keyring backup."
        )
        raise KeyringError(msg) from None
    except OSError as exc:
        msg = (
            f"Cannot read the keyring {path} ({exc.strerror}); "
            "let the adapter's user read it (mode 0600, or 0444 as a docker secret)."
        )
        raise KeyringError(msg) from None


def _readable_by_others(mode: int) -> bool:
    """Group or others may read a file that someone may still write: a copy made with the
    usual umask (0644), not a secret mounted read-only (0444, docker's way), whose
    boundary is the container."""
    readable = mode & (stat.S_IRGRP | stat.S_IROTH)
    writable = mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    return bool(readable and writable)


def _key_from_json(entry: Any, number: int, source: str, fix: str) -> MasterKey:
    where = f"Key #{number} of the keyring {source}"
    if not isinstance(entry, dict) or set(entry) != _FIELDS:
        fields = ", ".join(sorted(_FIELDS))
        msg = f"{where} must be an object with exactly the fields {fields}; {fix}."
        raise KeyringError(msg)
    try:
        secret = base64.b64decode(entry["secret"], validate=True)
    except (TypeError, ValueError):  # binascii.Error is a ValueError
        msg = f"{where} has a secret that is not base64; {fix}."
        raise KeyringError(msg) from None
    values = (entry["purpose"], entry["version"], secret, entry["state"], entry["created"])
    problem = _key_problem(*values)
    if problem is not None:
        msg = f"{where} is invalid: {problem}; {fix}."
        raise KeyringError(msg)
    return MasterKey(*values)
