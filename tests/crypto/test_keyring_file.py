"""The keyring file: format, atomic 0600 writes, refusing bad files (adapter/crypto/keyring.py)."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from adapter.crypto import (
    KEYRING_FORMAT,
    Keyring,
    field_aad,
    key_id,
    keyring_from_json,
    keyring_to_json,
    load_keyring,
    new_data_key,
    open_sealed,
    resolve_key_id,
    save_keyring,
    seal,
    unwrap_data_key,
    wrap_data_key,
    wrap_key,
)
from adapter.errors import KeyringError

from .conftest import CREATED, LATER

SECRET_B64 = base64.b64encode(bytes(range(32))).decode()


def _entry(**changes: Any) -> dict[str, Any]:
    entry = {
        "purpose": "wrap",
        "version": 1,
        "state": "active",
        "created": CREATED,
        "secret": SECRET_B64,
    }
    entry.update(changes)
    return entry


def _write(path: Path, document: Any) -> Path:
    text = document if isinstance(document, str) else json.dumps(document)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_saved_keyring_loads_unchanged(tmp_path: Path, keyring: Keyring) -> None:
    """save_keyring then load_keyring gives back an equal keyring, secrets and all."""
    ring = keyring.rotated("wrap", LATER).with_state("index", 1, "retired")
    path = tmp_path / "keyring.json"
    save_keyring(ring, path)
    assert load_keyring(path) == ring


def test_a_destroyed_key_is_saved_without_its_secret(tmp_path: Path, keyring: Keyring) -> None:
    """A destroyed key stays in the file as a record with an empty secret, and loads again."""
    ring = keyring.rotated("wrap", LATER).with_state("wrap", 1, "destroyed")
    path = tmp_path / "keyring.json"
    save_keyring(ring, path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert {
        "purpose": "wrap",
        "version": 1,
        "state": "destroyed",
        "created": CREATED,
        "secret": "",
    } in saved["keys"]
    assert load_keyring(path) == ring


def test_the_file_has_the_documented_format(keyring: Keyring) -> None:
    """keyring_to_json writes substreg-keyring/1 with each secret in base64."""
    document = json.loads(keyring_to_json(keyring))
    assert document["format"] == KEYRING_FORMAT == "substreg-keyring/1"
    assert [base64.b64decode(entry["secret"]) for entry in document["keys"]] == [
        key.secret for key in keyring.keys
    ]
    assert set(document["keys"][0]) == {"purpose", "version", "state", "created", "secret"}


def test_a_saved_keyring_has_mode_0600(tmp_path: Path, keyring: Keyring) -> None:
    """The keyring file is readable and writable by its owner only."""
    path = tmp_path / "keyring.json"
    save_keyring(keyring, path)
    assert _mode(path) == 0o600


def test_saving_creates_a_missing_directory_with_mode_0700(
    tmp_path: Path, keyring: Keyring
) -> None:
    """A missing parent directory is created, closed to everyone but its owner."""
    path = tmp_path / "secrets" / "keyring.json"
    save_keyring(keyring, path)
    assert _mode(path.parent) == 0o700
    assert load_keyring(path) == keyring


def test_saving_leaves_no_temporary_file(tmp_path: Path, keyring: Keyring) -> None:
    """The atomic write renames its temporary file into place: only the keyring remains."""
    path = tmp_path / "keyring.json"
    save_keyring(keyring, path)
    save_keyring(keyring.rotated("index", LATER), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyring.json"]


def test_a_failed_save_keeps_the_old_keyring_and_no_temporary_file(
    tmp_path: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed rename keeps the old file whole, removes the temp file, and names the path."""
    path = tmp_path / "keyring.json"
    save_keyring(keyring, path)

    def no_space(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(KeyringError, match=f"Cannot write the keyring {path}"):
        save_keyring(keyring.rotated("wrap", LATER), path)
    monkeypatch.undo()
    assert load_keyring(path) == keyring
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyring.json"]


def test_saving_replaces_a_read_only_file(tmp_path: Path, keyring: Keyring) -> None:
    """A 0444 keyring is replaced whole (the rename needs the directory, not the file)."""
    path = tmp_path / "keyring.json"
    save_keyring(keyring, path)
    path.chmod(0o444)
    rotated = keyring.rotated("audit", LATER)
    save_keyring(rotated, path)
    assert load_keyring(path) == rotated
    assert _mode(path) == 0o600


def test_a_read_only_0444_file_loads(tmp_path: Path, keyring: Keyring) -> None:
    """Docker mounts secrets read-only for everyone (0444): such a keyring is accepted."""
    path = tmp_path / "keyring.json"
    save_keyring(keyring, path)
    path.chmod(0o444)
    assert load_keyring(path) == keyring


def test_a_world_writable_file_is_refused(tmp_path: Path, keyring: Keyring) -> None:
    """A keyring anyone may overwrite is refused, with the path and the chmod that fixes it."""
    path = tmp_path / "keyring.json"
    save_keyring(keyring, path)
    path.chmod(0o666)
    with pytest.raises(KeyringError, match=f"{path} is world-writable.*chmod 600 {path}"):
        load_keyring(path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o664], ids=oct)
def test_a_file_others_may_read_is_refused(tmp_path: Path, keyring: Keyring, mode: int) -> None:
    """A copy made with the usual umask (0644) gives every key to the machine's other
    users: refused with the mode and the chmod that fixes it (issue 9.7, D-43)."""
    path = tmp_path / "keyring.json"
    save_keyring(keyring, path)
    path.chmod(mode)
    with pytest.raises(KeyringError, match=f"read by other users.*{mode:04o}.*chmod 600 {path}"):
        load_keyring(path)


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o440, 0o444], ids=oct)
def test_a_private_or_read_only_file_loads(tmp_path: Path, keyring: Keyring, mode: int) -> None:
    """Private files and secrets mounted read-only load as before."""
    path = tmp_path / "keyring.json"
    save_keyring(keyring, path)
    path.chmod(mode)
    assert load_keyring(path) == keyring


def test_a_missing_file_is_refused_with_the_path(tmp_path: Path) -> None:
    """No keyring at the path: the message names it and says to generate or restore one."""
    path = tmp_path / "absent.json"
    with pytest.raises(KeyringError, match=f"no keyring at {path}; generate one.*restore"):
        load_keyring(path)


def test_a_directory_is_refused_as_unreadable(tmp_path: Path) -> None:
    """A directory where the file should be cannot be read: the message names the path."""
    with pytest.raises(KeyringError, match=f"Cannot read the keyring {tmp_path}"):
        load_keyring(tmp_path)


def test_an_unreadable_file_is_refused_with_the_path(
    tmp_path: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A keyring the adapter's user may not read is refused, naming the path and the modes."""
    path = tmp_path / "keyring.json"
    save_keyring(keyring, path)

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        # Simulated: the tests may run as root, who reads a file of any mode.
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(
        KeyringError, match=f"Cannot read the keyring {path} .Permission denied.*0600"
    ):
        load_keyring(path)


MALFORMED: list[tuple[str, Any, str]] = [
    ("not-json", "{keys: [", "is not JSON"),
    ("not-an-object", [], "not in the format substreg-keyring/1"),
    ("wrong-format", {"format": "substreg-keyring/2", "keys": []}, "not in the format"),
    ("no-format", {"keys": []}, "not in the format"),
    ("keys-not-a-list", {"format": KEYRING_FORMAT, "keys": {}}, "not in the format"),
    ("extra-field", {"format": KEYRING_FORMAT, "keys": [], "x": 1}, "not in the format"),
    (
        "key-not-an-object",
        {"format": KEYRING_FORMAT, "keys": ["k"]},
        "Key #1 .* exactly the fields",
    ),
    (
        "unknown-key-field",
        {"format": KEYRING_FORMAT, "keys": [_entry(secert=1)]},
        "exactly the fields",
    ),
    (
        "missing-key-field",
        {"format": KEYRING_FORMAT, "keys": [{"purpose": "wrap"}]},
        "exactly the fields",
    ),
    ("secret-not-base64", {"format": KEYRING_FORMAT, "keys": [_entry(secret="%%%")]}, "not base64"),
    ("secret-not-a-string", {"format": KEYRING_FORMAT, "keys": [_entry(secret=7)]}, "not base64"),
    (
        "secret-16-bytes",
        {"format": KEYRING_FORMAT, "keys": [_entry(secret=base64.b64encode(bytes(16)).decode())]},
        "secret has 16 bytes, not 32",
    ),
    ("purpose", {"format": KEYRING_FORMAT, "keys": [_entry(purpose="sign")]}, "purpose must be"),
    ("version-0", {"format": KEYRING_FORMAT, "keys": [_entry(version=0)]}, "version must be"),
    (
        "version-string",
        {"format": KEYRING_FORMAT, "keys": [_entry(version="1")]},
        "version must be",
    ),
    ("state", {"format": KEYRING_FORMAT, "keys": [_entry(state="on")]}, "state must be"),
    ("created", {"format": KEYRING_FORMAT, "keys": [_entry(created=20250101)]}, "creation time"),
    (
        "destroyed-with-secret",
        {"format": KEYRING_FORMAT, "keys": [_entry(state="destroyed")]},
        "destroyed but still holds its secret",
    ),
    (
        "two-active",
        {"format": KEYRING_FORMAT, "keys": [_entry(), _entry(version=2)]},
        r"2 active wrap keys \(wrap-v1, wrap-v2\)",
    ),
    (
        "duplicate",
        {"format": KEYRING_FORMAT, "keys": [_entry(), _entry(state="retired")]},
        "holds the key wrap-v1 twice",
    ),
]


@pytest.mark.parametrize(
    ("document", "problem"),
    [(document, problem) for _, document, problem in MALFORMED],
    ids=[case for case, _, _ in MALFORMED],
)
def test_a_malformed_keyring_is_refused_naming_the_path(
    tmp_path: Path, document: Any, problem: str
) -> None:
    """Each malformed file is a KeyringError that names the file, the problem and the backup."""
    path = _write(tmp_path / "keyring.json", document)
    with pytest.raises(KeyringError, match=problem) as caught:
        load_keyring(path)
    message = str(caught.value)
    assert str(path) in message
    assert "restore it from the keyring backup" in message
    assert SECRET_B64 not in message


def test_parsing_names_the_source_and_fix_it_is_given() -> None:
    """keyring_from_json puts the caller's source and fix into its message."""
    with pytest.raises(KeyringError, match=r"The keyring in the vault is not JSON; ask the admin"):
        keyring_from_json(b"\xff", source="in the vault", fix="ask the admin")


def test_a_field_sealed_before_saving_opens_after_loading(tmp_path: Path, keyring: Keyring) -> None:
    """The whole chain survives a restart: derived KEK, key id, wrapped data key, sealed field."""
    master = keyring.active("wrap")
    dek = new_data_key()
    wrapped = wrap_data_key(wrap_key(master), key_id(master), dek)
    aad = field_aad("row-1", "code", 1)
    nonce, ciphertext = seal(dek, b"ABCDE12345678", aad)
    path = tmp_path / "keyring.json"
    save_keyring(keyring, path)

    loaded = resolve_key_id(load_keyring(path), key_id(master))

    unwrapped = unwrap_data_key(wrap_key(loaded), key_id(loaded), wrapped)
    assert open_sealed(unwrapped, nonce, ciphertext, aad) == b"ABCDE12345678"
