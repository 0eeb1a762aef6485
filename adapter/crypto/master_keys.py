"""Master keys and the keyring that holds them, in memory (the file is keyring.py).

One master secret per purpose and version (PRIVACY.md "Keys"): `index` keys for the
blind indexes, `wrap` keys for the rows' data keys, `audit` keys for checkpoint
signatures. derive.py turns them into purpose keys; this module stores, rotates and
retires them, and knows nothing of what they protect.

A key's state:
- active: used for new data; at most one per purpose.
- decrypt-only: still read (index lookups, old ciphertexts), never used to write.
- retired: no data uses it any more; kept so that its id stays known.
- destroyed: its secret is wiped (an empty secret), so whatever it alone protected
  is crypto-shredded; a destroyed key never comes back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final, Literal, TypeAlias

from adapter.errors import KeyringError, UnknownKeyError

__all__ = [
    "KEY_STATES",
    "PURPOSES",
    "SECRET_BYTES",
    "KeyState",
    "Keyring",
    "MasterKey",
    "Purpose",
    "generate_keyring",
]

Purpose: TypeAlias = Literal["index", "wrap", "audit"]
KeyState: TypeAlias = Literal["active", "decrypt-only", "retired", "destroyed"]

PURPOSES: Final[tuple[Purpose, ...]] = ("index", "wrap", "audit")
KEY_STATES: Final[tuple[KeyState, ...]] = ("active", "decrypt-only", "retired", "destroyed")
SECRET_BYTES: Final = 32


@dataclass(frozen=True, slots=True)
class MasterKey:
    """One master secret with its purpose, version, state and creation time."""

    purpose: Purpose
    version: int
    secret: bytes = field(repr=False)  # never in a repr, a log line or a traceback
    state: KeyState
    created: str  # ISO 8601, given by the caller: this package reads no clock

    def __post_init__(self) -> None:
        problem = _key_problem(self.purpose, self.version, self.secret, self.state, self.created)
        if problem is not None:
            msg = f"The master key {self.label} is invalid: {problem}."
            raise KeyringError(msg)

    @property
    def label(self) -> str:
        """`purpose-vN`, the name of the key in messages."""
        return f"{self.purpose}-v{self.version}"


@dataclass(frozen=True, slots=True)
class Keyring:
    """The master keys of one installation; at most one active key per purpose."""

    keys: tuple[MasterKey, ...]

    def __post_init__(self) -> None:
        problem = _keyring_problem(self.keys)
        if problem is not None:
            msg = f"The keyring is invalid: {problem}."
            raise KeyringError(msg)

    def active(self, purpose: Purpose) -> MasterKey:
        """The one key of `purpose` that new data is written with."""
        found = [key for key in self.keys if key.purpose == purpose and key.state == "active"]
        if len(found) != 1:
            msg = (
                f"The keyring has no active {purpose} key; "
                f"rotate the {purpose} key or restore the keyring backup."
            )
            raise KeyringError(msg)
        return found[0]

    def usable(self, purpose: Purpose) -> tuple[MasterKey, ...]:
        """The active and decrypt-only keys of `purpose`, newest version first."""
        found = [
            key
            for key in self.keys
            if key.purpose == purpose and key.state in ("active", "decrypt-only")
        ]
        return tuple(sorted(found, key=lambda key: key.version, reverse=True))

    def get(self, purpose: Purpose, version: int) -> MasterKey:
        """The key `purpose-v<version>`; UnknownKeyError when absent or destroyed."""
        key = self._find(purpose, version)
        if key.state == "destroyed":
            msg = (
                f"The key {key.label} was destroyed, so what it protected cannot be read any more."
            )
            raise UnknownKeyError(msg)
        return key

    def rotated(self, purpose: Purpose, created: str) -> Keyring:
        """A keyring with a new active `purpose` key; the previous active one turns decrypt-only."""
        # Versions are never reused, not even those of destroyed keys: a version names
        # one secret for ever, in the database's key registry as much as here.
        version = max((key.version for key in self.keys if key.purpose == purpose), default=0)
        new = MasterKey(purpose, version + 1, secrets.token_bytes(SECRET_BYTES), "active", created)
        kept = tuple(
            replace(key, state="decrypt-only")
            if key.purpose == purpose and key.state == "active"
            else key
            for key in self.keys
        )
        return Keyring((*kept, new))

    def with_state(self, purpose: Purpose, version: int, state: KeyState) -> Keyring:
        """A keyring in which `purpose-v<version>` has `state`; destroying wipes its secret."""
        key = self._find(purpose, version)
        if key.state == "destroyed" and state != "destroyed":
            msg = f"The key {key.label} was destroyed; a destroyed key cannot be {state} again."
            raise KeyringError(msg)
        rival = next(
            (k for k in self.keys if k.purpose == purpose and k.state == "active" and k is not key),
            None,
        )
        if state == "active" and rival is not None:
            msg = (
                f"The keyring already has an active {purpose} key ({rival.label}); "
                f"make it decrypt-only first, or rotate the {purpose} key instead."
            )
            raise KeyringError(msg)
        secret = b"" if state == "destroyed" else key.secret
        changed = replace(key, state=state, secret=secret)
        return Keyring(tuple(changed if k is key else k for k in self.keys))

    def _find(self, purpose: Purpose, version: int) -> MasterKey:
        for key in self.keys:
            if key.purpose == purpose and key.version == version:
                return key
        msg = (
            f"The keyring has no key {purpose}-v{version}; "
            "restore the keyring backup that holds it."
        )
        raise UnknownKeyError(msg)


def generate_keyring(created: str) -> Keyring:
    """A new keyring: one active version-1 key per purpose, from the system's CSPRNG."""
    return Keyring(
        tuple(
            MasterKey(purpose, 1, secrets.token_bytes(SECRET_BYTES), "active", created)
            for purpose in PURPOSES
        )
    )


def _key_problem(
    purpose: object, version: object, secret: object, state: object, created: object
) -> str | None:
    if purpose not in PURPOSES:
        return f"its purpose must be one of {', '.join(PURPOSES)}"
    if type(version) is not int or version < 1:
        return "its version must be a whole number from 1"
    if state not in KEY_STATES:
        return f"its state must be one of {', '.join(KEY_STATES)}"
    return _material_problem(secret, state, created)


def _material_problem(secret: object, state: object, created: object) -> str | None:
    if not isinstance(secret, bytes):
        return "its secret must be bytes"
    if state == "destroyed" and secret:
        return "it is destroyed but still holds its secret (remove the secret)"
    if state != "destroyed" and len(secret) != SECRET_BYTES:
        return f"its secret has {len(secret)} bytes, not {SECRET_BYTES}"
    if not (isinstance(created, str) and _is_iso_timestamp(created)):
        return "its creation time must be an ISO 8601 timestamp"
    return None


def _is_iso_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _keyring_problem(keys: object) -> str | None:
    if not isinstance(keys, tuple) or not all(isinstance(key, MasterKey) for key in keys):
        return "its keys must be a tuple of MasterKey"
    seen: set[tuple[str, int]] = set()
    for key in keys:
        if (key.purpose, key.version) in seen:
            return f"it holds the key {key.label} twice"
        seen.add((key.purpose, key.version))
    for purpose in PURPOSES:
        active = [key.label for key in keys if key.purpose == purpose and key.state == "active"]
        if len(active) > 1:
            return f"it holds {len(active)} active {purpose} keys ({', '.join(active)})"
    return None
