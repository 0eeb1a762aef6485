"""The pseudonymised patient mapping: which code was reported for which patient.

A row's id is random. The EHR patient reference is kept only as an HMAC blind index
(`patient_index`, one row per index-key version) and, for re-identification and
re-indexing, sealed under the row's own data key, as are the codes reported. A
stolen database without the keyring therefore names nobody and confirms no guess.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from sqlalchemy import Connection, and_, bindparam, delete, or_, select, update

from adapter.errors import ConcurrentUpdateError
from adapter.store.database import insert_unless_present
from adapter.store.keys import KeyStore
from adapter.store.schema import (
    patient_archive,
    patient_index,
    patient_mapping,
    patient_state,
    resource_seen,
)

REFERENCE_FORMAT = "fhir-patient"
_ROW_FIELDS = (
    "status",
    "first_use",
    "last_use",
    "closed_on",
)  # versioned by its prefix (PRIVACY.md)
SUBJECT, _CODES = "subject", "codes"


def canonical_reference(base_url: str, patient_id: str) -> str:
    """`fhir-patient|<base>|<id>`: NFC, lower-case scheme and host, no trailing slash."""
    base = unicodedata.normalize("NFC", base_url.strip()).rstrip("/")
    parts = urlsplit(base)
    if parts.scheme and parts.netloc:
        base = urlunsplit(
            (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", "")
        )
    return f"{REFERENCE_FORMAT}|{base}|{unicodedata.normalize('NFC', patient_id.strip())}"


@dataclass(frozen=True, slots=True)
class MappingRow:
    mapping_id: str
    dek_id: str
    status: str
    first_use: date | None
    last_use: date | None
    closed_on: date | None
    row_version: int


def mapping_row(row: Any) -> MappingRow:
    """A `patient_mapping` row's clear columns."""
    return MappingRow(
        row.mapping_id,
        row.dek_id,
        row.status,
        row.first_use,
        row.last_use,
        row.closed_on,
        row.row_version,
    )


class PatientMappings:
    def __init__(self, connection: Connection, keys: KeyStore, now: datetime) -> None:
        self.connection = connection
        self.keys = keys
        self.now = now

    # -- lookup -----------------------------------------------------------------------

    def find(self, reference: str) -> MappingRow | None:
        """The row of a reference: one query over every usable index version; a hit under
        an old version is re-indexed under the active one in the same transaction."""
        indexes = self.keys.blind(reference)
        hits = self.connection.execute(
            select(patient_index.c.mapping_id, patient_index.c.idx_ver).where(
                or_(
                    *(
                        and_(patient_index.c.subject_idx == idx, patient_index.c.idx_ver == ver)
                        for ver, idx in indexes
                    )
                )
            )
        ).all()
        if not hits:
            return None
        mapping_id = hits[0].mapping_id
        active_version, _ = self.keys.active_index()
        if all(hit.idx_ver != active_version for hit in hits):
            self._reindex(mapping_id, reference)
        return self.get(mapping_id)

    def find_many(self, references: list[str]) -> dict[str, MappingRow]:
        """The rows of many references at once (a sync's patients): one query for the
        index, one for the rows; old-version hits are re-indexed as in `find`."""
        wanted = {(ver, idx): ref for ref in references for ver, idx in self.keys.blind(ref)}
        hits: dict[str, list[tuple[str, int]]] = {}
        pairs = list(wanted)
        for start in range(0, len(pairs), 300):
            chunk = pairs[start : start + 300]
            rows = self.connection.execute(
                select(
                    patient_index.c.subject_idx, patient_index.c.idx_ver, patient_index.c.mapping_id
                ).where(patient_index.c.subject_idx.in_([idx for _, idx in chunk]))
            )
            for row in rows:
                ref = wanted.get((row.idx_ver, row.subject_idx))
                if ref is not None:
                    hits.setdefault(ref, []).append((row.mapping_id, row.idx_ver))
        active_version, _ = self.keys.active_index()
        for ref, found in hits.items():
            if all(ver != active_version for _, ver in found):
                self._reindex(found[0][0], ref)
        rows_by_id = self.get_many([found[0][0] for found in hits.values()])
        return {ref: rows_by_id[found[0][0]] for ref, found in hits.items()}

    def get(self, mapping_id: str) -> MappingRow:
        return self.get_many([mapping_id])[mapping_id]

    def get_many(self, mapping_ids: list[str]) -> dict[str, MappingRow]:
        found: dict[str, MappingRow] = {}
        for start in range(0, len(mapping_ids), 500):
            rows = self.connection.execute(
                select(patient_mapping).where(
                    patient_mapping.c.mapping_id.in_(mapping_ids[start : start + 500])
                )
            )
            for row in rows:
                found[row.mapping_id] = mapping_row(row)
        missing = set(mapping_ids) - set(found)
        if missing:
            msg = f"no mapping row {sorted(missing)[0]}"
            raise KeyError(msg)
        return found

    def find_or_create(
        self, reference: str, *, known: MappingRow | None = None, looked_up: bool = False
    ) -> tuple[MappingRow, bool]:
        """The row of a reference, and whether this call created it (`looked_up`: the
        caller searched already, with `find_many`, and found `known`)."""
        found = known if looked_up else self.find(reference)
        if found is not None:
            return found, False
        mapping_id = str(uuid.uuid4())
        dek_id = self.keys.create_data_key("patient")
        subject = self.keys.seal(dek_id, mapping_id, SUBJECT, reference.encode())
        self.connection.execute(
            patient_mapping.insert().values(
                mapping_id=mapping_id,
                dek_id=dek_id,
                subject_nonce=subject.nonce,
                subject_ct=subject.ct,
                status="active",
                row_version=1,
                created_at=self.now,
                updated_at=self.now,
            )
        )
        version, idx = self.keys.active_blind(reference)
        inserted = insert_unless_present(
            self.connection,
            patient_index,
            subject_idx=idx,
            idx_ver=version,
            mapping_id=mapping_id,
        )
        if not inserted:
            # A parallel run created this patient's row first: theirs is the one.
            self.connection.execute(
                delete(patient_mapping).where(patient_mapping.c.mapping_id == mapping_id)
            )
            self.keys.destroy_data_key(dek_id)
            found = self.find(reference)
            if found is None:
                raise ConcurrentUpdateError(mapping_id)
            return found, False
        return self.get(mapping_id), True

    def add_alias(self, mapping: MappingRow, reference: str) -> None:
        """Another EHR reference of the same person (a merge) points to the same row."""
        version, idx = self.keys.active_blind(reference)
        insert_unless_present(
            self.connection,
            patient_index,
            subject_idx=idx,
            idx_ver=version,
            mapping_id=mapping.mapping_id,
        )

    # -- sealed fields ----------------------------------------------------------------

    def reference_of(self, mapping: MappingRow) -> str:
        row = self.connection.execute(
            select(patient_mapping.c.subject_nonce, patient_mapping.c.subject_ct).where(
                patient_mapping.c.mapping_id == mapping.mapping_id
            )
        ).one()
        plain = self.keys.open(
            mapping.dek_id, mapping.mapping_id, SUBJECT, row.subject_nonce, row.subject_ct
        )
        return plain.decode()

    def codes_of(self, mapping: MappingRow) -> list[str]:
        """Every code this patient was reported under, latest last (R-CODE-8, 004 §10)."""
        row = self.connection.execute(
            select(patient_mapping.c.codes_nonce, patient_mapping.c.codes_ct).where(
                patient_mapping.c.mapping_id == mapping.mapping_id
            )
        ).one()
        if row.codes_ct is None:
            self.keys.data_key(mapping.dek_id)  # a shredded row has no codes to give: fail closed
            return []
        plain = self.keys.open(
            mapping.dek_id, mapping.mapping_id, _CODES, row.codes_nonce, row.codes_ct
        )
        codes: list[str] = orjson.loads(plain)
        return codes

    def record_use(self, mapping: MappingRow, **use: Any) -> MappingRow:
        """`use_values` applied to one row at once (sync gathers many: `update_many`)."""
        return self._update(mapping, self.use_values(mapping, **use))

    def use_values(
        self,
        mapping: MappingRow,
        *,
        codes: tuple[str, ...] = (),
        first: date | None = None,
        last: date | None = None,
        status: str | None = None,
        closed_on: date | None = None,
    ) -> dict[str, object]:
        """The columns a run changes: the codes reported (each kept once, latest last), the
        use dates, and whether the patient's treatment is open."""
        values: dict[str, object] = {}
        if codes:
            held = self.codes_of(mapping)
            added = [c for c in dict.fromkeys(codes) if c not in held]
            if added:
                sealed = self.keys.seal(
                    mapping.dek_id, mapping.mapping_id, _CODES, orjson.dumps([*held, *added])
                )
                values.update(codes_nonce=sealed.nonce, codes_ct=sealed.ct)
        if first is not None and (mapping.first_use is None or first < mapping.first_use):
            values["first_use"] = first
        if last is not None and (mapping.last_use is None or last > mapping.last_use):
            values["last_use"] = last
        if status is not None and (mapping.status, mapping.closed_on) != (status, closed_on):
            values.update(status=status, closed_on=closed_on)
        return values

    def update_many(self, changes: list[tuple[MappingRow, dict[str, object]]]) -> None:
        """Apply many rows' changes in one statement per set of columns, each guarded by
        its row version (optimistic locking, as `_update`)."""
        by_columns: dict[tuple[str, ...], list[tuple[MappingRow, dict[str, object]]]] = {}
        for mapping, values in changes:
            if values:
                by_columns.setdefault(tuple(sorted(values)), []).append((mapping, values))
        for columns, group in by_columns.items():
            statement = (
                update(patient_mapping)
                .where(patient_mapping.c.mapping_id == bindparam("b_id"))
                .where(patient_mapping.c.row_version == bindparam("b_version"))
                .values(
                    {
                        **{c: bindparam(f"b_{c}") for c in columns},
                        "row_version": bindparam("b_next"),
                        "updated_at": self.now,
                    }
                )
            )
            params = [
                {
                    "b_id": m.mapping_id,
                    "b_version": m.row_version,
                    "b_next": m.row_version + 1,
                    **{f"b_{c}": v[c] for c in columns},
                }
                for m, v in group
            ]
            result = self.connection.execute(statement, params)
            if self.connection.dialect.supports_sane_multi_rowcount and result.rowcount != len(
                group
            ):
                raise ConcurrentUpdateError(group[0][0].mapping_id)

    def _update(self, mapping: MappingRow, values: dict[str, object]) -> MappingRow:
        if not values:
            return mapping
        version = mapping.row_version + 1
        result = self.connection.execute(
            update(patient_mapping)
            .where(patient_mapping.c.mapping_id == mapping.mapping_id)
            .where(patient_mapping.c.row_version == mapping.row_version)
            .values(**values, row_version=version, updated_at=self.now)
        )
        if result.rowcount != 1:
            raise ConcurrentUpdateError(mapping.mapping_id)
        kept = {k: v for k, v in values.items() if k in _ROW_FIELDS}
        return replace(mapping, row_version=version, **kept)  # type: ignore[arg-type]

    # -- index-key rotation -------------------------------------------------------------

    def _reindex(self, mapping_id: str, reference: str) -> None:
        """Index `reference` under the active version and drop its own old-version rows;
        the row's other references (aliases) keep theirs until they are looked up."""
        version, idx = self.keys.active_blind(reference)
        insert_unless_present(
            self.connection, patient_index, subject_idx=idx, idx_ver=version, mapping_id=mapping_id
        )
        stale = [(ver, old) for ver, old in self.keys.blind(reference) if ver != version]
        if stale:
            self.connection.execute(
                delete(patient_index)
                .where(patient_index.c.mapping_id == mapping_id)
                .where(
                    or_(
                        *(
                            and_(patient_index.c.subject_idx == old, patient_index.c.idx_ver == ver)
                            for ver, old in stale
                        )
                    )
                )
            )

    def migrate_index(self) -> int:
        """Batch migration: re-index every row still indexed under an old version.

        The sealed reference is decrypted, so this needs no EHR patient list; lookups
        keep working throughout (dual lookup), and nothing is lost on an interruption.
        """
        version, _ = self.keys.active_index()
        stale = self.connection.execute(
            select(patient_index.c.mapping_id).where(patient_index.c.idx_ver != version).distinct()
        ).all()
        for row in stale:
            mapping = self.get(row.mapping_id)
            if mapping.status == "shredded":
                continue
            self._reindex(mapping.mapping_id, self.reference_of(mapping))
        # resource_seen is keyed by resources, whose ids are not kept: its old-version rows
        # move as the resources are read again (sync), and the old key stays until then.
        return len(stale)

    def rows_indexed_under(self, version: int) -> int:
        return len(
            self.connection.execute(
                select(patient_index.c.mapping_id).where(patient_index.c.idx_ver == version)
            ).all()
        )

    # -- retention ----------------------------------------------------------------------

    def closed_before(self, day: date) -> list[MappingRow]:
        rows = self.connection.execute(
            select(patient_mapping.c.mapping_id)
            .where(patient_mapping.c.status == "closed")
            .where(patient_mapping.c.closed_on < day)
        ).all()
        return [self.get(row.mapping_id) for row in rows]

    def shred(self, mapping: MappingRow) -> None:
        """Crypto-shredding: the data key goes, so do the index rows and stored facts."""
        self.keys.destroy_data_key(mapping.dek_id)
        for table in (patient_index, patient_state, patient_archive, resource_seen):
            self.connection.execute(delete(table).where(table.c.mapping_id == mapping.mapping_id))
        self._update(
            mapping,
            {
                "status": "shredded",
                "subject_nonce": None,
                "subject_ct": None,
                "codes_nonce": None,
                "codes_ct": None,
            },
        )

    def readable(self) -> list[MappingRow]:
        rows = self.connection.execute(
            select(patient_mapping.c.mapping_id).where(patient_mapping.c.status != "shredded")
        ).all()
        return [self.get(row.mapping_id) for row in rows]
