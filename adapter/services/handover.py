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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from adapter.crypto import fingerprint, normal_fingerprint, verify_detached
from adapter.domain.handover import (
    Handover,
    Registration,
    Step,
    doctor_label,
    ending_refused,
    export_day_refused,
    export_warnings,
    next_steps,
)
from adapter.errors import (
    HandoverDayError,
    HandoverInvalid,
    HandoverRefused,
    HandoverUnknown,
    HandoverUntrusted,
)
from adapter.fhir.handover_document import canonical_bytes, handover_bundle, signed_bundle
from adapter.fhir.handover_document import document_json as bundle_bytes
from adapter.fhir.handover_reading import read_document
from adapter.fhir.partition import load
from adapter.services import handover_status as status
from adapter.services.handover_withdraw import TakenBack, take_back
from adapter.services.register_status import blankets_by_doctor
from adapter.services.sync_state import PatientState, PracticeState, load_state
from adapter.store.audit import Actor
from adapter.store.handovers import OPEN, Ended, Incoming
from adapter.store.mappings import MappingRow, canonical_reference
from adapter.store.workspace import Store, Workspace

PURPOSE = "handover to another facility (R-HO-1)"
BERLIN = ZoneInfo("Europe/Berlin")

# The document is German (a Composition "Übergabe Substitutionsbehandlung"): the sender's
# name in it when none was given and no registration names the doctor.
UNNAMED_SENDER = "sendende Einrichtung"


@dataclass(frozen=True, slots=True)
class Exported:
    handover: Handover
    document: bytes  # the signed FHIR document Bundle, JSON
    signer: str  # the fingerprint of the signing key, for the receiver to confirm
    steps: tuple[Step, ...]
    # What the person exporting should know of the data behind it: synced to a day before
    # the handover day, or stale (D-245); the document itself carries none of it.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unknown:
    message: str  # no patient of the reference given (HandoverUnknown)


@dataclass(frozen=True, slots=True)
class DayRefused:
    message: str  # a handover day the export cannot state (HandoverDayError)


@dataclass(frozen=True, slots=True)
class Imported:
    handover: Handover
    signer: str
    steps: tuple[Step, ...]
    recorded: bool  # False: no registration to hold, or this document came before
    replaced: str | None = None  # the open handover of the same registration it replaced
    withdrawn: tuple[str, ...] = ()  # unsent reports it holds back, withdrawn (D-216)
    sent: tuple[str, ...] = ()  # reports it holds back that were sent already (D-216)
    ended: Ended | None = None  # received before and replaced, released or returned since


def export_handover(
    store: Store,
    actor: Actor,
    patient: str,
    *,
    receiver: str,
    sender: str | None,
    day: date,
    deliver: Callable[[Exported], None] | None = None,
) -> Exported:
    """The signed handover document of the patient with EHR reference `patient`.
    `deliver` (the CLI's files) runs in the unit of work that audits the export: when it
    fails, nothing is audited."""
    if not receiver.strip() or "\n" in receiver:
        msg = "--to must name the receiving facility on one line"
        raise HandoverRefused(msg)

    def read(space: Workspace) -> Exported | Unknown | DayRefused | str:
        if (later := _after_today(space, day, "handover day")) is not None:
            return DayRefused(later)
        mapping = space.mappings.find(_reference(space, patient))
        if mapping is None:
            return Unknown(
                "No patient of this installation has the given reference (Patient/ID of the "
                "EHR, as synced); check it with `substreg sync` of the current export."
            )
        state, synced_to = _state(space, mapping)
        if state is None:
            return (
                f"The records of mapping {mapping.mapping_id} cannot be read (destroyed by "
                "retention, damaged, or of an older format): sync the current export first."
            )
        if (earlier := export_day_refused(day, synced_to)) is not None:
            return DayRefused(earlier)
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
            details={
                "document": handover.document_id,
                "registered": bool(handover.registration),
                "day": handover.day.isoformat(),  # the sender's forecast names it (D-227)
            },
        )
        document = bundle_bytes(signed_bundle(bundle, token, timestamp))
        warnings = export_warnings(handover, synced_to) + _unnamed(handover)
        exported = Exported(handover, document, signer, next_steps(handover), warnings)
        if deliver is not None:
            deliver(exported)
        return exported

    found = store.run(actor, read)
    if isinstance(found, Unknown):
        raise HandoverUnknown(found.message)
    if isinstance(found, DayRefused):
        raise HandoverDayError(found.message)
    if isinstance(found, str):
        raise HandoverRefused(found)
    return found


def _today(space: Workspace) -> date:
    return space.now.astimezone(BERLIN).date()


def _after_today(space: Workspace, day: date, what: str) -> str | None:
    """The refusal of a day still to come (by the machine's clock, as retention's), else
    None: a handover, a release or a return is told on the day it happened (D-202)."""
    today = _today(space)
    if day <= today:
        return None
    return (
        f"The {what} {day.isoformat()} lies after today ({today.isoformat()} in "
        "Berlin by this machine's clock); give a day that has come."
    )


def _reference(space: Workspace, patient: str) -> str:
    """`Patient/ID` or `ID` under the EHR base of the synced data; a canonical reference
    (`fhir-patient|base|id`) as given."""
    if patient.startswith("fhir-patient|"):
        return patient
    stored = space.facts.practice()
    base = load(PracticeState, stored[1]).ehr_base_url if stored else ""
    return canonical_reference(base, patient.removeprefix("Patient/"))


def _state(space: Workspace, mapping: MappingRow) -> tuple[PatientState | None, date | None]:
    """The patient's stored state (None when retention destroyed it or it cannot be read)
    and the last day the sync walked it to (its `--as-of`; None when not known)."""
    if mapping.status == "shredded":
        return None, None
    stored = space.facts.states([mapping.mapping_id], with_live=False)
    if not stored:
        return None, None
    walked = stored[0].walked_to  # the next day to walk: the day after the sync's --as-of
    synced_to = walked - timedelta(days=1) if walked is not None else None
    return load_state(stored[0].format, stored[0].data), synced_to


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
    registration = status.registration(opened, status.unsent_abmeldung(reports, opened))
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


def _unnamed(handover: Handover) -> tuple[str, ...]:
    """The warning of a document that names no sender: no name was given and no open
    registration names a doctor, so the receiver reads "a sending facility that gave no
    name" (D-247). The stored data has no facility name to take instead: the EHR's
    Organization names are not kept, and a practice may have several."""
    if handover.sender != UNNAMED_SENDER:
        return ()
    return (
        f'The document names its sender only as "{UNNAMED_SENDER}": no facility name was '
        "given and no open registration names a doctor. Export again with this facility's "
        "name (--from; `sender` over the API) so the receiver knows whom to call.",
    )


def _sender(registration: Registration | None) -> str:
    if registration is None:
        return UNNAMED_SENDER
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
    if signer in store.read(_own_fingerprints):
        msg = (
            f"The handover document is signed by this installation itself (fingerprint "
            f"{signer}: its own export); nothing was stored. Import it at the receiving "
            "installation: here it would hold back this installation's own reports (D-202)."
        )
        raise HandoverRefused(msg)
    if signer not in {normal_fingerprint(t) for t in trusted}:
        msg = (
            f"The handover document is signed by a key this installation does not trust "
            f"(the document names fingerprint {signer}); nothing was stored. Compare it "
            "with the fingerprint the sending facility gave you by phone or letter (its "
            "export printed it); only if they match, import again with --trust and the "
            "fingerprint the sender gave (a changed document names its changer's key, D-160)."
        )
        raise HandoverUntrusted(msg)
    handover = document.handover
    reg = handover.registration

    def record(space: Workspace) -> tuple[bool, str | None, TakenBack, Ended | None]:
        taken = TakenBack((), ())
        before = space.handovers.state_of(handover.document_id)
        if reg is None:
            kept, other = False, None
        else:
            other = space.handovers.open_of(reg.code, handover.document_id)
            kept = space.handovers.record(
                handover.document_id,
                signer,
                reg.code,
                reg.doctor.btm_number,
                reg.since,
                day=handover.day,
                sender=handover.sender,
            )
            if kept and other is not None:  # one hold per registration (D-201)
                space.handovers.replace(other, _today(space))
        details: dict[str, object] = {
            "document": handover.document_id,
            "registered": reg is not None,
            "kept": kept,
        }
        if kept and other is not None:
            details["replaced"] = other
        space.audit.append(actor, "handover.import", purpose=PURPOSE, details=details)
        if kept and reg is not None:  # recorded here before the import (D-216)
            taken = take_back(space, actor, handover.document_id, reg)
        return kept, other if kept else None, taken, before

    recorded, replaced, taken, before = store.run(actor, record)
    # A copy received before that is no longer open: what it once said follows no more (a
    # newer copy holds, or it was released or returned), so no steps are offered (D-247).
    ended = before if before is not None and before.state != OPEN else None
    steps = next_steps(handover) if ended is None else ()
    return Imported(handover, signer, steps, recorded, replaced, taken.withdrawn, taken.sent, ended)


def _own_fingerprints(space: Workspace) -> set[str]:
    """The fingerprints this installation signed documents under, before and after each
    rotation of its audit key (D-230)."""
    return {fingerprint(public) for public in space.keys.own_document_keys()}


def list_handovers(store: Store, actor: Actor) -> list[Incoming]:
    """The handovers received, open and released (opened: the caller shows no code)."""
    return store.run(actor, lambda space: space.handovers.listed())


def end_handover(store: Store, actor: Actor, handover_id: str, how: str, on: date) -> date:
    """End an open handover received here: `released` (the sending doctor's Abmeldung was
    made: an Anmeldung here is recorded by the next sync, R-EP-5) or `returned` (the
    patient went back within the substitute time: the stay here is never reported,
    R-ABS-1, R-ABS-3). The day it stands ended on: asked again the same way (a retry of
    the service), the day it was ended on, with nothing changed and nothing audited."""

    def end(space: Workspace) -> date | str | None:
        if (later := _after_today(space, on, "day")) is not None:
            return later
        opened = [h for h in space.handovers.listed(OPEN) if h.handover_id == handover_id]
        if opened and (refused := ending_refused(how, opened[0].day, on)) is not None:
            return refused
        if not space.handovers.end(handover_id, how, on):
            return space.handovers.ended_on(handover_id, how)
        space.audit.append(
            actor, f"handover.{how}", purpose=PURPOSE, details={"document": handover_id}
        )
        return on

    ended = store.run(actor, end)
    if isinstance(ended, str):
        raise HandoverDayError(ended)
    if ended is None:
        msg = (
            f"No open handover {handover_id} was received here; `substreg handover list` "
            "shows them."
        )
        raise HandoverUnknown(msg)
    return ended
