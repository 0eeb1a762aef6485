"""Master keys and the keyring in memory: states, rotation, lookup (adapter/crypto/master_keys)."""

from __future__ import annotations

import base64

import pytest

from adapter.crypto import PURPOSES, Keyring, MasterKey, Purpose, generate_keyring
from adapter.errors import KeyringError, UnknownKeyError

from .conftest import CREATED, LATER

SECRET = bytes(range(32))


def test_a_new_keyring_has_one_active_version_1_key_per_purpose(keyring: Keyring) -> None:
    """generate_keyring: index, wrap and audit keys, each version 1, active, created as given."""
    assert [(k.purpose, k.version, k.state, k.created) for k in keyring.keys] == [
        ("index", 1, "active", CREATED),
        ("wrap", 1, "active", CREATED),
        ("audit", 1, "active", CREATED),
    ]


def test_new_secrets_are_32_bytes_and_all_different() -> None:
    """Every generated secret has 32 bytes; no two keys of two keyrings share one."""
    secrets = [
        k.secret
        for ring in (generate_keyring(CREATED), generate_keyring(CREATED))
        for k in ring.keys
    ]
    assert all(len(secret) == 32 for secret in secrets)
    assert len(set(secrets)) == len(secrets)


def test_repr_shows_no_secret(keyring: Keyring) -> None:
    """repr(MasterKey) and repr(Keyring) name the keys but show no secret in any encoding."""
    shown = repr(keyring) + repr(keyring.keys[0]) + str(keyring.keys[1])
    assert "wrap" in shown
    for key in keyring.keys:
        for form in (repr(key.secret), key.secret.hex(), base64.b64encode(key.secret).decode()):
            assert form not in shown
    assert "secret" not in shown


@pytest.mark.parametrize("size", [0, 16, 31, 33], ids=["empty", "16", "31", "33"])
def test_a_live_key_needs_a_32_byte_secret(size: int) -> None:
    """A key that is not destroyed refuses a secret of any length but 32 bytes."""
    with pytest.raises(
        KeyringError, match=r"index-v1 is invalid: its secret has \d+ bytes, not 32"
    ):
        MasterKey("index", 1, bytes(size), "active", CREATED)


@pytest.mark.parametrize(
    ("purpose", "version", "state", "created", "problem"),
    [
        ("signing", 1, "active", CREATED, "purpose must be one of"),
        ("index", 0, "active", CREATED, "version must be a whole number"),
        ("index", True, "active", CREATED, "version must be a whole number"),
        ("index", 1, "enabled", CREATED, "state must be one of"),
        ("index", 1, "active", "yesterday", "creation time must be an ISO 8601"),
        ("index", 1, "destroyed", CREATED, "destroyed but still holds its secret"),
    ],
    ids=["purpose", "version-0", "version-bool", "state", "created", "destroyed-with-secret"],
)
def test_a_master_key_refuses_wrong_fields(
    purpose: str, version: int, state: str, created: str, problem: str
) -> None:
    """MasterKey checks its purpose, version, state, creation time and secret on construction."""
    with pytest.raises(KeyringError, match=problem):
        MasterKey(purpose, version, SECRET, state, created)  # type: ignore[arg-type]


def test_a_keyring_refuses_two_active_keys_of_one_purpose() -> None:
    """Two active wrap keys would leave it open which one writes: refused, naming both."""
    keys = (
        MasterKey("wrap", 1, SECRET, "active", CREATED),
        MasterKey("wrap", 2, SECRET[::-1], "active", CREATED),
    )
    with pytest.raises(KeyringError, match=r"2 active wrap keys \(wrap-v1, wrap-v2\)"):
        Keyring(keys)


def test_a_keyring_refuses_the_same_key_version_twice() -> None:
    """One purpose and version name one secret: a duplicate is refused."""
    keys = (
        MasterKey("index", 1, SECRET, "active", CREATED),
        MasterKey("index", 1, SECRET, "retired", CREATED),
    )
    with pytest.raises(KeyringError, match="holds the key index-v1 twice"):
        Keyring(keys)


def test_active_names_the_one_writing_key(keyring: Keyring) -> None:
    """active(purpose) returns the active key of that purpose."""
    assert keyring.active("wrap") == keyring.keys[1]


def test_active_without_an_active_key_raises_keyring_error(keyring: Keyring) -> None:
    """With its only wrap key retired the keyring has no writing wrap key, and says the fix."""
    retired = keyring.with_state("wrap", 1, "retired")
    with pytest.raises(KeyringError, match="no active wrap key; rotate the wrap key"):
        retired.active("wrap")


def test_usable_lists_active_and_decrypt_only_keys_newest_first(keyring: Keyring) -> None:
    """usable(): active and decrypt-only keys, newest first; retired and destroyed left out."""
    ring = keyring
    for _ in range(3):
        ring = ring.rotated("index", LATER)
    ring = ring.with_state("index", 1, "destroyed").with_state("index", 2, "retired")
    assert [(k.version, k.state) for k in ring.usable("index")] == [
        (4, "active"),
        (3, "decrypt-only"),
    ]
    assert ring.usable("wrap") == (keyring.active("wrap"),)


def test_get_returns_the_key_of_that_version(keyring: Keyring) -> None:
    """get(purpose, version) finds an active, decrypt-only or retired key."""
    ring = keyring.rotated("wrap", LATER).with_state("wrap", 1, "retired")
    assert ring.get("wrap", 1).state == "retired"
    assert ring.get("wrap", 2).state == "active"


def test_get_of_an_absent_key_raises_unknown_key_error(keyring: Keyring) -> None:
    """An absent version is an UnknownKeyError that names the key and the backup."""
    with pytest.raises(UnknownKeyError, match="no key wrap-v9; restore the keyring backup"):
        keyring.get("wrap", 9)


def test_get_of_a_destroyed_key_raises_unknown_key_error(keyring: Keyring) -> None:
    """A destroyed key is not handed out: what it protected is gone."""
    ring = keyring.rotated("wrap", LATER).with_state("wrap", 1, "destroyed")
    with pytest.raises(UnknownKeyError, match="wrap-v1 was destroyed"):
        ring.get("wrap", 1)


@pytest.mark.parametrize("purpose", PURPOSES, ids=PURPOSES)
def test_rotation_adds_the_next_version_and_demotes_the_old_one(
    keyring: Keyring, purpose: Purpose
) -> None:
    """rotated(): version max+1 active with a new secret; the old active key turns decrypt-only."""
    ring = keyring.rotated(purpose, LATER)
    new, old = ring.get(purpose, 2), ring.get(purpose, 1)
    assert (new.state, new.created, len(new.secret)) == ("active", LATER, 32)
    assert old.state == "decrypt-only"
    assert old.secret == keyring.active(purpose).secret != new.secret
    assert ring.active(purpose) == new


def test_rotation_leaves_the_other_purposes_and_the_original_alone(keyring: Keyring) -> None:
    """Rotating the index key changes no wrap or audit key, and the old keyring is unchanged."""
    ring = keyring.rotated("index", LATER)
    assert ring.active("wrap") == keyring.active("wrap")
    assert ring.active("audit") == keyring.active("audit")
    assert keyring.active("index").version == 1
    assert len(keyring.keys) == 3


def test_rotation_never_reuses_the_version_of_a_destroyed_key(keyring: Keyring) -> None:
    """A version names one secret for ever: after destroying v2, the next rotation makes v3."""
    ring = keyring.rotated("audit", LATER).with_state("audit", 1, "retired")
    ring = ring.with_state("audit", 2, "destroyed").rotated("audit", LATER)
    assert ring.active("audit").version == 3


def test_destroying_a_key_wipes_its_secret(keyring: Keyring) -> None:
    """with_state(..., "destroyed") keeps the key's record but empties its secret."""
    ring = keyring.rotated("wrap", LATER).with_state("wrap", 1, "destroyed")
    destroyed = next(k for k in ring.keys if k.purpose == "wrap" and k.version == 1)
    assert (destroyed.state, destroyed.secret) == ("destroyed", b"")


def test_a_destroyed_key_cannot_come_back(keyring: Keyring) -> None:
    """Leaving the destroyed state is refused: there is no secret to come back with."""
    ring = keyring.rotated("wrap", LATER).with_state("wrap", 1, "destroyed")
    with pytest.raises(KeyringError, match="wrap-v1 was destroyed"):
        ring.with_state("wrap", 1, "decrypt-only")
    assert ring.with_state("wrap", 1, "destroyed") == ring


def test_activating_a_second_key_of_one_purpose_is_refused(keyring: Keyring) -> None:
    """with_state(..., "active") beside another active key is refused, naming that key."""
    ring = keyring.rotated("index", LATER)
    with pytest.raises(KeyringError, match=r"already has an active index key \(index-v2\)"):
        ring.with_state("index", 1, "active")


def test_an_old_key_can_be_reactivated_after_demoting_the_current_one(keyring: Keyring) -> None:
    """Rolling back a rotation: demote v2, then activate v1 again."""
    ring = keyring.rotated("index", LATER).with_state("index", 2, "decrypt-only")
    ring = ring.with_state("index", 1, "active")
    assert ring.active("index").version == 1
    assert ring.active("index").secret == keyring.active("index").secret


def test_with_state_of_an_absent_key_raises_unknown_key_error(keyring: Keyring) -> None:
    """Changing the state of a key the keyring lacks is an UnknownKeyError."""
    with pytest.raises(UnknownKeyError, match="no key audit-v2"):
        keyring.with_state("audit", 2, "retired")
