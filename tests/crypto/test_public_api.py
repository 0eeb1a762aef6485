"""The public face of adapter.crypto: an honest __all__, one exception tree, one import site."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import adapter
import adapter.crypto
from adapter.errors import CryptoError, DecryptionError, KeyringError, UnknownKeyError


def _submodules() -> list[ModuleType]:
    return [
        importlib.import_module(f"adapter.crypto.{info.name}")
        for info in pkgutil.iter_modules(adapter.crypto.__path__)
    ]


def _defined_public_names(module: ModuleType) -> set[str]:
    """Public classes and functions defined in `module`, and its annotated constants and aliases."""
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    }
    annotated = {
        name for name in getattr(module, "__annotations__", {}) if not name.startswith("_")
    }
    return defined | annotated


def test_every_name_in_all_exists() -> None:
    """Each name in adapter.crypto.__all__ can be imported from the package."""
    missing = [name for name in adapter.crypto.__all__ if not hasattr(adapter.crypto, name)]
    assert missing == []
    assert len(set(adapter.crypto.__all__)) == len(adapter.crypto.__all__)


def test_nothing_public_is_missing_from_all() -> None:
    """Every public name a submodule defines or lists in __all__ is re-exported by the package."""
    exported = set(adapter.crypto.__all__)
    for module in _submodules():
        assert _defined_public_names(module) <= exported, module.__name__
        assert set(module.__all__) <= exported, module.__name__
        assert _defined_public_names(module) <= set(module.__all__), module.__name__


def test_the_package_exports_the_interface_the_store_is_built_against() -> None:
    """The names the database layer relies on are all there."""
    expected = {
        "Keyring", "MasterKey", "Purpose", "KeyState", "generate_keyring", "load_keyring",
        "save_keyring", "index_key", "wrap_key", "audit_signing_key", "key_id", "blind_index",
        "new_data_key", "wrap_data_key", "unwrap_data_key", "field_aad", "seal", "open_sealed",
        "public_key_bytes", "sign", "verify", "export_backup", "import_backup", "CryptoError",
        "KeyringError", "UnknownKeyError", "DecryptionError",
    }  # fmt: skip
    assert expected <= set(adapter.crypto.__all__)


def test_every_error_is_a_crypto_error() -> None:
    """The three specific errors share the CryptoError base and are distinct from one another."""
    for error in (KeyringError, UnknownKeyError, DecryptionError):
        assert issubclass(error, CryptoError)
    assert not issubclass(UnknownKeyError, KeyringError)
    assert not issubclass(DecryptionError, KeyringError)
    assert issubclass(CryptoError, Exception)


def test_only_adapter_crypto_imports_cryptography() -> None:
    """`cryptography` is imported nowhere in adapter/ outside adapter/crypto/."""
    root = Path(adapter.__file__).parent
    pattern = re.compile(r"^\s*(from|import)\s+cryptography\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "crypto" not in path.relative_to(root).parts[:1]
        and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
