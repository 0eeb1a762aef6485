"""What retention ended stays ended, and nobody else's events are hidden (D-81).

Retention destroys the data key of a treatment that ended more than ten years ago (D-21);
the EHR's export may still hold the patient's old events, which sync would take for a new
patient with new reports. Earlier versions kept one day, the retention mark, and sync
ignored every event before it, of every patient: a mark set by retention under a wrong
clock (D-46) then hid a new patient's events for good, without a word (issue 9 review).

Shredding now keeps, of each resource sync read of the treatment, its blind index and
owner, without its digest (`PatientMappings.shred`). A resource met again whose owner is
a shredded mapping row tells which patient of the export that treatment was, by our own
ids and keyed indexes, never by identity: that patient's events up to the day the
shredded treatment ended are ignored (a patient left without a drug event is not read at
all, and no mapping is made for it); later events are a new treatment, reported as usual.
Everybody else's events are read whatever their day.

A mark an earlier version wrote still stands for the treatments it shredded, which kept no
blind index: it applies only to patients the patient index does not find (a shredded one
never is: its index rows are gone), and each patient whose events it ignores is named in
a `warning`, so that a new patient's reports withheld by it are never silent.
"""

from __future__ import annotations

from datetime import date, timedelta

from adapter.domain.model import Finding
from adapter.fhir.partition import Batch, PatientRecords, drop_before, ended_before
from adapter.services.sync_plan import Changes
from adapter.store.mappings import canonical_reference
from adapter.store.workspace import Workspace

_ONE_DAY = timedelta(days=1)
_NAMED = 5  # resources named in a finding; the count says the rest


def leave_out_retired(
    space: Workspace, batch: Batch, changes: Changes, base_url: str, findings: list[Finding]
) -> tuple[Batch, Changes]:
    """The batch and its changes without the events of treatments retention ended."""
    cutoffs = _retired(space, changes)
    if cutoffs:
        batch, dropped = drop_before(batch, cutoffs)
        changes = changes.without({k for keys in dropped.values() for k in keys})
    mark = space.retention.cutoff()
    if mark is None:
        return batch, changes
    unknown = _not_indexed(space, batch, base_url)
    drugs = {key for key in unknown if _drugs_before(batch.patients[key], mark)}
    batch, dropped = drop_before(batch, dict.fromkeys(unknown, mark))
    findings += [_ignored(p, keys, mark) for p, keys in sorted(dropped.items()) if p in drugs]
    return batch, changes.without({k for keys in dropped.values() for k in keys})


def _retired(space: Workspace, changes: Changes) -> dict[str, date]:
    """Patient key → the day after the latest shredded treatment its resources were of."""
    owners = sorted({owner for owner in changes.moved_from.values() if owner is not None})
    ended = space.mappings.shredded_ends(owners) if owners else {}
    cutoffs: dict[str, date] = {}
    for key, owner in changes.moved_from.items():
        end = ended.get(owner) if owner is not None else None
        patient = changes.owner_keys.get(key)
        if end is not None and patient is not None:
            cutoffs[patient] = max(cutoffs.get(patient, date.min), end + _ONE_DAY)
    return cutoffs


def _not_indexed(space: Workspace, batch: Batch, base_url: str) -> list[str]:
    """The batch's patients the patient index does not find."""
    references = {
        key: canonical_reference(base_url, key.split("/", 1)[1]) for key in batch.patients
    }
    found = space.mappings.find_many(list(references.values()))
    return [key for key, reference in references.items() if reference not in found]


def _drugs_before(records: PatientRecords, mark: date) -> bool:
    """Whether the patient has a drug event (a report could rest on) ending before `mark`."""
    drugs = {*records.requests, *records.administrations, *records.dispenses}
    return bool(ended_before(records, mark) & drugs)


def _ignored(patient: str, keys: frozenset[str], mark: date) -> Finding:
    events = sorted(k for k in keys if k != patient)
    named = ", ".join(events[:_NAMED]) + (
        f" and {len(events) - _NAMED} more" if len(events) > _NAMED else ""
    )
    return Finding(
        "warning",
        "INPUT",
        f"{len(events)} resource(s) of {patient} ({named}) end before the retention mark "
        f"{mark.isoformat()} that an earlier version of `substreg retention apply` kept, and "
        f"{patient} is new to sync: they are not read, since they may be a treatment that "
        "retention shredded, which left nothing else to tell it by (D-81). If the patient is "
        "not such a one, its reports before the mark are withheld: make them by hand "
        "(`substreg derive` shows them).",
        (patient, *events[:_NAMED]),
    )
