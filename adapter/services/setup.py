"""Setting up and keeping the keys: `substreg init`, `keys rotate|migrate-index|status`,
`keys backup|restore` (PRIVACY.md "Keys", "Lookup, rotation, re-identification")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from adapter.crypto import (
    Keyring,
    Purpose,
    export_backup,
    generate_keyring,
    import_backup,
    key_id,
    keyring_to_json,
    load_keyring,
    save_keyring,
)
from adapter.errors import KeyringError, SetupError
from adapter.services.fhir_index import migrate_index_in
from adapter.settings.environment import Settings
from adapter.settings.files import write_private
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace


@dataclass(frozen=True, slots=True)
class InitResult:
    keyring_path: Path
    keyring_created: bool
    revision: str
    key_ids: tuple[str, ...]
    # Ledger rows without a seal that init did not seal: changed or added in SQL (D-44).
    not_sealed: tuple[str, ...] = ()


def init(store: Store, settings: Settings, actor: Actor, now: datetime) -> InitResult:
    """Create (or upgrade) the schema and, unless one exists, the keyring (mode 600)."""
    created = False
    if settings.keyring_from_env and not settings.keyring_path.exists():
        msg = (
            f"SUBSTREG_KEYRING_FILE names {settings.keyring_path}, which does not exist: "
            "mount the keyring there, or unset it to create one in SUBSTREG_HOME"
        )
        raise SetupError(msg)
    store.database.create()  # before the keyring: a database that cannot be made leaves none
    if not settings.keyring_path.exists():
        _refuse_new_keys_for_used_database(store, settings.keyring_path)
        save_keyring(generate_keyring(now.isoformat()), settings.keyring_path)
        created = True
    keyring = load_keyring(settings.keyring_path)
    store.database.secure()

    def record(space: Workspace) -> tuple[tuple[str, ...], tuple[str, ...]]:
        space.ledger.practice_key()
        ids = tuple(key_id(k) for k in keyring.keys if k.state != "destroyed")
        # Rows written before revision 0004 get their seal now, once; rows changed or
        # added in SQL are not sealed over (D-44).
        sealed, refused = space.ledger.seal_unsealed()
        space.audit.append(
            actor,
            "init",
            details={
                "schema": store.database.schema_version(),
                "keyring_created": created,
                **({"ledger_rows_sealed": sealed} if sealed else {}),
                **({"ledger_rows_not_sealed": len(refused)} if refused else {}),
            },
        )
        return ids, refused

    ids, refused = store.run(actor, record)
    return InitResult(settings.keyring_path, created, store.database.schema_version(), ids, refused)


def _refuse_new_keys_for_used_database(store: Store, keyring_path: Path) -> None:
    """A database that holds keys already needs its own keyring back, never a new one:
    data under the lost keys would be unreadable and new data under new ones confusing."""
    used = store.keys_registered()
    if used:
        msg = (
            f"the database already holds data under {used} key(s) and the keyring "
            f"{keyring_path} is missing: restore it (`substreg keys restore FILE`); "
            "init does not make new keys for a database in use"
        )
        raise SetupError(msg)


@dataclass(frozen=True, slots=True)
class RotationResult:
    purpose: Purpose
    new_key_id: str
    rewrapped: int = 0
    reindexed: int = 0
    retired: tuple[str, ...] = ()


def rotate(
    store: Store,
    settings: Settings,
    actor: Actor,
    now: datetime,
    purpose: Purpose,
    *,
    migrate: bool = True,
) -> RotationResult:
    """A new active key of `purpose`; nothing is lost (PRIVACY.md):

    - wrap: every data key is wrapped again under the new key (ciphertexts stay), then
      the old key is retired;
    - index: lookups try both versions and re-index what they find (lazy); with
      `migrate` every row is re-indexed now, and the old version retired when none uses it;
    - audit: new checkpoints are signed with the new key; the old public key stays in
      the key registry, so old checkpoints still verify.
    """
    _writable(settings)
    rotated = load_keyring(settings.keyring_path).rotated(purpose, now.isoformat())
    save_keyring(rotated, settings.keyring_path)  # first: the database may now use it
    new_id = key_id(rotated.active(purpose))

    def move(space: Workspace) -> RotationResult:
        rewrapped = space.keys.rewrap_all() if purpose == "wrap" else 0
        reindexed = _reindex_all(space) if purpose == "index" and migrate else 0
        space.audit.append(
            actor,
            "keys.rotate",
            details={
                "purpose": purpose,
                "key_id": new_id,
                "rewrapped": rewrapped,
                "reindexed": reindexed,
            },
        )
        return RotationResult(purpose, new_id, rewrapped, reindexed)

    result = store.run(actor, move)
    retired = _retire_unused(store, settings, actor, purpose)
    return RotationResult(purpose, new_id, result.rewrapped, result.reindexed, retired)


def migrate_index(store: Store, settings: Settings, actor: Actor) -> RotationResult:
    """The batch half of an index-key rotation: re-index every row, retire old versions."""

    def move(space: Workspace) -> int:
        count = _reindex_all(space)
        space.audit.append(actor, "keys.migrate-index", details={"reindexed": count})
        return count

    count = store.run(actor, move)
    keyring = load_keyring(settings.keyring_path)
    retired = (
        _retire_unused(store, settings, actor, "index") if not settings.keyring_from_env else ()
    )
    return RotationResult(
        "index", key_id(keyring.active("index")), reindexed=count, retired=retired
    )


def _reindex_all(space: Workspace) -> int:
    """Every row indexed under an old index key, indexed under the active one: patients
    (`patient_index`) and pushed resources (`fhir_resource`, `fhir_identifier_index`), in
    the one unit of work of the rotation."""
    return space.mappings.migrate_index() + migrate_index_in(space)


def _retire_unused(
    store: Store, settings: Settings, actor: Actor, purpose: Purpose
) -> tuple[str, ...]:
    """Old keys of `purpose` that no row uses any more become retired (secret kept)."""
    keyring = load_keyring(settings.keyring_path)
    old = [k for k in keyring.keys if k.purpose == purpose and k.state == "decrypt-only"]

    def unused(space: Workspace) -> list[int]:
        return [k.version for k in old if _rows_using(space, purpose, k.version, key_id(k)) == 0]

    versions = store.run(actor, unused)
    for version in versions:
        keyring = keyring.with_state(purpose, version, "retired")
    if versions:
        save_keyring(keyring, settings.keyring_path)
        store.run(
            actor,
            lambda space: space.audit.append(
                actor, "keys.retire", details={"purpose": purpose, "versions": versions}
            ),
        )
    return tuple(f"{purpose}-v{v}" for v in versions)


def _rows_using(space: Workspace, purpose: str, version: int, kid: str) -> int:
    indexed = sum(_index_rows(space, version)) if purpose == "index" else 0
    return space.keys.rows_under(purpose, version, kid, indexed)


def _index_rows(space: Workspace, version: int) -> tuple[int, int, int]:
    """Rows under index `version`: patients, pushed resources, and the marks of shredded
    treatments in `resource_seen` (D-81). The marks cannot be re-keyed (the resource ids
    are not kept), so they hold the key decrypt-only until sync reads them again and keeps
    them under the active key (D-182): a key
    retired under them would let an old export sent again report a shredded treatment
    (D-150)."""
    return (
        space.mappings.rows_indexed_under(version),
        space.resources.rows_indexed_under(version),
        space.facts.marks_indexed_under(version),
    )


@dataclass(frozen=True, slots=True)
class KeyStatus:
    key_id: str
    purpose: str
    version: int
    state: str
    rows: int
    # Of `rows`, for an index key: patients, pushed resources, marks of shredded treatments.
    index_rows: tuple[int, int, int] | None = None


def status(store: Store, actor: Actor) -> list[KeyStatus]:

    def read(space: Workspace) -> list[KeyStatus]:
        return [
            KeyStatus(
                k.key_id,
                k.purpose,
                k.version,
                k.state,
                _rows_using(space, k.purpose, k.version, k.key_id),
                _index_rows(space, k.version) if k.purpose == "index" else None,
            )
            for k in space.keys.registered()
        ]

    return store.run(actor, read)


def backup(store: Store, settings: Settings, actor: Actor, out: Path, passphrase: str) -> Path:
    """The keyring, encrypted under a passphrase (scrypt + AES-GCM), for an offline copy."""
    blob = export_backup(load_keyring(settings.keyring_path), passphrase)
    if out.exists():
        msg = f"{out} exists already; choose a new file for the backup"
        raise SetupError(msg)
    try:
        write_private(out, blob)
    except OSError as exc:
        msg = f"Cannot write the backup {out} ({exc.strerror or type(exc).__name__})"
        raise SetupError(msg) from None
    store.run(actor, lambda space: space.audit.append(actor, "keys.backup", details={}))
    return out


def restore(
    store: Store, settings: Settings, actor: Actor, now: datetime, source: Path, *, passphrase: str
) -> int:
    """Put a backed-up keyring in place, after checking it opens this database."""
    _writable(settings)
    try:
        keyring = import_backup(source.read_bytes(), passphrase)
    except OSError as exc:
        msg = f"{source}: cannot be read ({exc.strerror})"
        raise SetupError(msg) from None
    # First prove that the backup opens this database (every key it uses, same ids).
    proving = store.with_keyring(keyring)
    proving.run(actor, lambda space: space.audit.append(actor, "keys.restore", details={}))
    if settings.keyring_path.exists() and not _same(load_keyring(settings.keyring_path), keyring):
        aside = settings.keyring_path.with_suffix(f".replaced-{now:%Y%m%dT%H%M%S}.json")
        settings.keyring_path.replace(aside)  # kept, never overwritten: it may be needed
    save_keyring(keyring, settings.keyring_path)
    return len(keyring.keys)


def _same(a: Keyring, b: Keyring) -> bool:
    return keyring_to_json(a) == keyring_to_json(b)


def _writable(settings: Settings) -> None:
    if settings.keyring_from_env:
        msg = (
            "the keyring comes from SUBSTREG_KEYRING_FILE (a mounted secret), which this "
            "program does not rewrite: change keys on the host that holds it, then remount"
        )
        raise KeyringError(msg)
