"""The register's duplicate notice (004 §10): find the local patient, record the answer.

`examine` (`substreg duplicate import NOTICE`) re-identifies the notice's code through the
audited lookup (`lookup.reidentify`, PRIVACY.md T3) and shows, for each local patient of
that code, the registration the doctor written to holds under it. `resolve` (`substreg
duplicate resolve NOTICE --continues us|other|different-people`) records what the doctors
agreed as one report in the ledger, origin `agreement` (`adapter.domain.duplicates`),
sealed and chained into the audit log like every report, with an audit entry of the
outcome; it is approved and submitted like any other. The purpose of both is the notice's
date and reference, never the code (D-170, D-172). Both keep the notice, sealed, with its
state (`adapter.services.duplicate_letters`, D-233).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapter.domain.duplicate_notice import DuplicateNotice, OtherDoctor, refuse_letter_to_come
from adapter.domain.duplicates import (
    AGREEMENT,
    Outcome,
    agreed_answer,
    answers_by_id,
    contradicting,
    refuse_last_use_to_come,
)
from adapter.domain.model import Report
from adapter.domain.reconcile import Planned, Reported
from adapter.domain.register_view import Blanket, RegisterView, ending_blanket, register_order
from adapter.errors import (
    LookupRefused,
    NoLocalPatient,
    NoticeAnswered,
    NoticeError,
    SubstregError,
)
from adapter.services.duplicate_letters import KEPT_ON_ANSWER, keep_answer, keep_notice
from adapter.services.lookup import Match, reidentify, require_purpose
from adapter.services.register_status import blankets_by_doctor
from adapter.store.audit import Actor
from adapter.store.notice_letters import KeptNotice
from adapter.store.workspace import Store, Workspace

NO_LOCAL_PATIENT = "no local patient was reported under the notice's code"


@dataclass(frozen=True, slots=True)
class Registration:
    """The written-to doctor's latest Anmeldung under the notice's code (ledger view)."""

    ledger_id: str
    first_use: date
    state: str
    open: bool
    report: Report
    ended_by_blanket: Blanket | None = None  # R-PAU-1: the doctor's Pauschalabmeldung ended it


@dataclass(frozen=True, slots=True)
class Found:
    """A local patient of the notice's code, and their registration with its doctor."""

    match: Match
    registration: Registration | None


@dataclass(frozen=True, slots=True)
class Examined:
    """What `duplicate import` found, and the notice as kept (D-233)."""

    found: list[Found]
    kept: KeptNotice
    new: bool  # False: the same letter was imported before; nothing new was stored


@dataclass(frozen=True, slots=True)
class Resolution:
    mapping_id: str
    ledger_id: str | None  # None: this answer was recorded before (nothing new)
    report: Report


def notice_purpose(notice: DuplicateNotice) -> str:
    """The audited purpose of a notice's lookup: its date and reference, never the code."""
    return (
        f"Doppelmeldung der Bundesopiumstelle vom {notice.letter_date.isoformat()} "
        f"({notice.reference}), Arzt BtM-Nr. {notice.doctor_btm_number}"
    )


def examine(
    store: Store, actor: Actor, notice: DuplicateNotice, ticket: str | None, *, today: date
) -> Examined:
    """The local patients of the notice's code (audited), each with its registration; the
    notice kept as `open`, once per letter (D-233)."""
    refuse_letter_to_come(notice, today)
    purpose = notice_purpose(notice)
    require_purpose(purpose, ticket)

    def work(space: Workspace) -> Examined | str:
        refuse_unknown_doctor(space, notice)
        matches = reidentify(
            space, actor, notice.patient_code, purpose, ticket, counted=_first(space, notice)
        )
        if isinstance(matches, str):
            return matches
        found = [Found(m, registration_of(space, m.mapping_id, notice)) for m in matches]
        kept, new = keep_notice(space, actor, notice)
        return Examined(found, kept, new)

    found = store.run(actor, work)
    if isinstance(found, str):
        raise LookupRefused(found)
    return found


def resolve(
    store: Store,
    actor: Actor,
    notice: DuplicateNotice,
    outcome: Outcome,
    *,
    today: date,
    ticket: str | None = None,
    mapping_id: str | None = None,
    last_use: date | None = None,
    continuing_btm: str | None = None,
) -> Resolution:
    """Record the answer the doctors agreed (004 §10) as a pending report (D-171).

    What the command line can say wrong is refused before the lookup; what only the
    ledger can tell (no registration, one ended already) is refused after it, and the
    lookup stays audited: the patient was re-identified all the same."""
    refuse_letter_to_come(notice, today)
    purpose = notice_purpose(notice)
    require_purpose(purpose, ticket)
    if (outcome == "other") != (last_use is not None):
        msg = "--last-use goes with --continues other, and --continues other needs it"
        service = '"last_use" goes with "continues": "other", and "other" needs it'
        raise NoticeError(msg, field="last_use", service=service)
    refuse_last_use_to_come(last_use, today)
    continuing = _continuing(notice, continuing_btm) if outcome == "other" else None

    def work(space: Workspace) -> Resolution | SubstregError:
        refuse_unknown_doctor(space, notice, at="notice.")
        _refuse_unknown_mapping(space, mapping_id)
        matches = reidentify(
            space, actor, notice.patient_code, purpose, ticket, counted=_first(space, notice)
        )
        if isinstance(matches, str):
            return LookupRefused(matches)
        try:
            match = _one(matches, mapping_id)
            registration = _registration(space, match.mapping_id, notice)
            answer = agreed_answer(
                notice,
                outcome,
                registration.report,
                made_on=today,
                last_use=last_use,
                continuing=continuing,
            )
        except NoticeError as exc:
            # Raised once the lookup's audit entries are kept, and the letter with them: it
            # was looked up, so a corrected answer spends no second lookup (D-254).
            keep_notice(space, actor, notice, KEPT_ON_ANSWER)
            return exc
        refused = _contradicted(space, match.mapping_id, notice, registration.report, outcome)
        if refused is not None:
            return NoticeAnswered(refused)
        if outcome != "different-people" and not registration.open:
            before = _answered(space, match.mapping_id, answer)
            if before is None:
                return NoticeError(_ended(registration, outcome))
            keep_answer(space, actor, notice, outcome, before)
            return Resolution(match.mapping_id, None, answer)
        done = _record(
            space,
            actor,
            answer,
            mapping_id=match.mapping_id,
            dek_id=space.ledger.entry(registration.ledger_id).dek_id,
            outcome=outcome,
            purpose=purpose,
            ticket=ticket,
        )
        recorded = done.ledger_id or _answered(space, match.mapping_id, answer)
        if recorded is not None:  # None: only when the ledger refused the slot otherwise
            keep_answer(space, actor, notice, outcome, recorded)
        return done

    done = store.run(actor, work)
    if isinstance(done, SubstregError):
        raise done
    return done


def refuse_unknown_doctor(space: Workspace, notice: DuplicateNotice, *, at: str = "") -> None:
    """004 §10: the register writes only to a doctor who registered the code, so the doctor
    written to has reports in this ledger; a notice to any other BtM number is not this
    practice's (or mistyped) and is refused before the lookup, nothing kept (D-254). Reads
    the ledger's clear doctor column only."""
    doctor = notice.doctor_btm_number
    if any(entry.doctor_btm == doctor for entry in space.ledger.entries()):
        return
    msg = (
        f"the ledger holds no report of the doctor with BtM number {doctor}: the register "
        "writes only to a doctor who registered the code, so the notice is not addressed to "
        "this practice, or its BtM number is mistyped; nothing was looked up or kept"
    )
    raise NoticeError(msg, field=f"{at}doctor_btm_number")


def _first(space: Workspace, notice: DuplicateNotice) -> bool:
    """Whether looking this letter up counts against the hourly limit: not when the same
    letter is kept already, since it was looked up then and names the same code; every
    showing is audited all the same (`lookup.repeat`, D-254)."""
    return space.notice_letters.find(notice) is None


def _refuse_unknown_mapping(space: Workspace, mapping_id: str | None) -> None:
    """A --mapping that names no patient of this installation at all is a typing error,
    refused before the lookup (whether it is one of the notice's patients, only the lookup
    can tell)."""
    if mapping_id is None:
        return
    try:
        space.mappings.get(mapping_id)
    except KeyError:
        msg = f"mapping {mapping_id} is no patient of this installation"
        raise NoticeError(msg, field="mapping") from None


def _ended(registration: Registration, outcome: Outcome) -> str:
    """Why an ended registration takes no answer but `different-people` (R-PAU-1), and
    what to do instead."""
    since = registration.first_use.isoformat()
    blanket = registration.ended_by_blanket
    if blanket is None:
        return (
            f"the registration since {since} is ended already: this doctor neither continues it "
            "nor can end it again"
        )
    ended = (
        f"the registration since {since} was ended by the Pauschalabmeldung of "
        f"{blanket.day.isoformat()} ({blanket.state})"
    )
    if outcome == "us":
        return (
            f"{ended}: the doctor left and cannot continue it (R-PAU-1), so nothing was "
            "recorded. If the patient stays in the practice, the successor registers them "
            "anew (R-CHG-6: the next sync records that Anmeldung from the data); if the "
            "codes belong to two people, answer that (continues: different-people)"
        )
    return (
        f"{ended}: it ends the treatment at the register, so no Abmeldung is recorded "
        "(R-PAU-1) and nothing was; if the codes belong to two people, answer that "
        "(continues: different-people)"
    )


def _registration(space: Workspace, mapping_id: str, notice: DuplicateNotice) -> Registration:
    registration = registration_of(space, mapping_id, notice)
    if registration is None:
        msg = (
            f"the ledger holds no Anmeldung of doctor {notice.doctor_btm_number} under the "
            f"notice's code for mapping {mapping_id}: nothing to answer from here"
        )
        raise NoticeError(msg)
    return registration


def registration_of(
    space: Workspace, mapping_id: str, notice: DuplicateNotice
) -> Registration | None:
    """The doctor's latest Anmeldung under the notice's code, and whether the register
    holds it open, from the reports sent or going to be (R-EP-4, R-CODE-8)."""
    doctor = notice.doctor_btm_number
    entries = sorted(
        (r for r in space.ledger.reported([mapping_id]) if r.doctor == doctor and r.at_register),
        key=lambda r: register_order(r.kind, r.date),
    )
    blankets = blankets_by_doctor(space).get(doctor, [])
    steps: list[tuple[str, date, str | None, Report | None]] = [
        (r.kind, r.date, r.code, r.report) for r in entries
    ]
    steps += [("pauschalabmeldung", b.day, None, None) for b in blankets]  # R-PAU-1
    view = RegisterView(sorted(steps, key=lambda s: register_order(s[0], s[1])))
    latest: Reported | None = None
    for entry in entries:
        if entry.kind == "anmeldung" and entry.code == notice.patient_code:
            latest = entry
    if latest is None or latest.report is None:
        return None
    still_open = view.open_since == latest.date and view.open_code() == notice.patient_code
    ended = ending_blanket(blankets, latest.date) if view.blanketed else None
    return Registration(
        latest.ledger_id, latest.date, latest.state, still_open, latest.report, ended
    )


def _contradicted(
    space: Workspace,
    mapping_id: str,
    notice: DuplicateNotice,
    registration: Report,
    outcome: Outcome,
) -> str | None:
    """Why a different answer to this notice, recorded before and standing, refuses this
    one (D-204), or None."""
    answers = answers_by_id(notice, registration)
    for entry in space.ledger.entries(mapping_ids=[mapping_id]):
        if entry.origin != AGREEMENT:
            continue
        earlier = answers.get(space.ledger.payload(entry).id)
        if earlier is not None:
            refused = contradicting(earlier, outcome, entry.ledger_id, entry.state)
            if refused is not None:
                return refused
    return None


def _answered(space: Workspace, mapping_id: str, answer: Report) -> str | None:
    """The ledger id of this answer recorded before (the same notice and registration),
    or None."""
    found = [
        e
        for e in space.ledger.entries(mapping_ids=[mapping_id])
        if e.origin == AGREEMENT and space.ledger.payload(e).id == answer.id
    ]
    standing = [e for e in found if e.state != "rejected"]  # D-204: a rejected one is over
    return (standing or found)[-1].ledger_id if found else None


def _one(matches: list[Match], mapping_id: str | None) -> Match:
    if mapping_id is not None:
        chosen = [m for m in matches if m.mapping_id == mapping_id]
        if not chosen:
            msg = f"mapping {mapping_id} is not one of the notice's local patients"
            raise NoticeError(msg, field="mapping")
        return chosen[0]
    if not matches:
        raise NoLocalPatient(NO_LOCAL_PATIENT)
    if len(matches) > 1:
        msg = f"{len(matches)} local patients have the notice's code: choose one with --mapping"
        service = f'{len(matches)} local patients have the notice\'s code: choose one as "mapping"'
        raise NoticeError(msg, field="mapping", service=service)
    return matches[0]


def _continuing(notice: DuplicateNotice, btm: str | None) -> OtherDoctor:
    """The other doctor who continues: the only one, or the one with BtM number `btm`."""
    others = notice.other_doctors
    if btm is not None:
        chosen = [o for o in others if o.btm_number == btm]
        if not chosen:
            msg = f"the notice names no other doctor with BtM number {btm}"
            raise NoticeError(msg, field="by")
        return chosen[0]
    if len(others) > 1:
        msg = "the notice names several other doctors: say who continues with --by"
        service = 'the notice names several other doctors: say who continues as "by"'
        raise NoticeError(msg, field="by", service=service)
    return others[0]


def _record(
    space: Workspace,
    actor: Actor,
    answer: Report,
    *,
    mapping_id: str,
    dek_id: str,
    outcome: Outcome,
    purpose: str,
    ticket: str | None,
) -> Resolution:
    """The answer into the ledger under the patient's data key, and into the audit log."""
    ledger_id = space.ledger.record(Planned(mapping_id, answer, AGREEMENT), dek_id)
    if ledger_id is not None:
        space.audit.append(
            actor,
            "report.record",
            mapping_id=mapping_id,
            ledger_id=ledger_id,
            details={"kind": answer.kind, "rule": answer.rule, "origin": AGREEMENT},
        )
        space.audit.append(
            actor,
            "duplicate.resolve",
            mapping_id=mapping_id,
            ledger_id=ledger_id,
            purpose=purpose,
            ticket=ticket,
            details={"outcome": outcome},
        )
    return Resolution(mapping_id, ledger_id, answer)
