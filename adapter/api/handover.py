"""`/handover`: the handover of a patient to another facility (R-HO-1, 004 §3.8) as
`substreg handover` does it, the same use cases (adapter/services/handover.py), on the
caller's tenant (D-193).

`POST /handover/export` answers the signed FHIR document (`application/fhir+json`), or
its PDF for a person with `Accept: application/pdf`, and the signer's fingerprint in the
header `Substreg-Signer` (to confirm with the receiver by another way). It names the
person, so only a doctor exports (audited as a re-identification, D-163). `POST
/handover/import` verifies a document against the fingerprints given and answers what
follows; `GET /handover` lists the handovers received (no code, no name); `release` and
`return` end one. A changed document or an untrusted signer is 422, never stored; so is
an `on` day that cannot be (after today, an export's before the synced data's day, an end
before the handover day, a return after day 30: 422 naming `on`, D-244, D-245); the
tenant's own document is 409. An export's warnings (synced before the handover day, stale
data) come as `Substreg-Warning` headers. A second document of a registration open here
replaces the open one (`replaced` in the answer, D-201).
"""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header
from fastapi.responses import Response
from pydantic import BaseModel, Field

from adapter.api.ingestion import BERLIN
from adapter.api.outcome import CONFLICT, ERRORS, NOT_FOUND, UNPROCESSABLE
from adapter.api.tenancy import Caller, Role, requires
from adapter.domain.handover import Handover, Step, doctor_label
from adapter.errors import HandoverInvalid
from adapter.export.handover_pdf import handover_pdf
from adapter.services import handover as service

FHIR_JSON = "application/fhir+json"
PDF = "application/pdf"
Facility = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\r\n]*\S[^\r\n]*$")]


class ExportIn(BaseModel):
    patient: str = Field(
        min_length=1, max_length=500, description="Patient/ID of the EHR, as synced (D-161)"
    )
    to: Facility = Field(description="the receiving facility")
    sender: Facility | None = Field(None, description="the sending facility, as it names itself")
    on: date | None = Field(None, description="the handover day (default: today in Berlin)")


class ImportIn(BaseModel):
    document: dict[str, Any] = Field(description="the signed FHIR document Bundle")
    trust: list[Annotated[str, Field(max_length=200)]] = Field(
        max_length=20, description="the signer fingerprints confirmed with the sender (D-160)"
    )


class EndIn(BaseModel):
    on: date | None = Field(
        None,
        description="released: the sender's Abmeldung; returned: "
        "the day back (default: today in Berlin)",
    )


class StepOut(BaseModel):
    rule: str
    text: str
    due: date | None


class RegistrationOut(BaseModel):
    doctor: str = Field(description="the registering doctor: name and BtM number")
    since: date
    substance: str
    state: str = Field(description="the Anmeldung's state at the sender")
    unsent_abmeldung: date | None = Field(
        None,
        description="an Abmeldung recorded at the sender but not yet sent: the register "
        "still holds the registration (D-256)",
    )


class ImportedOut(BaseModel):
    handover_id: str
    sender: str
    signer: str = Field(description="the fingerprint the signature verified under")
    recorded: bool = Field(description="false: no registration to hold, or imported before")
    replaced: str | None = Field(
        None, description="the open handover of the same registration this one replaced (D-201)"
    )
    withdrawn: list[str] = Field(
        [], description="ledger ids recorded here before, unsent: withdrawn (R-HO-1, D-216)"
    )
    sent: list[str] = Field(
        [], description="ledger ids recorded here before and sent: a duplicate (004 §10, D-216)"
    )
    registration: RegistrationOut | None
    ended: Literal["released", "returned", "replaced"] | None = Field(
        None,
        description="imported before and ended here since: what it said follows no more, "
        "and `steps` is empty (D-247)",
    )
    steps: list[StepOut] = Field(description="what follows for the receiver (R-ABS-1/2, R-EP-2)")


class HandoverOut(BaseModel):
    handover_id: str
    state: Literal["open", "released", "returned", "replaced"]
    received_at: str
    day: date = Field(description="the handover day (day 1 of the substitute time)")
    ended_on: date | None = Field(
        description="the day it was released, the patient returned, or a newer copy replaced it"
    )
    signer: str
    sender: str | None = Field(
        description="the sending facility as the document names it (null: kept by no older version)"
    )


class HandoversOut(BaseModel):
    handovers: list[HandoverOut]


class EndedOut(BaseModel):
    handover_id: str
    state: Literal["released", "returned"]
    on: date


_EXPORTED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The signed document, or its PDF (Accept: application/pdf); the "
        "signer's fingerprint in the header Substreg-Signer",
        "content": {
            FHIR_JSON: {"schema": {"type": "object"}},
            PDF: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _document_bytes(document: dict[str, Any]) -> bytes:
    """The document as JSON bytes; HandoverInvalid for values JSON of FHIR cannot hold
    (an integer beyond 64 bits: no handover document has one)."""
    try:
        return orjson.dumps(document)
    except TypeError:
        msg = "The document holds a value no handover document has; nothing was stored."
        raise HandoverInvalid(msg) from None


def _today(caller: Caller) -> date:
    return caller.store.clock().astimezone(BERLIN).date()


def _steps(steps: tuple[Step, ...]) -> list[StepOut]:
    return [StepOut(rule=s.rule, text=s.text, due=s.due) for s in steps]


def _registration(handover: Handover) -> RegistrationOut | None:
    reg = handover.registration
    if reg is None:
        return None
    return RegistrationOut(
        doctor=doctor_label(reg.doctor),
        since=reg.since,
        substance=reg.substance,
        state=reg.state,
        unsent_abmeldung=reg.unsent_abmeldung,
    )


def _end(
    who: Caller, handover_id: str, how: Literal["released", "returned"], body: EndIn | None
) -> EndedOut:
    on = body.on if body is not None and body.on is not None else _today(who)
    ended = service.end_handover(who.store, who.actor, handover_id, how, on)
    return EndedOut(handover_id=handover_id, state=how, on=ended)


def handover_router(caller: Callable[..., Caller]) -> APIRouter:
    router = APIRouter(tags=["handover"], responses=ERRORS)
    doctor = requires(Role.DOCTOR, caller=caller)
    decider = requires(Role.DOCTOR, Role.ADMIN, caller=caller)
    reader = requires(Role.STAFF, Role.DOCTOR, Role.ADMIN, caller=caller)

    @router.post(
        "/handover/export",
        response_class=Response,
        responses=_EXPORTED | NOT_FOUND | CONFLICT | UNPROCESSABLE,
    )
    def export(
        body: ExportIn,
        who: Annotated[Caller, Depends(doctor)],
        accept: Annotated[str | None, Header()] = None,
    ) -> Response:
        """R-HO-1: the patient's signed handover document (audited re-identification)."""
        done = service.export_handover(
            who.store,
            who.actor,
            body.patient,
            receiver=body.to,
            sender=body.sender,
            day=body.on or _today(who),
        )
        headers = {"Substreg-Signer": done.signer, "Cache-Control": "no-store"}
        if accept is not None and PDF in accept and FHIR_JSON not in accept:
            answer = Response(handover_pdf(done.handover, done.steps), media_type=PDF)
        else:
            answer = Response(done.document, media_type=FHIR_JSON)
        answer.headers.update(headers)
        for warning in done.warnings:  # one header each: synced before the day, stale (D-245)
            answer.headers.append("Substreg-Warning", warning)
        return answer

    @router.post("/handover/import", response_model=ImportedOut, responses=UNPROCESSABLE | CONFLICT)
    def import_(body: ImportIn, who: Annotated[Caller, Depends(decider)]) -> ImportedOut:
        """Verify a received document, keep its registration, say what follows (R-EP-5)."""
        data = _document_bytes(body.document)
        done = service.import_handover(who.store, who.actor, data, body.trust)
        return ImportedOut(
            handover_id=done.handover.document_id,
            sender=done.handover.sender,
            signer=done.signer,
            recorded=done.recorded,
            replaced=done.replaced,
            withdrawn=list(done.withdrawn),
            sent=list(done.sent),
            registration=_registration(done.handover),
            ended=done.ended.state if done.ended else None,  # type: ignore[arg-type]
            steps=_steps(done.steps),
        )

    @router.get("/handover", response_model=HandoversOut)
    def listed(who: Annotated[Caller, Depends(reader)]) -> HandoversOut:
        """The handovers received here, open and ended (no code, no name)."""
        found = service.list_handovers(who.store, who.actor)
        return HandoversOut(
            handovers=[
                HandoverOut(
                    handover_id=h.handover_id,
                    state=h.state,  # type: ignore[arg-type]
                    received_at=h.received_at.isoformat(),
                    day=h.day,
                    ended_on=h.released_on,
                    signer=h.signer,
                    sender=h.sender,
                )
                for h in found
            ]
        )

    @router.post(
        "/handover/{handover_id}/release",
        response_model=EndedOut,
        responses=NOT_FOUND | CONFLICT | UNPROCESSABLE,
    )
    def release(
        handover_id: str, who: Annotated[Caller, Depends(decider)], body: EndIn | None = None
    ) -> EndedOut:
        """The sending doctor's Abmeldung is made: the next sync may register here (R-EP-5)."""
        return _end(who, handover_id, "released", body)

    @router.post(
        "/handover/{handover_id}/return",
        response_model=EndedOut,
        responses=NOT_FOUND | CONFLICT | UNPROCESSABLE,
    )
    def back(
        handover_id: str, who: Annotated[Caller, Depends(decider)], body: EndIn | None = None
    ) -> EndedOut:
        """The patient went back within the substitute time: never reported (R-ABS-3)."""
        return _end(who, handover_id, "returned", body)

    return router
