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

from adapter.errors import ConcurrentUpdateError, DamagedDataError
from adapter.store.keys import KeyStore
from adapter.store.rows import MappingRows, Row

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


def mapping_row(row: Row) -> MappingRow:
    """A `patient_mapping` row's clear columns."""
    return MappingRow(
        row["mapping_id"],
        row["dek_id"],
        row["status"],
        row["first_use"],
        row["last_use"],
        row["closed_on"],
        row["row_version"],
    )


class PatientMappings:
    def __init__(self, rows: MappingRows, keys: KeyStore, now: datetime) -> None:
        self.rows = rows
        self.keys = keys
        self.now = now

    # -- lookup -----------------------------------------------------------------------

    def find(self, reference: str) -> MappingRow | None:
        """The row of a reference: one query over every usable index version; a hit under
        an old version is re-indexed under the active one in the same transaction."""
        hits = self.rows.index_hits(self.keys.blind(reference))
        if not hits:
            return None
        mapping_id = hits[0][0]
        active_version, _ = self.keys.active_index()
        if all(version != active_version for _, version, _ in hits):
            self._reindex(mapping_id, reference)
        return self.get(mapping_id)

    def find_many(self, references: list[str]) -> dict[str, MappingRow]:
        """The rows of many references at once (a sync's patients): one query for the
        index, one for the rows; old-version hits are re-indexed as in `find`."""
        wanted = {(ver, idx): ref for ref in references for ver, idx in self.keys.blind(ref)}
        hits: dict[str, list[tuple[str, int]]] = {}
        for mapping_id, ver, idx in self.rows.index_hits(list(wanted)):
            hits.setdefault(wanted[(ver, idx)], []).append((mapping_id, ver))
        active_version, _ = self.keys.active_index()
        for ref, found in hits.items():
            if all(ver != active_version for _, ver in found):
                self._reindex(found[0][0], ref)
        rows_by_id = self.get_many([found[0][0] for found in hits.values()])
        return {ref: rows_by_id[found[0][0]] for ref, found in hits.items()}

    def get(self, mapping_id: str) -> MappingRow:
        return self.get_many([mapping_id])[mapping_id]

    def get_many(self, mapping_ids: list[str]) -> dict[str, MappingRow]:
        found = {i: mapping_row(row) for i, row in self.rows.rows(mapping_ids).items()}
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
        self.rows.add(
            {
                "mapping_id": mapping_id,
                "dek_id": dek_id,
                "subject_nonce": subject.nonce,
                "subject_ct": subject.ct,
                "status": "active",
                "row_version": 1,
                "created_at": self.now,
                "updated_at": self.now,
            }
        )
        version, idx = self.keys.active_blind(reference)
        if not self.rows.add_index(idx, version, mapping_id):
            # A parallel run created this patient's row first: theirs is the one.
            self.rows.remove(mapping_id)
            self.keys.destroy_data_key(dek_id)
            found = self.find(reference)
            if found is None:
                raise ConcurrentUpdateError(mapping_id)
            return found, False
        return self.get(mapping_id), True

    def add_alias(self, mapping: MappingRow, reference: str) -> None:
        """Another EHR reference of the same person (a merge) points to the same row."""
        version, idx = self.keys.active_blind(reference)
        self.rows.add_index(idx, version, mapping.mapping_id)

    # -- sealed fields ----------------------------------------------------------------

    def _sealed(self, mapping: MappingRow) -> Row:
        row = self.rows.rows([mapping.mapping_id]).get(mapping.mapping_id)
        if row is None:
            msg = f"no mapping row {mapping.mapping_id}"
            raise KeyError(msg)
        return row

    def reference_of(self, mapping: MappingRow) -> str:
        row = self._sealed(mapping)
        plain = self.keys.open(
            mapping.dek_id, mapping.mapping_id, SUBJECT, row["subject_nonce"], row["subject_ct"]
        )
        return plain.decode()

    def codes_of(self, mapping: MappingRow) -> list[str]:
        """Every code this patient was reported under, latest last (R-CODE-8, 004 §10)."""
        return self._codes(mapping, self._sealed(mapping))

    def codes_of_many(self, mappings: list[MappingRow]) -> dict[str, list[str] | DamagedDataError]:
        """`codes_of` of many rows with one query (a sync checks every patient it walks);
        a row whose codes cannot be read gives why in their place, so that one damaged row
        stops nobody else (a shredded one raises, as `codes_of` does)."""
        rows = self.rows.rows([m.mapping_id for m in mappings])
        self.keys.preload([m.dek_id for m in mappings])
        codes: dict[str, list[str] | DamagedDataError] = {}
        for mapping in mappings:
            row = rows.get(mapping.mapping_id)
            if row is None:
                msg = f"no mapping row {mapping.mapping_id}"
                raise KeyError(msg)
            try:
                codes[mapping.mapping_id] = self._codes(mapping, row)
            except DamagedDataError as exc:
                codes[mapping.mapping_id] = exc
        return codes

    def _codes(self, mapping: MappingRow, row: Row) -> list[str]:
        if row["codes_ct"] is None:
            self.keys.data_key(mapping.dek_id)  # a shredded row has no codes to give: fail closed
            return []
        plain = self.keys.open(
            mapping.dek_id, mapping.mapping_id, _CODES, row["codes_nonce"], row["codes_ct"]
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
        """Apply many rows' changes at once, each guarded by its row version (optimistic
        locking, as `_update`)."""
        guarded = [(m.mapping_id, m.row_version, dict(v)) for m, v in changes if v]
        if not guarded:
            return
        changed = self.rows.update_guarded(guarded, self.now)
        if changed is not None and changed != len(guarded):
            raise ConcurrentUpdateError(guarded[0][0])

    def _update(self, mapping: MappingRow, values: dict[str, object]) -> MappingRow:
        if not values:
            return mapping
        guarded = [(mapping.mapping_id, mapping.row_version, dict(values))]
        if self.rows.update_guarded(guarded, self.now) != 1:
            raise ConcurrentUpdateError(mapping.mapping_id)
        version = mapping.row_version + 1
        kept = {k: v for k, v in values.items() if k in _ROW_FIELDS}
        return replace(mapping, row_version=version, **kept)  # type: ignore[arg-type]

    def _reindex(self, mapping_id: str, reference: str) -> None:
        """Index `reference` under the active version and drop its own old-version rows;
        the row's other references (aliases) keep theirs until they are looked up."""
        version, idx = self.keys.active_blind(reference)
        self.rows.add_index(idx, version, mapping_id)
        stale = [(ver, old) for ver, old in self.keys.blind(reference) if ver != version]
        self.rows.drop_index(mapping_id, stale)

    def migrate_index(self) -> int:
        """Batch migration: re-index every row still indexed under an old version.

        The sealed reference is decrypted, so this needs no EHR patient list; lookups
        keep working throughout (dual lookup), and nothing is lost on an interruption.
        """
        version, _ = self.keys.active_index()
        stale = self.rows.mapped_under_other_versions(version)
        for mapping_id in stale:
            mapping = self.get(mapping_id)
            if mapping.status == "shredded":
                continue
            self._reindex(mapping.mapping_id, self.reference_of(mapping))
        # resource_seen is keyed by resources, whose ids are not kept: its old-version rows
        # move as the resources are read again (sync), and the old key stays until then.
        return len(stale)

    def rows_indexed_under(self, version: int) -> int:
        return self.rows.count_index(version)

    def index_rows_of(self, mapping_id: str) -> int:
        """How many index rows point to the row (its references, under each version)."""
        return len(self.rows.index_of(mapping_id))

    # -- retention ----------------------------------------------------------------------

    def closed_before(self, day: date) -> list[MappingRow]:
        return [self.get(mapping_id) for mapping_id in self.rows.closed_before(day)]

    def shredded_ends(self, mapping_ids: list[str]) -> dict[str, date | None]:
        """Of these rows, those retention shredded, with the day their treatment ended."""
        rows = self.rows.rows(mapping_ids)
        return {i: r["closed_on"] for i, r in rows.items() if r["status"] == "shredded"}

    def shred(self, mapping: MappingRow) -> None:
        """Crypto-shredding: the data key goes, so do the index rows and stored facts; the
        resources seen of the patient stay, without their digest, as the mark of what
        retention ended (D-81)."""
        self.keys.destroy_data_key(mapping.dek_id)
        self.rows.forget_patient(mapping.mapping_id)
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
        return [self.get(mapping_id) for mapping_id in self.rows.not_shredded()]
