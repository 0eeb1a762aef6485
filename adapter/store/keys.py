"""The keyring bound to the database: key registry, data keys, sealed fields.

The keyring file holds the secrets; the `key_registry` table holds their ids
(`wrap-v2-1a2b3c4d5e6f`: the fingerprint names the secret without revealing it). On
opening, every key the database still uses must be in the keyring with the same
fingerprint, else nothing is read or written (fail closed: a wrong or partial keyring
stops the program with the fix, never a fall-back to clear text).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from adapter.crypto import (
    Keyring,
    MasterKey,
    audit_signing_key,
    blind_index,
    document_signing_key,
    field_aad,
    index_key,
    key_id,
    new_data_key,
    open_sealed,
    public_key_bytes,
    seal,
    sign,
    sign_detached,
    unwrap_data_key,
    wrap_data_key,
    wrap_key,
)
from adapter.errors import (
    DamagedDataError,
    DamagedRowError,
    DecryptionError,
    KeyringError,
    ShreddedError,
    UnknownKeyError,
)
from adapter.store.field_names import sealed_field_name
from adapter.store.rows import KeyRows, RegisteredKey

__all__ = ["DamagedDataError", "DamagedRowError", "KeyStore", "ShreddedError", "Signer"]

FIELD_SCHEMA = 1  # part of every sealed field's associated data
_ALGORITHMS = {"index": "HMAC-SHA256", "wrap": "AES-256-GCM-KW", "audit": "Ed25519"}
_IN_USE = ("active", "decrypt-only")


@dataclass(frozen=True, slots=True)
class Signer:
    """The active audit key: its id, and a function that signs with it."""

    key_id: str
    sign: Callable[[bytes], bytes]


@dataclass(frozen=True, slots=True)
class Sealed:
    nonce: bytes
    ct: bytes


class KeyStore:
    """Keys for one transaction: blind indexes, data keys (cached), sealing, signing."""

    def __init__(self, rows: KeyRows, keyring: Keyring, now: datetime) -> None:
        self.rows = rows
        self.keyring = keyring
        self.now = now
        self._deks: dict[str, bytes] = {}
        self._index_keys: list[tuple[int, bytes]] | None = None
        self._active_index: tuple[int, bytes] | None = None
        self._wrap_keys: dict[str, bytes] = {}
        registered = self.rows.registered()
        self._check_registry(registered)
        self._register_new_keys(registered)

    # -- registry ----------------------------------------------------------------------

    def _check_registry(self, registered: list[RegisteredKey]) -> None:
        mine = {key_id(k) for k in self.keyring.keys if k.state != "destroyed"}
        for row in registered:
            if row.state in _IN_USE and row.key_id not in mine:
                msg = (
                    f"The keyring does not hold the key {row.key_id} that this database uses: "
                    "it is the wrong keyring or an old copy. Restore the keyring backup "
                    "(`substreg keys restore`); nothing was read or written."
                )
                raise KeyringError(msg)

    def _register_new_keys(self, registered: list[RegisteredKey]) -> None:
        """Record keys the registry has not seen, and mirror the keyring's states."""
        known = {row.key_id: row.state for row in registered}
        for master in self.keyring.keys:
            kid = key_id(master) if master.state != "destroyed" else None
            if kid is None:
                self.rows.mark_destroyed(master.purpose, master.version, self.now)
                continue
            if kid not in known:
                key = RegisteredKey(
                    kid, master.purpose, master.version, master.state, self._public_key(master)
                )
                self.rows.register(key, _ALGORITHMS[master.purpose], self.now)
            elif known[kid] != master.state:
                self.rows.set_state(kid, master.state, self.now)

    def registered(self) -> list[RegisteredKey]:
        """The key registry, by purpose and version (ids and states: nothing secret)."""
        return sorted(self.rows.registered(), key=lambda k: (k.purpose, k.version, k.key_id))

    @staticmethod
    def _public_key(master: MasterKey) -> bytes | None:
        if master.purpose != "audit":
            return None
        return public_key_bytes(audit_signing_key(master))

    # -- blind index ------------------------------------------------------------------

    def index_versions(self) -> list[tuple[int, bytes]]:
        """(version, HMAC key) of every index key still looked up, newest first."""
        if self._index_keys is None:  # HKDF once per transaction, not once per lookup
            self._index_keys = [(k.version, index_key(k)) for k in self.keyring.usable("index")]
        return self._index_keys

    def active_index(self) -> tuple[int, bytes]:
        if self._active_index is None:
            master = self.keyring.active("index")
            self._active_index = (master.version, index_key(master))
        return self._active_index

    def active_blind(self, value: str) -> tuple[int, bytes]:
        version, key = self.active_index()
        return version, blind_index(key, value)

    def blind(self, value: str) -> list[tuple[int, bytes]]:
        """The blind index of `value` under every usable version, newest first."""
        return [(version, blind_index(key, value)) for version, key in self.index_versions()]

    # -- data keys ---------------------------------------------------------------------

    def create_data_key(self, owner: str) -> str:
        master = self.keyring.active("wrap")
        kek_id = key_id(master)
        dek, dek_id = new_data_key(), str(uuid.uuid4())
        wrapped = wrap_data_key(wrap_key(master), kek_id, dek)
        self.rows.add_data_key(dek_id, kek_id, wrapped, owner, self.now)
        self._deks[dek_id] = dek
        return dek_id

    def data_key(self, dek_id: str) -> bytes:
        cached = self._deks.get(dek_id)
        if cached is not None:
            return cached
        row = self.rows.data_keys([dek_id]).get(dek_id)
        if row is None:
            msg = (
                f"The data key {dek_id} that rows refer to is not in the database: it was "
                "deleted behind substreg's back or the database is damaged; restore a backup."
            )
            raise DamagedDataError(msg)
        if row.wrapped is None:
            msg = f"The data key {dek_id} was destroyed (retention): its rows cannot be read."
            raise ShreddedError(msg)
        try:
            dek = unwrap_data_key(self._kek(row.kek_id), row.kek_id, row.wrapped)
        except DecryptionError:
            msg = (
                f"The data key {dek_id} cannot be unwrapped: it was changed or damaged outside "
                "substreg, and with it every row it seals; restore a backup."
            )
            raise DamagedRowError(msg, row_id=dek_id, field="data key") from None
        self._deks[dek_id] = dek
        return dek

    def has_data_key(self, dek_id: str) -> bool:
        """Whether the row of the data key is there (destroyed or not)."""
        return dek_id in self.rows.data_keys([dek_id])

    def preload(self, dek_ids: list[str]) -> None:
        """Unwrap many data keys with one query (a sync touches every live patient)."""
        missing = [d for d in set(dek_ids) if d not in self._deks]
        for row in self.rows.data_keys(missing).values():
            if row.wrapped is not None:
                kek = self._kek(row.kek_id)
                try:
                    self._deks[row.dek_id] = unwrap_data_key(kek, row.kek_id, row.wrapped)
                except DecryptionError:
                    continue  # `data_key` names it when a row of it is read

    def destroy_data_key(self, dek_id: str) -> None:
        self.rows.destroy_data_key(dek_id, self.now)
        self._deks.pop(dek_id, None)

    def first_data_key_of(self, owner: str) -> str | None:
        """The oldest live data key of an owner (`practice`: the notices' key)."""
        return self.rows.first_live_key_of(owner)

    def rows_under(self, purpose: str, version: int, kid: str, index_rows: int) -> int:
        """How many rows still use a key (`keys status`): index rows (counted by the
        caller, which knows the index), live data keys under a wrapping key."""
        if purpose == "index":
            return index_rows
        if purpose == "wrap":
            return self.rows.count_wrapped_under(kid)
        return 0  # an old audit key signs nothing new; its public key stays registered

    def _kek(self, kek_id: str) -> bytes:
        """The wrapping key of `kek_id`, derived once per transaction."""
        kek = self._wrap_keys.get(kek_id)
        if kek is None:
            kek = self._wrap_keys[kek_id] = wrap_key(self._wrap_master(kek_id))
        return kek

    def _wrap_master(self, kek_id: str) -> MasterKey:
        for master in self.keyring.keys:
            if (
                master.purpose == "wrap"
                and master.state != "destroyed"
                and key_id(master) == kek_id
            ):
                return master
        msg = (
            f"The keyring has no wrapping key {kek_id}: restore the keyring backup that holds "
            "it; nothing was decrypted."
        )
        raise UnknownKeyError(msg)

    def rewrap_all(self) -> int:
        """Wrap every live data key under the active wrapping key; ciphertexts stay."""
        target = self.keyring.active("wrap")
        target_id, target_key = key_id(target), wrap_key(target)
        rows = self.rows.live_data_keys_not_under(target_id)
        for row in rows:
            assert row.wrapped is not None  # live
            dek = unwrap_data_key(self._kek(row.kek_id), row.kek_id, row.wrapped)
            self.rows.rewrap(row.dek_id, target_id, wrap_data_key(target_key, target_id, dek))
        return len(rows)

    # -- sealed fields -----------------------------------------------------------------

    def seal(self, dek_id: str, row_id: str, field: str, plaintext: bytes) -> Sealed:
        nonce, ct = seal(self.data_key(dek_id), plaintext, field_aad(row_id, field, FIELD_SCHEMA))
        return Sealed(nonce, ct)

    def open(self, dek_id: str, row_id: str, field: str, nonce: bytes, ct: bytes) -> bytes:
        key = self.data_key(dek_id)
        try:
            return open_sealed(key, nonce, ct, field_aad(row_id, field, FIELD_SCHEMA))
        except DecryptionError:
            name = sealed_field_name(row_id, field)
            msg = (
                f"{name[0].upper()}{name[1:]} cannot be decrypted: it was changed or damaged "
                "outside substreg."
            )
            raise DamagedRowError(msg, row_id=row_id, field=field) from None

    # -- audit signing -----------------------------------------------------------------

    def signer(self) -> Signer:
        master = self.keyring.active("audit")
        private = audit_signing_key(master)
        return Signer(key_id(master), lambda message: sign(private, message))

    def sign_document(self, payload: bytes) -> str:
        """A detached JWS of `payload` under the active audit key's document key (D-160)."""
        return sign_detached(document_signing_key(self.keyring.active("audit")), payload)

    def document_public_key(self) -> bytes:
        """The raw public key that `sign_document` signs under (its fingerprint is what a
        receiver confirms)."""
        return public_key_bytes(document_signing_key(self.keyring.active("audit")))

    def own_document_keys(self) -> list[bytes]:
        """The raw public keys of every document key this installation signed under: the
        active audit key's and each older one's the keyring still holds (a rotation keeps
        their secrets, D-230). A document exported before `keys rotate audit` is still
        this installation's own."""
        audit_keys = [
            k for k in self.keyring.keys if k.purpose == "audit" and k.state != "destroyed"
        ]
        return [public_key_bytes(document_signing_key(master)) for master in audit_keys]

    def public_keys(self) -> dict[str, bytes]:
        """The audit public keys that checkpoints are verified with, by key id.

        A key the keyring holds gives its public key from the keyring, not from the
        registry: a key written into the database behind the program's back (or a
        public key replaced there) must not make a rewritten log verify. Only for a key
        the keyring holds as destroyed (its secret is gone) is the registry's copy used,
        when the registry has exactly one row of that version; old checkpoints stay
        verifiable, and the newest is always signed by a key the keyring holds.
        """
        audit_keys = [k for k in self.keyring.keys if k.purpose == "audit"]
        trusted: dict[str, bytes] = {}
        for master in audit_keys:
            public = self._public_key(master) if master.state != "destroyed" else None
            if public is not None:
                trusted[key_id(master)] = public
        destroyed = {k.version for k in audit_keys if k.state == "destroyed"}
        rows = [
            row
            for row in self.rows.registered()
            if row.purpose == "audit" and row.version in destroyed
        ]
        per_version = Counter(row.version for row in rows)
        for row in rows:
            if row.public_key is not None and per_version[row.version] == 1:
                trusted.setdefault(row.key_id, row.public_key)
        return trusted
