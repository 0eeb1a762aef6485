"""`/duplicates`: the register's duplicate notice (004 §10) over the API, the same use
cases as `substreg duplicate import|resolve` (adapter/services/duplicates.py, D-170,
D-171, D-191).

`POST /duplicates` takes the notice's JSON (D-170's format) and answers what `duplicate
import` shows: the local patients of its code through the audited re-identification, each
with the registration the doctor written to holds under it, and the other doctors the
register names; 404 when no local patient has the code. `POST /duplicates/resolve` records
what the doctors agreed, as `duplicate resolve` does. `GET /duplicates` lists the notices
received with their state and answer, as `duplicate list --format json` (D-233). A notice
that is not one is a 422
naming the field's path, and nothing is looked up or audited. Staff and doctors may import
(staff type the letter in); only doctors resolve (the answer is what the doctors agreed);
an admin, who sees no patient data, does neither (D-191).
"""

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field

from adapter.api.ingestion import BERLIN
from adapter.api.outcome import CONFLICT, ERRORS, NOT_FOUND, UNPROCESSABLE
from adapter.api.tenancy import Caller, Role, requires
from adapter.domain.duplicate_notice import DuplicateNotice, notice_of, refuse_letter_to_come
from adapter.domain.duplicates import Outcome
from adapter.errors import NoLocalPatient
from adapter.services.duplicate_letters import list_notices, notices_json
from adapter.services.duplicates import NO_LOCAL_PATIENT, Examined, examine, resolve

IMPORTERS = (Role.STAFF, Role.DOCTOR)  # who types the letter in; an admin sees no patient
RESOLVERS = (Role.DOCTOR,)  # the doctors' agreement is a doctor's word (D-191)
ANSWERS = NOT_FOUND | CONFLICT | UNPROCESSABLE
Ticket = Annotated[str | None, Field(None, max_length=64, description="the case's ticket, audited")]


class RegistrationOut(BaseModel):
    ledger_id: str
    first_use: date
    state: str
    open: bool = Field(description="whether the register holds it open")
    ended_by_blanket: date | None = Field(
        None, description="the day of the doctor's Pauschalabmeldung that ended it (R-PAU-1)"
    )


class LocalPatientOut(BaseModel):
    mapping_id: str
    patient: str = Field(description="Patient/<id> in the EHR: the re-identified patient")
    ehr: str = Field(description="the EHR's base URL")
    registration: RegistrationOut | None = Field(
        description="the doctor's latest Anmeldung under the code; null: none in the ledger"
    )


class OtherDoctorOut(BaseModel):
    name: str
    btm_number: str | None
    contact: str
    first_use: date


class ImportedOut(BaseModel):
    reference: str
    letter_date: date
    doctor_btm_number: str
    patients: list[LocalPatientOut]
    other_doctors: list[OtherDoctorOut]
    notice_id: str = Field(description="the notice as kept (`GET /duplicates`, D-233)")
    new: bool = Field(description="false: this letter was imported before, nothing new kept")


class NoticeOut(BaseModel):
    notice_id: str
    reference: str
    letter_date: date
    doctor_btm_number: str
    other_doctors: list[OtherDoctorOut]
    state: str = Field(description="open, or answered (open again once its report is rejected)")
    received_at: datetime
    answer: Outcome | None = Field(description="the `continues` answer recorded")
    ledger_id: str | None = Field(description="the agreement report of the answer")
    report_state: str | None = Field(description="that report's ledger state now")
    answered_at: datetime | None


class NoticesOut(BaseModel):
    notices: list[NoticeOut]


class ResolveIn(BaseModel):
    notice: dict[str, Any] = Field(description="the notice's JSON (D-170)")
    continues: Outcome = Field(description="who continues: us, other, different-people")
    last_use: date | None = Field(None, description="with `other`: the last day with us")
    mapping: str | None = Field(None, max_length=64, description="one of several patients")
    by: str | None = Field(None, max_length=7, description="the other doctor who continues")
    ticket: Ticket


class ResolvedOut(BaseModel):
    mapping_id: str
    ledger_id: str | None = Field(description="null: this answer was recorded before")
    kind: str
    date: date
    rule: str


def duplicates_router(caller: Callable[..., Caller]) -> APIRouter:
    router = APIRouter(tags=["duplicates"], responses=ERRORS | ANSWERS)
    importer = requires(*IMPORTERS, caller=caller)
    resolver = requires(*RESOLVERS, caller=caller)

    @router.post("/duplicates", response_model=ImportedOut)
    def import_notice(
        notice: Annotated[dict[str, Any], Body(description="the notice's JSON (D-170)")],
        who: Annotated[Caller, Depends(importer)],
        ticket: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    ) -> ImportedOut:
        """The local patients of the notice's code (audited), as `duplicate import`."""
        parsed = notice_of(notice)
        today = who.store.clock().astimezone(BERLIN).date()
        refuse_letter_to_come(parsed, today)
        examined = examine(who.store, who.actor, parsed, ticket, today=today)
        if not examined.found:  # the notice is kept all the same, as at the command line
            raise NoLocalPatient(NO_LOCAL_PATIENT)
        return imported(parsed, examined)

    @router.get("/duplicates", response_model=NoticesOut)
    def list_received(who: Annotated[Caller, Depends(importer)]) -> NoticesOut:
        """The notices received, open or answered, as `substreg duplicate list` (no code)."""
        return NoticesOut.model_validate(notices_json(list_notices(who.store)))

    @router.post("/duplicates/resolve", response_model=ResolvedOut)
    def resolve_notice(body: ResolveIn, who: Annotated[Caller, Depends(resolver)]) -> ResolvedOut:
        """Record the doctors' answer as a pending report (as `duplicate resolve`)."""
        parsed = notice_of(body.notice, at="notice.")
        today = who.store.clock().astimezone(BERLIN).date()
        refuse_letter_to_come(parsed, today, at="notice.")
        done = resolve(
            who.store,
            who.actor,
            parsed,
            body.continues,
            today=today,
            ticket=body.ticket,
            mapping_id=body.mapping,
            last_use=body.last_use,
            continuing_btm=body.by,
        )
        report = done.report
        return ResolvedOut(
            mapping_id=done.mapping_id,
            ledger_id=done.ledger_id,
            kind=report.kind,
            date=report.date,
            rule=report.rule,
        )

    return router


def imported(notice: DuplicateNotice, examined: Examined) -> ImportedOut:
    """What `duplicate import` prints, as JSON."""
    patients = []
    for item in examined.found:
        _, ehr, patient_id = item.match.reference.split("|", 2)
        registration = item.registration
        patients.append(
            LocalPatientOut(
                mapping_id=item.match.mapping_id,
                patient=f"Patient/{patient_id}",
                ehr=ehr,
                registration=None
                if registration is None
                else RegistrationOut(
                    ledger_id=registration.ledger_id,
                    first_use=registration.first_use,
                    state=registration.state,
                    open=registration.open,
                    ended_by_blanket=registration.ended_by_blanket.day
                    if registration.ended_by_blanket
                    else None,
                ),
            )
        )
    others = [
        OtherDoctorOut(
            name=o.name, btm_number=o.btm_number, contact=o.contact, first_use=o.first_use
        )
        for o in notice.other_doctors
    ]
    return ImportedOut(
        reference=notice.reference,
        letter_date=notice.letter_date,
        doctor_btm_number=notice.doctor_btm_number,
        patients=patients,
        other_doctors=others,
        notice_id=examined.kept.notice_id,
        new=examined.new,
    )
