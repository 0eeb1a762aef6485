"""Records whose patient cannot be resolved (INPUT.md edge case 16; never silent).

A medication event or an EpisodeOfCare that names its patient by an identifier no single
Patient in the input carries, by a reference to nothing, or not at all, cannot belong to
any treatment. When it looks like substitution it is an `error` finding naming the
resource (and the identifier's *system*, never its value); otherwise it is left out
unsaid, like any resource the adapter does not need. derive and sync ask this one module,
so that both say the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapter.domain.model import Finding
from adapter.fhir import records as rec
from adapter.fhir.collect import Collection
from adapter.fhir.identifiers import system_of
from adapter.fhir.medication import MedInfo

_BTM_MARKERS = frozenset({"S", "ST", "N", "K", "A"})


@dataclass(frozen=True, slots=True)
class Orphan:
    key: str  # the record's own key
    patient_ref: str | None  # how it named its patient (an identifier reference is hashed)


def orphan_finding(orphan: Orphan) -> Finding:
    system = system_of(orphan.patient_ref or "")
    if system is not None:
        problem = (
            f"{orphan.key} names its patient by an identifier of system "
            f"{system or '(no system)'} that no single Patient in the input carries"
        )
    elif orphan.patient_ref:
        problem = f"{orphan.key} names a patient that is nowhere in the input"
    else:
        problem = f"{orphan.key} names no patient (subject or patient)"
    return Finding(
        "error",
        "INPUT",
        f"{problem}: it cannot belong to a treatment and is left out; send it with its Patient.",
        (orphan.key,),
    )


def looks_like_substitution(
    med: MedInfo | None, request: rec.Request | None, dependence: bool
) -> bool:
    """A substitution substance, a narcotic (category or BtM marker), or an F11.2 tie."""
    if med is not None and (med.substance is not None or med.btm):
        return True
    if request is not None and (request.marker in _BTM_MARKERS or request.dependence):
        return True
    return dependence


def orphans(collection: Collection) -> list[Orphan]:
    """The medication events, prescriptions and EpisodeOfCare that look like substitution
    and name a patient that does not resolve."""
    refs, medications, requests = collection.refs, collection.medications, collection.requests

    def med(info: MedInfo | None, ref: str | None) -> MedInfo | None:
        return info if info is not None else medications.get(refs.resolve(ref) or "")

    def request_of(ref: str | None) -> rec.Request | None:
        return requests.get(refs.resolve(ref) or "")

    found = [
        Orphan(r.key, r.patient)
        for r in requests.values()
        if refs.resolve(r.patient) is None
        and looks_like_substitution(med(r.med, r.med_ref), r, False)
    ]
    found += [
        Orphan(a.key, a.patient)
        for a in collection.administrations.values()
        if refs.resolve(a.patient) is None
        and looks_like_substitution(med(a.med, a.med_ref), request_of(a.request), a.dependence)
    ]
    found += [
        Orphan(d.key, d.patient)
        for d in collection.dispenses.values()
        if refs.resolve(d.patient) is None
        and looks_like_substitution(med(d.med, d.med_ref), request_of(d.prescription), False)
    ]
    episodes = collection.episodes.items()
    found += [Orphan(k, p) for k, (p, _) in episodes if refs.resolve(p) is None]
    return sorted(found, key=lambda o: o.key)
