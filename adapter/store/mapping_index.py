"""The patient index checked against the mapping rows it points to (issue 9 review).

The index (`patient_index`) is how sync finds a patient's mapping row: a blind index of
the EHR reference. A bit flipped in it, or a row pointed elsewhere in SQL, made sync take
a patient in treatment for a new one: a second mapping, a new Anmeldung, and the old
treatment ended by the 10-day rule, with no finding. The reference is also sealed in the
mapping row, so the index can be checked against it: for one row (`index_problem`, as
`substreg inspect mapping` shows it), and for the references a sync does not find
(`lost_index`: whose rows no index row finds any more). Nothing of a reference leaves
this module but the mapping rows.
"""

from __future__ import annotations

from adapter.errors import DamagedDataError, ShreddedError
from adapter.store.mappings import SUBJECT, MappingRow, PatientMappings, mapping_row

LOST = (
    "no row of the patient index finds its reference any more (the index was changed or "
    "damaged outside substreg), so the export's data for this patient would have made a "
    "second mapping and ended its treatment here."
)


def index_problem(mappings: PatientMappings, mapping: MappingRow) -> str | None:
    """Why the index does not find this row by its own reference, or None. Raises what
    opening the reference raises (ShreddedError, DamagedRowError)."""
    reference = mappings.reference_of(mapping)
    wanted = set(mappings.keys.blind(reference))
    if any(pair in wanted for pair in mappings.rows.index_of(mapping.mapping_id)):
        return None
    return LOST


def lost_index(mappings: PatientMappings, references: list[str]) -> dict[str, MappingRow]:
    """The mapping rows whose sealed reference is one of `references`, which the index did
    not find: their index rows are damaged. Opens the reference of every row that is not
    shredded, in one query (only when a sync meets references it does not know)."""
    wanted = set(references)
    if not wanted:
        return {}
    rows = mappings.rows.with_sealed_reference()
    mappings.keys.preload([row["dek_id"] for row in rows])
    found: dict[str, MappingRow] = {}
    for row in rows:
        try:
            plain = mappings.keys.open(
                row["dek_id"], row["mapping_id"], SUBJECT, row["subject_nonce"], row["subject_ct"]
            )
        except (DamagedDataError, ShreddedError):
            continue  # a damaged reference is named where the row is read
        if plain.decode() in wanted:
            found[plain.decode()] = mapping_row(row)
    return found
