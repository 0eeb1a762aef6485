"""Keys, blind indexes, envelope encryption, signatures and keyring backups.

The only package of the adapter that imports `cryptography`. It takes bytes and
plain values and gives bytes back: no database, no environment, no clock (times are
passed in). Its errors are in the tree of adapter/errors.py.

The envelope of submissions to the register (CMS SignedData in AuthEnvelopedData, with
asn1crypto) is the subpackage `adapter.crypto.envelope`, with an `__all__` of its own; it
is not imported here, so only the commands that seal or open load asn1crypto.
"""

from __future__ import annotations

from adapter.crypto.api_keys import (
    API_KEY_PREFIX,
    NewKey,
    digest_of,
    matches,
    new_api_key,
    split_key,
)
from adapter.crypto.backup import (
    BACKUP_FORMAT,
    MIN_PASSPHRASE_LENGTH,
    export_backup,
    import_backup,
)
from adapter.crypto.blind_index import blind_index, mac, mac_matches
from adapter.crypto.derive import (
    audit_signing_key,
    document_signing_key,
    index_key,
    key_id,
    ledger_mac_key,
    parse_key_id,
    resolve_key_id,
    wrap_key,
)
from adapter.crypto.document_signing import (
    fingerprint,
    normal_fingerprint,
    sign_detached,
    verify_detached,
)
from adapter.crypto.keyring import (
    KEYRING_FORMAT,
    keyring_from_json,
    keyring_to_json,
    load_keyring,
    save_keyring,
)
from adapter.crypto.master_keys import (
    KEY_STATES,
    PURPOSES,
    SECRET_BYTES,
    Keyring,
    KeyState,
    MasterKey,
    Purpose,
    generate_keyring,
)
from adapter.crypto.sealing import (
    field_aad,
    new_data_key,
    open_sealed,
    rewrap_data_key,
    seal,
    unwrap_data_key,
    wrap_data_key,
)
from adapter.crypto.signing import public_key_bytes, sign, verify
from adapter.errors import CryptoError, DecryptionError, KeyringError, UnknownKeyError

__all__ = [
    "API_KEY_PREFIX",
    "BACKUP_FORMAT",
    "KEYRING_FORMAT",
    "KEY_STATES",
    "MIN_PASSPHRASE_LENGTH",
    "PURPOSES",
    "SECRET_BYTES",
    "CryptoError",
    "DecryptionError",
    "KeyState",
    "Keyring",
    "KeyringError",
    "MasterKey",
    "NewKey",
    "Purpose",
    "UnknownKeyError",
    "audit_signing_key",
    "blind_index",
    "digest_of",
    "document_signing_key",
    "export_backup",
    "field_aad",
    "fingerprint",
    "generate_keyring",
    "import_backup",
    "index_key",
    "key_id",
    "keyring_from_json",
    "keyring_to_json",
    "ledger_mac_key",
    "load_keyring",
    "mac",
    "mac_matches",
    "matches",
    "new_api_key",
    "new_data_key",
    "normal_fingerprint",
    "open_sealed",
    "parse_key_id",
    "public_key_bytes",
    "resolve_key_id",
    "rewrap_data_key",
    "save_keyring",
    "seal",
    "sign",
    "sign_detached",
    "split_key",
    "unwrap_data_key",
    "verify",
    "verify_detached",
    "wrap_data_key",
    "wrap_key",
]
