"""Handing a patient in substitution over to another facility (R-HO-1, 004 §3.8).

`export_handover` reads the patient's register status and current treatment (the
audited re-identification of the practice itself, like `reports show`: the document
names the person), builds the FHIR document and signs it with the installation's
document key (D-160). `import_handover` verifies a received document against the
fingerprints this installation trusts, records the registration it states so that sync
holds back a second Anmeldung while it is open (R-EP-5, D-162), and says what follows
(R-ABS-1/2/3, R-EP-2). Neither logs a name, a code or an EHR id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from adapter.crypto import fingerprint, normal_fingerprint, verify_detached
from adapter.domain.handover import Handover, Registration, Step, doctor_label, next_steps
from adapter.errors import HandoverInvalid, HandoverRefused, HandoverUnknown, HandoverUntrusted
from adapter.fhir.handover_document import canonical_bytes, handover_bundle, signed_bundle
from adapter.fhir.handover_document import document_json as bundle_bytes
from adapter.fhir.handover_reading import read_document
from adapter.fhir.partition import load
from adapter.services import handover_status as status
from adapter.services.register_status import blankets_by_doctor
from adapter.services.sync_state import PatientState, PracticeState, load_state
from adapter.store.audit import Actor
from adapter.store.handovers import Incoming
from adapter.store.mappings import MappingRow, canonical_reference
from adapter.store.workspace import Store, Workspace

PURPOSE = "handover to another facility (R-HO-1)"


@dataclass(frozen=True, slots=True)
class Exported:
    handover: Handover
    document: bytes  # the signed FHIR document Bundle, JSON
    signer: str  # the fingerprint of the signing key, for the receiver to confirm
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Unknown:
    message: str  # no patient of the reference given (HandoverUnknown)


@dataclass(frozen=True, slots=True)
class Imported:
    handover: Handover
    signer: str
    steps: tuple[Step, ...]
    recorded: bool  # False: no registration to hold, or this document came before


def export_handover(
    store: Store, actor: Actor, patient: str, *, receiver: str, sender: str | None, day: date
) -> Exported:
    """The signed handover document of the patient with EHR reference `patient`."""
    if not receiver.strip() or "\n" in receiver:
        msg = "--to must name the receiving facility on one line"
        raise HandoverRefused(msg)

    def read(space: Workspace) -> Exported | Unknown | str:
        mapping = space.mappings.find(_reference(space, patient))
        if mapping is None:
            return Unknown(
                "No patient of this installation has the given reference (Patient/ID of the "
                "EHR, as synced); check it with `substreg sync` of the current export."
            )
        state = _state(space, mapping)
        if state is None:
            return (
                f"The records of mapping {mapping.mapping_id} cannot be read (destroyed by "
                "retention, damaged, or of an older format): sync the current export first."
            )
        handover = _handover(space, mapping, state, receiver=receiver, sender=sender, day=day)
        timestamp = space.now.isoformat(timespec="seconds")
        bundle = handover_bundle(handover, timestamp)
        token = space.keys.sign_document(canonical_bytes(bundle))
        signer = fingerprint(space.keys.document_public_key())
        space.audit.append(
            actor,
            "handover.export",
            mapping_id=mapping.mapping_id,
            purpose=PURPOSE,
            details={"document": handover.document_id, "registered": bool(handover.registration)},
        )
        document = bundle_bytes(signed_bundle(bundle, token, timestamp))
        return Exported(handover, document, signer, next_steps(handover))

    found = store.run(actor, read)
    if isinstance(found, Unknown):
        raise HandoverUnknown(found.message)
    if isinstance(found, str):
        raise HandoverRefused(found)
    return found


def _reference(space: Workspace, patient: str) -> str:
    """`Patient/ID` or `ID` under the EHR base of the synced data; a canonical reference
    (`fhir-patient|base|id`) as given."""
    if patient.startswith("fhir-patient|"):
        return patient
    stored = space.facts.practice()
    base = load(PracticeState, stored[1]).ehr_base_url if stored else ""
    return canonical_reference(base, patient.removeprefix("Patient/"))


def _state(space: Workspace, mapping: MappingRow) -> PatientState | None:
    """The patient's stored state; None when retention destroyed it or it cannot be read."""
    if mapping.status == "shredded":
        return None
    stored = space.facts.states([mapping.mapping_id], with_live=False)
    return load_state(stored[0].format, stored[0].data) if stored else None


def _handover(
    space: Workspace,
    mapping: MappingRow,
    state: PatientState,
    *,
    receiver: str,
    sender: str | None,
    day: date,
) -> Handover:
    reports = status.reports_of(space, mapping.mapping_id)
    opened, ended = status.open_registration(reports, blankets_by_doctor(space))
    registration = status.registration(opened)
    phase = state.walk.phase
    records = status.full_records(space, mapping, state.key)
    anmeldung = opened[1] if opened else None
    return Handover(
        document_id=str(uuid.uuid4()),
        day=day,
        sender=sender or _sender(registration),
        receiver=receiver.strip(),
        patient=status.handed_patient(state.profile.patient),
        substance=phase.substance if phase else (registration.substance if registration else None),
        last_dose=status.last_dose(records),
        covered_until=phase.last if phase else None,
        consultant=anmeldung.consultant if anmeldung else None,
        registration=registration,
        last_report=status.last_report(space, reports),
        ended_by_blanket=ended,
    )


def _sender(registration: Registration | None) -> str:
    if registration is None:
        return "sendende Einrichtung"
    return f"Praxis/Einrichtung von {doctor_label(registration.doctor)}"


def import_handover(store: Store, actor: Actor, data: bytes, trusted: list[str]) -> Imported:
    """Verify a received document and record its registration; HandoverRefused (nothing
    stored) when it was changed after signing or its signer is not trusted here."""
    document = read_document(data)
    public = verify_detached(document.token, document.signed)
    if public is None:
        msg = (
            "The handover document's signature does not verify: it was changed after signing "
            "or its signature is broken; nothing was stored. Ask the sender for the document "
            "again."
        )
        raise HandoverInvalid(msg)
    signer = fingerprint(public)
    if signer not in {normal_fingerprint(t) for t in trusted}:
        msg = (
            f"The handover document is signed by a key this installation does not trust "
            f"(fingerprint {signer}); nothing was stored. Confirm the fingerprint with the "
            "sending facility (its export printed it) and import again with --trust "
            f"'{signer}'."
        )
        raise HandoverUntrusted(msg)
    handover = document.handover
    reg = handover.registration

    def record(space: Workspace) -> bool:
        kept = reg is not None and space.handovers.record(
            handover.document_id, signer, reg.code, reg.doctor.btm_number, reg.since
        )
        space.audit.append(
            actor,
            "handover.import",
            purpose=PURPOSE,
            details={"document": handover.document_id, "registered": reg is not None, "kept": kept},
        )
        return kept

    recorded = store.run(actor, record)
    return Imported(handover, signer, next_steps(handover), recorded)


def list_handovers(store: Store, actor: Actor) -> list[Incoming]:
    """The handovers received, open and released (opened: the caller shows no code)."""
    return store.run(actor, lambda space: space.handovers.listed())


def end_handover(store: Store, actor: Actor, handover_id: str, how: str, on: date) -> date:
    """End an open handover received here: `released` (the sending doctor's Abmeldung was
    made: an Anmeldung here is recorded by the next sync, R-EP-5) or `returned` (the
    patient went back within the substitute time: the stay here is never reported,
    R-ABS-1, R-ABS-3). The day it stands ended on: asked again the same way (a retry of
    the service), the day it was ended on, with nothing changed and nothing audited."""

    def end(space: Workspace) -> date | None:
        if not space.handovers.end(handover_id, how, on):
            return space.handovers.ended_on(handover_id, how)
        space.audit.append(
            actor, f"handover.{how}", purpose=PURPOSE, details={"document": handover_id}
        )
        return on

    ended = store.run(actor, end)
    if ended is None:
        msg = (
            f"No open handover {handover_id} was received here; `substreg handover list` "
            "shows them."
        )
        raise HandoverUnknown(msg)
    return ended
