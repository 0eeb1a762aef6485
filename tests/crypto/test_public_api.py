"""The public face of adapter.crypto: an honest __all__, one exception tree, one import site."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import adapter
import adapter.crypto
from adapter.errors import CryptoError, DecryptionError, KeyringError, UnknownKeyError


def _submodules(package: ModuleType = adapter.crypto) -> list[ModuleType]:
    """The modules of `package` (not its subpackages: each has an __all__ of its own)."""
    return [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if not info.ispkg
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


def test_the_envelope_subpackage_has_an_honest_all_of_its_own() -> None:
    """adapter.crypto.envelope (loaded only by the commands that seal or open, for
    asn1crypto) re-exports what its modules make public, and nothing it lacks."""
    envelope = importlib.import_module("adapter.crypto.envelope")
    exported = set(envelope.__all__)
    assert all(hasattr(envelope, name) for name in exported)
    assert len(exported) == len(envelope.__all__)
    public = {"keys", "recipient", "sealed"}  # the others are its inner workings
    for module in _submodules(envelope):
        assert _defined_public_names(module) <= set(module.__all__), module.__name__
        if module.__name__.rsplit(".", 1)[1] in public:
            assert set(module.__all__) <= exported, module.__name__


def test_adapter_crypto_does_not_load_the_envelope() -> None:
    """Importing adapter.crypto (every stateful command does) loads no asn1crypto."""
    code = "import sys, adapter.crypto; print(any(m.startswith('asn1crypto') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


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
    """`cryptography` and `asn1crypto` are imported nowhere in adapter/ outside adapter/crypto/."""
    root = Path(adapter.__file__).parent
    pattern = re.compile(r"^\s*(from|import)\s+(cryptography|asn1crypto)\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "crypto" not in path.relative_to(root).parts[:1]
        and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
