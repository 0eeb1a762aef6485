"""What incremental sync keeps between runs, sealed: the practice's records, each
patient's state (facts in use and where the walk stopped) and archive (every batch of
their records, for a full re-derivation), and the digests of resources already read.

Patient blobs are sealed under the patient's own data key, so crypto-shredding a
patient (retention) takes their facts with them. The store does not look inside: it
keeps bytes, the services decide what they mean.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from adapter.errors import DamagedDataError, StoredFormatError
from adapter.store.keys import KeyStore
from adapter.store.rows import FactRows, Row

_PRACTICE = "practice"


@dataclass(frozen=True, slots=True)
class StoredState:
    mapping_id: str
    format: int
    data: bytes
    walked_to: date | None
    live: bool


class Facts:
    def __init__(self, rows: FactRows, keys: KeyStore, now: datetime) -> None:
        self.rows = rows
        self.keys = keys
        self.now = now
        # Patient states this transaction could not read (mapping id → why): left out of
        # `states`, so that one damaged row does not stop every patient (issue 9.6).
        self.unreadable: dict[str, str] = {}

    # -- practice -----------------------------------------------------------------------

    def practice(self) -> tuple[int, bytes] | None:
        row = self.rows.practice()
        if row is None:
            return None
        plain = self.keys.open(row["dek_id"], _PRACTICE, "state", row["nonce"], row["ct"])
        return row["format"], plain

    def save_practice(self, fmt: int, data: bytes, dek_id: str) -> None:
        sealed = self.keys.seal(dek_id, _PRACTICE, "state", data)
        self.rows.put_practice(
            {
                "dek_id": dek_id,
                "format": fmt,
                "nonce": sealed.nonce,
                "ct": sealed.ct,
                "updated_at": self.now,
            }
        )

    # -- patient state ------------------------------------------------------------------

    def states(
        self, mapping_ids: Iterable[str], *, with_live: bool, every: bool = False
    ) -> list[StoredState]:
        """The stored states of `mapping_ids`, and of every live patient when `with_live`
        (or of every patient when `every`), opened with their data keys."""
        rows = self.rows.states(list(mapping_ids), with_live=with_live, every=every)
        self.keys.preload([row["dek_id"] for row in rows])
        states = []
        for row in rows:
            mapping_id = row["mapping_id"]
            try:
                data = self.keys.open(row["dek_id"], mapping_id, "state", row["nonce"], row["ct"])
            except DamagedDataError as exc:
                self.unreadable[mapping_id] = str(exc)
                continue
            states.append(
                StoredState(mapping_id, row["format"], data, row["walked_to"], row["live"])
            )
        return states

    def save_states(self, states: list[tuple[StoredState, str]]) -> None:
        """Insert or replace patient states (with their data keys), one statement."""
        rows = []
        for state, dek_id in states:
            sealed = self.keys.seal(dek_id, state.mapping_id, "state", state.data)
            rows.append(
                {
                    "mapping_id": state.mapping_id,
                    "format": state.format,
                    "nonce": sealed.nonce,
                    "ct": sealed.ct,
                    "walked_to": state.walked_to,
                    "live": state.live,
                    "updated_at": self.now,
                }
            )
        self.rows.put_states(rows)

    def sealed_rows(self, mapping_id: str) -> tuple[Row | None, list[Row]]:
        """The patient's state row and archived batches as stored (sealed), for `inspect`
        to open each on its own."""
        states = self.rows.states([mapping_id], with_live=False, every=False)
        return (states[0] if states else None), self.rows.archive(mapping_id)

    def latest_walk(self) -> date | None:
        return self.rows.latest_walk()

    # -- archive ------------------------------------------------------------------------

    def archive(self, mapping_id: str, dek_id: str, fmt: int | None = None) -> list[bytes]:
        """A patient's archived batches in order; StoredFormatError for rows of another
        `fmt` (written by another version: a full export synced with --rebuild renews them)."""
        rows = self.rows.archive(mapping_id)
        if fmt is not None and any(row["format"] != fmt for row in rows):
            msg = (
                f"the stored records of mapping {mapping_id} are of another format than "
                f"{fmt}: sync a full export again with --rebuild"
            )
            raise StoredFormatError(msg)
        return [
            self.keys.open(dek_id, mapping_id, f"archive/{row['seq']}", row["nonce"], row["ct"])
            for row in rows
        ]

    def append_archives(self, items: list[tuple[str, str, int, bytes]]) -> None:
        """Append one batch row to each patient's archive: (mapping id, data key, format,
        data), with two statements however many patients."""
        if not items:
            return
        heads = self.rows.archive_heads([mapping_id for mapping_id, _, _, _ in items])
        values = []
        for mapping_id, dek_id, fmt, data in items:
            seq = heads[mapping_id] = heads.get(mapping_id, 0) + 1  # two batches: 1, 2
            sealed = self.keys.seal(dek_id, mapping_id, f"archive/{seq}", data)
            values.append(
                {
                    "mapping_id": mapping_id,
                    "seq": seq,
                    "format": fmt,
                    "nonce": sealed.nonce,
                    "ct": sealed.ct,
                    "created_at": self.now,
                }
            )
        self.rows.add_archives(values)

    def replace_archive(self, mapping_id: str, dek_id: str, fmt: int, data: bytes) -> None:
        """Compaction: one row with everything (after a full re-derivation)."""
        self.rows.drop_archive(mapping_id)
        self.append_archives([(mapping_id, dek_id, fmt, data)])

    def archived_patients(self) -> list[str]:
        return self.rows.archived_patients()

    # -- resources read -----------------------------------------------------------------

    def seen(self, indexes: list[bytes], version: int) -> dict[bytes, tuple[str | None, bytes]]:
        """Resource index → (owner mapping id, digest) for the resources read before."""
        return self.rows.seen(indexes, version)

    def forget(self, rows: list[tuple[int, bytes]]) -> None:
        """Drop (version, index) rows kept again under the active index version."""
        self.rows.forget(rows)

    def marks_indexed_under(self, version: int) -> int:
        """Resources read of shredded treatments still indexed under `version`: they
        cannot be re-keyed without the resource ids, so the key stays until sync reads
        them again and keeps them under the active key (D-150, D-182)."""
        return self.rows.count_marks_under(version)

    def remember(
        self, rows: list[tuple[bytes, str | None, bytes]], version: int, *, new: bool = False
    ) -> None:
        """Insert or replace (index, owner, digest) of resources read in this run; `new`:
        none of them was kept before, so a plain insert does (and costs less)."""
        self.rows.remember(rows, version, new=new)
