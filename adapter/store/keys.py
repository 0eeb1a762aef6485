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

from sqlalchemy import Connection, select, update

from adapter.crypto import (
    Keyring,
    MasterKey,
    audit_signing_key,
    blind_index,
    field_aad,
    index_key,
    key_id,
    new_data_key,
    open_sealed,
    public_key_bytes,
    seal,
    sign,
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
from adapter.store.schema import data_key, key_registry

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

    def __init__(self, connection: Connection, keyring: Keyring, now: datetime) -> None:
        self.connection = connection
        self.keyring = keyring
        self.now = now
        self._deks: dict[str, bytes] = {}
        self._index_keys: list[tuple[int, bytes]] | None = None
        self._active_index: tuple[int, bytes] | None = None
        self._wrap_keys: dict[str, bytes] = {}
        self._check_registry()
        self._register_new_keys()

    # -- registry ----------------------------------------------------------------------

    def _check_registry(self) -> None:
        rows = self.connection.execute(
            select(key_registry.c.key_id, key_registry.c.purpose, key_registry.c.version).where(
                key_registry.c.state.in_(_IN_USE)
            )
        ).all()
        mine = {key_id(k) for k in self.keyring.keys if k.state != "destroyed"}
        for row in rows:
            if row.key_id not in mine:
                msg = (
                    f"The keyring does not hold the key {row.key_id} that this database uses: "
                    "it is the wrong keyring or an old copy. Restore the keyring backup "
                    "(`substreg keys restore`); nothing was read or written."
                )
                raise KeyringError(msg)

    def _register_new_keys(self) -> None:
        """Record keys the registry has not seen, and mirror the keyring's states."""
        known = {
            row.key_id: row.state
            for row in self.connection.execute(select(key_registry.c.key_id, key_registry.c.state))
        }
        for master in self.keyring.keys:
            kid = key_id(master) if master.state != "destroyed" else None
            if kid is None:
                self._mark_destroyed(master)
                continue
            if kid not in known:
                self.connection.execute(
                    key_registry.insert().values(
                        key_id=kid,
                        purpose=master.purpose,
                        version=master.version,
                        algorithm=_ALGORITHMS[master.purpose],
                        state=master.state,
                        public_key=self._public_key(master),
                        created_at=self.now,
                        changed_at=self.now,
                    )
                )
            elif known[kid] != master.state:
                self.connection.execute(
                    update(key_registry)
                    .where(key_registry.c.key_id == kid)
                    .values(state=master.state, changed_at=self.now)
                )

    def _mark_destroyed(self, master: MasterKey) -> None:
        self.connection.execute(
            update(key_registry)
            .where(key_registry.c.purpose == master.purpose)
            .where(key_registry.c.version == master.version)
            .where(key_registry.c.state != "destroyed")
            .values(state="destroyed", changed_at=self.now)
        )

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
        self.connection.execute(
            data_key.insert().values(
                dek_id=dek_id,
                kek_id=kek_id,
                wrapped=wrap_data_key(wrap_key(master), kek_id, dek),
                owner=owner,
                created_at=self.now,
            )
        )
        self._deks[dek_id] = dek
        return dek_id

    def data_key(self, dek_id: str) -> bytes:
        cached = self._deks.get(dek_id)
        if cached is not None:
            return cached
        row = self.connection.execute(
            select(data_key.c.kek_id, data_key.c.wrapped).where(data_key.c.dek_id == dek_id)
        ).one_or_none()
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

    def preload(self, dek_ids: list[str]) -> None:
        """Unwrap many data keys with one query (a sync touches every live patient)."""
        missing = [d for d in set(dek_ids) if d not in self._deks]
        for start in range(0, len(missing), 500):
            rows = self.connection.execute(
                select(data_key.c.dek_id, data_key.c.kek_id, data_key.c.wrapped).where(
                    data_key.c.dek_id.in_(missing[start : start + 500])
                )
            )
            for row in rows:
                if row.wrapped is not None:
                    kek = self._kek(row.kek_id)
                    try:
                        self._deks[row.dek_id] = unwrap_data_key(kek, row.kek_id, row.wrapped)
                    except DecryptionError:
                        continue  # `data_key` names it when a row of it is read

    def destroy_data_key(self, dek_id: str) -> None:
        self.connection.execute(
            update(data_key)
            .where(data_key.c.dek_id == dek_id)
            .values(wrapped=None, destroyed_at=self.now)
        )
        self._deks.pop(dek_id, None)

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
        rows = self.connection.execute(
            select(data_key.c.dek_id, data_key.c.kek_id, data_key.c.wrapped)
            .where(data_key.c.wrapped.is_not(None))
            .where(data_key.c.kek_id != target_id)
        ).all()
        for row in rows:
            dek = unwrap_data_key(self._kek(row.kek_id), row.kek_id, row.wrapped)
            self.connection.execute(
                update(data_key)
                .where(data_key.c.dek_id == row.dek_id)
                .values(kek_id=target_id, wrapped=wrap_data_key(target_key, target_id, dek))
            )
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
        rows = self.connection.execute(
            select(key_registry.c.key_id, key_registry.c.version, key_registry.c.public_key)
            .where(key_registry.c.purpose == "audit")
            .where(key_registry.c.version.in_(destroyed))
        ).all()
        per_version = Counter(row.version for row in rows)
        for row in rows:
            if row.public_key is not None and per_version[row.version] == 1:
                trusted.setdefault(row.key_id, row.public_key)
        return trusted
