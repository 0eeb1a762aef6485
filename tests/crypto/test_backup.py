"""The passphrase-protected keyring backup: restore, then decrypt (adapter/crypto/backup.py)."""

from __future__ import annotations

import base64
import json
import unicodedata
from typing import Any

import pytest

import adapter.crypto.backup
from adapter.crypto import (
    BACKUP_FORMAT,
    Keyring,
    export_backup,
    import_backup,
    key_id,
    unwrap_data_key,
    wrap_data_key,
    wrap_key,
)
from adapter.errors import KeyringError

from .conftest import LATER

PASSPHRASE = "Grünkohl und Pinkel 2025"


@pytest.fixture
def backup(keyring: Keyring) -> bytes:
    """A backup of the shared keyring under PASSPHRASE."""
    return export_backup(keyring, PASSPHRASE)


def _edit(blob: bytes, change: Any) -> bytes:
    container = json.loads(blob)
    change(container)
    return json.dumps(container).encode()


def test_a_backup_restores_the_same_keyring(keyring: Keyring) -> None:
    """import_backup(export_backup(k, p), p) == k, with rotated and retired keys too."""
    ring = keyring.rotated("wrap", LATER).with_state("index", 1, "retired")
    assert import_backup(export_backup(ring, PASSPHRASE), PASSPHRASE) == ring


def test_a_restored_keyring_decrypts_what_the_original_wrapped(keyring: Keyring) -> None:
    """The backup procedure end to end: wrap a data key, lose the keyring, restore, unwrap."""
    master = keyring.active("wrap")
    dek = bytes(range(32))
    wrapped = wrap_data_key(wrap_key(master), key_id(master), dek)
    blob = export_backup(keyring, PASSPHRASE)

    restored = import_backup(blob, PASSPHRASE).active("wrap")

    assert unwrap_data_key(wrap_key(restored), key_id(restored), wrapped) == dek


def test_the_container_describes_itself(backup: bytes) -> None:
    """The backup is JSON naming its format, scrypt and its parameters, salt and nonce."""
    container = json.loads(backup)
    assert container["format"] == BACKUP_FORMAT == "substreg-keyring-backup/1"
    kdf = container["kdf"]
    assert (kdf["name"], kdf["n"], kdf["r"], kdf["p"]) == ("scrypt", 2**15, 8, 1)
    assert len(base64.b64decode(kdf["salt"])) == 16
    assert len(base64.b64decode(container["nonce"])) == 12
    assert set(container) == {"format", "kdf", "nonce", "ciphertext"}


def test_the_backup_holds_no_secret_in_clear(keyring: Keyring, backup: bytes) -> None:
    """No master secret appears in the backup, raw, in hex or in base64."""
    for key in keyring.keys:
        assert key.secret not in backup
        assert key.secret.hex().encode() not in backup
        assert base64.b64encode(key.secret) not in backup


def test_two_backups_of_one_keyring_differ(keyring: Keyring, backup: bytes) -> None:
    """Each export draws a new salt and nonce."""
    again = json.loads(export_backup(keyring, PASSPHRASE))
    first = json.loads(backup)
    assert first["kdf"]["salt"] != again["kdf"]["salt"]
    assert first["nonce"] != again["nonce"]


def test_a_wrong_passphrase_is_a_keyring_error(backup: bytes) -> None:
    """The wrong passphrase opens nothing and says so."""
    with pytest.raises(KeyringError, match="passphrase is wrong, or the backup was altered"):
        import_backup(backup, PASSPHRASE + "!")


def test_a_decomposed_passphrase_opens_a_composed_one(backup: bytes) -> None:
    """The passphrase is NFC-normalised: ü typed as u plus diaeresis still opens the backup."""
    decomposed = unicodedata.normalize("NFD", PASSPHRASE)
    assert decomposed != PASSPHRASE
    assert import_backup(backup, decomposed).keys


def _flip_b64(value: str) -> str:
    data = bytearray(base64.b64decode(value))
    data[0] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


TAMPERED: list[tuple[str, Any]] = [
    ("ciphertext", lambda c: c.update(ciphertext=_flip_b64(c["ciphertext"]))),
    ("nonce", lambda c: c.update(nonce=_flip_b64(c["nonce"]))),
    ("salt", lambda c: c["kdf"].update(salt=_flip_b64(c["kdf"]["salt"]))),
    ("scrypt-n", lambda c: c["kdf"].update(n=2**14)),
]


@pytest.mark.parametrize("change", [c for _, c in TAMPERED], ids=[i for i, _ in TAMPERED])
def test_a_tampered_backup_is_a_keyring_error(backup: bytes, change: Any) -> None:
    """Altered ciphertext, nonce, salt or scrypt parameters fail authentication."""
    with pytest.raises(KeyringError, match="passphrase is wrong, or the backup was altered"):
        import_backup(_edit(backup, change), PASSPHRASE)


MALFORMED: list[tuple[str, Any, str]] = [
    ("not-json", None, "it is not JSON"),
    ("other-format", lambda c: c.update(format="substreg-keyring/1"), "its format is not"),
    ("missing-field", lambda c: c.pop("nonce"), "exactly the fields"),
    ("extra-field", lambda c: c.update(hint="pw"), "exactly the fields"),
    ("other-kdf", lambda c: c["kdf"].update(name="pbkdf2"), "must be scrypt"),
    ("kdf-not-object", lambda c: c.update(kdf="scrypt"), "its kdf needs exactly"),
    ("n-not-power-of-two", lambda c: c["kdf"].update(n=30000), "must be scrypt"),
    ("n-too-small", lambda c: c["kdf"].update(n=2**10), "must be scrypt"),
    ("memory-too-large", lambda c: c["kdf"].update(n=2**20, r=8), "must be scrypt"),
    ("r-bool", lambda c: c["kdf"].update(r=True), "must be scrypt"),
    ("p-too-large", lambda c: c["kdf"].update(p=64), "must be scrypt"),
    ("salt-short", lambda c: c["kdf"].update(salt="AAAA"), "salt has 3 bytes, not 16"),
    ("nonce-not-base64", lambda c: c.update(nonce="%%"), "nonce is not base64"),
    ("ciphertext-not-a-string", lambda c: c.update(ciphertext=5), "ciphertext is not base64"),
]


@pytest.mark.parametrize(
    ("change", "problem"), [(c, p) for _, c, p in MALFORMED], ids=[i for i, _, _ in MALFORMED]
)
def test_a_malformed_backup_is_refused_before_scrypt_runs(
    backup: bytes, change: Any, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A malformed container is a KeyringError naming the problem, raised before scrypt runs."""
    blob = b"not json at all" if change is None else _edit(backup, change)

    def no_scrypt(**kwargs: object) -> None:
        pytest.fail("scrypt ran on a malformed backup")

    monkeypatch.setattr(adapter.crypto.backup, "Scrypt", no_scrypt)
    with pytest.raises(
        KeyringError, match=f"not a keyring backup in the format {BACKUP_FORMAT}: .*{problem}"
    ):
        import_backup(blob, PASSPHRASE)


@pytest.mark.parametrize("passphrase", ["", "short", "elevenchars"], ids=["empty", "5", "11"])
def test_a_passphrase_under_12_characters_is_refused(keyring: Keyring, passphrase: str) -> None:
    """Export and import refuse a passphrase shorter than 12 characters with a sentence."""
    with pytest.raises(ValueError, match="at least 12 characters; choose a longer one"):
        export_backup(keyring, passphrase)
    with pytest.raises(ValueError, match="at least 12 characters"):
        import_backup(b"{}", passphrase)


def test_twelve_characters_are_enough(keyring: Keyring) -> None:
    """A passphrase of exactly 12 characters is accepted."""
    assert import_backup(export_backup(keyring, "twelve chars"), "twelve chars") == keyring
