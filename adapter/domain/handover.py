"""The handover of a patient in substitution to another facility (R-HO-1, 004 §3.8).

A handover states the register status, so that nobody is registered twice: who
registered the patient, since when, under which code and substance, the last report
sent and its receipt. This module holds the document's content as plain values, and
the rules of what follows for the receiving doctor: continue as a substitute for at
most 30 days (R-ABS-1, R-ABS-3), else re-register after the sending doctor's
Abmeldung (R-ABS-2, R-EP-2); and while the first registration is open, a second
Anmeldung under the same code is held back (R-EP-5, R-HO-1): `handover_decision`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from adapter.domain.model import RegisterDoctor, Report
from adapter.domain.register_view import Blanket

_Day = date  # fields named `date` below would shadow the type under slots

SUBSTITUTE_DAYS = 30  # R-ABS-1, R-ABS-3: at most 30 consecutive days without re-registration
# The longest wait the rules have after the last data (as a forecast's D-210): a last dose
# further before the handover day than this, under a treatment stated as going on, shows
# data that stopped, not a patient still dosed.
STALE_AFTER = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class HandedPatient:
    """The person as the sending EHR names them (in the document only, never in a log)."""

    family: str
    given: str
    birth_date: str | None  # FHIR date, possibly partial
    sex: str | None  # "F"/"M"


@dataclass(frozen=True, slots=True)
class LastReport:
    """The newest report the sending installation made for the patient, and its proof."""

    kind: str
    date: _Day
    made_on: _Day
    state: str  # the ledger state: pending … acknowledged
    sent_at: str | None = None  # ISO instant the batch was sent
    receipt: str | None = None  # the batch the register's receipt acknowledges, when one came
    received_at: str | None = None  # the receipt's time


@dataclass(frozen=True, slots=True)
class Registration:
    """The open registration: the Anmeldung the register holds (or is about to)."""

    code: str
    doctor: RegisterDoctor
    since: _Day
    substance: str
    state: str  # the Anmeldung's ledger state
    # An Abmeldung recorded here but not yet sent (pending, approved, queued): the register
    # still holds the registration until it is sent (D-256), so it stays open; its day.
    unsent_abmeldung: _Day | None = None
    unsent_abmeldung_state: str | None = None


@dataclass(frozen=True, slots=True)
class Handover:
    """What `handover export` puts in the document, and `handover import` reads back."""

    document_id: str
    day: _Day  # the day of the handover
    sender: str  # the sending facility, as the sender names itself
    receiver: str  # the receiving facility
    patient: HandedPatient
    substance: str | None
    last_dose: _Day | None  # the last day a dose was given or handed out
    covered_until: _Day | None  # the take-home reach: the last day the patient has doses for
    consultant: RegisterDoctor | None
    registration: Registration | None  # None: nothing open at the register
    last_report: LastReport | None
    # None, or the doctor's blanket deregistration that ended the last registration
    # (R-PAU-1, D-203): the status says so instead of "no open registration" alone.
    ended_by_blanket: Blanket | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One thing that follows for the receiving side, with its rule and day: `text` for
    the CLI and the API (English, as the rest of the CLI), `german` for the PDF."""

    rule: str
    text: str
    german: str
    due: _Day | None = None


def substitute_until(day: date) -> date:
    """The last day the receiving doctor may treat as a substitute without re-registering:
    the 30th day counted from the handover day (R-ABS-1, R-ABS-3)."""
    return day + timedelta(days=SUBSTITUTE_DAYS - 1)


def ending_refused(how: str, handover_day: date, on: date) -> str | None:
    """Why a handover received here cannot be ended on `on`, else None (D-244). Neither a
    release nor a return happens before the handover began; and a patient back after day
    30 was no substitute's patient (R-ABS-1, R-ABS-3): the stay here was longer than a
    substitution, re-registration is due (R-ABS-2), so it ends as `released` once the
    sending doctor's Abmeldung is made, never as `returned` (that waives its reports)."""
    if on < handover_day:
        return (
            f"The day {on.isoformat()} lies before the handover day "
            f"{handover_day.isoformat()}: a handover is released or returned on or after "
            "the day it began; give the day the Abmeldung was made or the patient went back."
        )
    until = substitute_until(handover_day)
    if how == "returned" and on > until:
        return (
            f"The day back {on.isoformat()} lies after day 30 of the handover "
            f"({until.isoformat()}): a stay of more than 30 days is no substitution and is "
            "reported here (R-ABS-1, R-ABS-2, R-ABS-3); release the handover instead once the "
            "sending doctor's Abmeldung is made (`substreg handover release`)."
        )
    return None


def export_day_refused(day: date, synced_to: date | None) -> str | None:
    """Why a handover cannot be exported on `day`, else None (R-HO-1, D-245): the store
    holds the treatment and the register status as the last sync walked them to
    `synced_to`, not as of an earlier day, so a document of an earlier handover day would
    state what happened after it (an Abmeldung, a treatment ended) as its status then."""
    if synced_to is None or day >= synced_to:
        return None
    return (
        f"The handover day {day.isoformat()} lies before the day this patient's data was "
        f"last synced to ({synced_to.isoformat()}): the stored treatment and register "
        "status are those of that day, not of the handover day, and the document would "
        f"state them as its own. Export with the handover day {synced_to.isoformat()} or "
        "later, or tell the receiver what changed since the handover."
    )


def export_warnings(handover: Handover, synced_to: date | None) -> tuple[str, ...]:
    """What a person exporting a handover should know of the data behind it (R-HO-1,
    D-245, as a forecast's D-210): synced to a day before the handover day, and a
    treatment stated as going on whose last dose lies long before it."""
    found = []
    day = handover.day
    if synced_to is not None and synced_to < day:
        found.append(
            f"This patient's data was synced to {synced_to.isoformat()}, "
            f"{(day - synced_to).days} day(s) before the handover day {day.isoformat()}: the "
            "document states the treatment and register status of that day; sync the "
            "current export first if anything happened since."
        )
    last = handover.last_dose
    if handover.substance and last is not None and day - last > STALE_AFTER:
        found.append(
            "The document states a treatment going on with the last dose on "
            f"{last.isoformat()}, {(day - last).days} days before the handover day: "
            "the synced data looks stale; sync the current export before handing over."
        )
    return tuple(found)


def next_steps(handover: Handover) -> tuple[Step, ...]:
    """What follows for the receiving doctor (R-HO-1, R-ABS-1/2/3, R-EP-2, R-EP-5)."""
    reg = handover.registration
    if reg is None:
        text = (
            "No registration is open at the register: the receiving doctor registers the "
            "patient when treatment goes on (Anmeldung, R-EP-1)."
        )
        german = (
            "Keine Anmeldung im Register offen: die übernehmende Ärztin oder der übernehmende "
            "Arzt meldet die Patientin oder den Patienten an, wenn die Behandlung weitergeht "
            "(Anmeldung, R-EP-1)."
        )
        return (Step("R-EP-1", text, german),)
    until = substitute_until(handover.day)
    steps = list(_unsent_abmeldung(reg))
    steps += [
        Step(
            "R-ABS-1",
            f"Continue as a substitute (Vertretung) up to {until.isoformat()}: no Anmeldung "
            "here; the registered doctor stays the reporting doctor (R-ABS-1, R-ABS-3).",
            f"Weiterbehandlung als Vertretung bis einschließlich {until:%d.%m.%Y}: hier keine "
            "Anmeldung; die angemeldete Ärztin oder der angemeldete Arzt bleibt meldend "
            "(R-ABS-1, R-ABS-3).",
            until,
        ),
        Step(
            "R-ABS-2",
            f"If treatment stays here beyond {until.isoformat()}: re-register (Anmeldung "
            "here) once the sending doctor's Abmeldung is made; until then this "
            "installation holds a second Anmeldung back (R-EP-5).",
            f"Bleibt die Behandlung über den {until:%d.%m.%Y} hinaus hier: Neuanmeldung "
            "(Anmeldung hier), sobald die Abmeldung der abgebenden Ärztin oder des "
            "abgebenden Arztes erfolgt ist; bis dahin hält diese Installation eine zweite "
            "Anmeldung zurück (R-EP-5).",
            until + timedelta(days=1),
        ),
        Step(
            "R-EP-2",
            f"Abmeldung due from the sending doctor ({doctor_label(reg.doctor)}) when the "
            "treatment there ends; the receiving side confirms it with `substreg handover "
            "release`. If the patient goes back within the substitute time instead, "
            "`substreg handover return` (the stay here is never reported).",
            f"Abmeldung durch die abgebende Ärztin oder den abgebenden Arzt "
            f"({doctor_label_de(reg.doctor)}), wenn die Behandlung dort endet; die "
            "übernehmende Seite bestätigt sie mit `substreg handover release`. Kehrt die "
            "Patientin oder der Patient stattdessen innerhalb der Vertretungszeit zurück: "
            "`substreg handover return` (der Aufenthalt hier wird nie gemeldet).",
        ),
    ]
    return tuple(steps)


def _unsent_abmeldung(reg: Registration) -> tuple[Step, ...]:
    """R-EP-5, D-256: an Abmeldung recorded but not yet sent leaves the registration open
    at the register, so the receiver holds its Anmeldung back until it is sent."""
    if reg.unsent_abmeldung is None:
        return ()
    day, state = reg.unsent_abmeldung, reg.unsent_abmeldung_state or "pending"
    return (
        Step(
            "R-EP-5",
            f"An Abmeldung of {day.isoformat()} is recorded but not yet sent ({state}): the "
            "register still holds the registration; treat it as open and make no Anmeldung "
            "until the Abmeldung is sent.",
            f"Eine Abmeldung zum {day:%d.%m.%Y} ist erfasst, aber noch nicht gesendet "
            f"({state}): das Register führt die Anmeldung weiter; sie gilt als offen, bis "
            "die Abmeldung gesendet ist; bis dahin keine Anmeldung.",
            day,
        ),
    )


def doctor_label(doctor: RegisterDoctor) -> str:
    """`Given Family, BtM 1234567` (what the register knows the doctor by)."""
    name = " ".join(p for p in (doctor.given_name, doctor.family_name) if p) or "name unknown"
    return f"{name}, BtM {doctor.btm_number or 'unknown'}"


def doctor_label_de(doctor: RegisterDoctor) -> str:
    """`Vorname Name, BtM-Nr. 1234567`: the doctor as the German document names them."""
    name = " ".join(p for p in (doctor.given_name, doctor.family_name) if p)
    return f"{name or 'Name unbekannt'}, BtM-Nr. {doctor.btm_number or 'unbekannt'}"


HandoverState = Literal["open", "released", "returned", "replaced"]


@dataclass(frozen=True, slots=True)
class Received:
    """A registration a handover document received here states, as the receiver keeps it."""

    code: str
    holder_btm: str | None  # the BtM number of the doctor who registered the patient
    state: HandoverState
    ended_on: _Day | None = None  # released: the sender's Abmeldung; returned: the day back


HandoverDecision = Literal["hold", "waive"]


def handover_decision(report: Report, received: Mapping[str, Received]) -> HandoverDecision | None:
    """What a handover received here decides for one of this installation's reports
    (R-HO-1): `received` maps each code to the newest handover stating it.

    - open: another doctor's Anmeldung or Abmeldung under the code is held back, not
      made, while the first doctor's registration is open (R-EP-5: nobody twice);
    - returned: the patient went back within the substitute time, so the stay here was
      a substitution and its reports up to the day back are never made (R-ABS-1, R-ABS-3);
    - released (the sending doctor's Abmeldung is made), replaced (a newer copy of the
      same registration holds instead, D-201) or no handover: nothing.
    The registering doctor's own reports are never touched."""
    if report.kind not in ("anmeldung", "abmeldung") or report.patient_code is None:
        return None
    found = received.get(report.patient_code)
    if found is None or found.holder_btm == report.doctor.btm_number:
        return None
    if found.state == "open":
        return "hold"
    if found.state == "returned" and found.ended_on is not None:
        return "waive" if report.date <= found.ended_on else None
    return None


def return_contradicted(
    reports: Iterable[Report], received: Mapping[str, Received]
) -> Report | None:
    """The Abmeldung among one patient's reports here that contradicts a return, else None
    (R-HO-1, R-ABS-1, R-ABS-3, D-258). A return waives the reports of a stay that ended by
    the day back; an Abmeldung here dated after that day, ending a stay that began by it,
    says doses were given here after the patient went back. Waiving the Anmeldung and
    making the Abmeldung would leave the register a lone Abmeldung and an unregistered
    stay of more than a substitution, so both wait for a person (never silent)."""
    mine = list(reports)
    for abmeldung in mine:
        found = _returned(abmeldung, received)
        if found is None or abmeldung.kind != "abmeldung" or found.ended_on is None:
            continue
        if abmeldung.date <= found.ended_on:
            continue
        began = [
            r.date
            for r in mine
            if r.kind == "anmeldung"
            and r.patient_code == abmeldung.patient_code
            and r.doctor.btm_number == abmeldung.doctor.btm_number
            and r.date <= abmeldung.date
        ]
        # No Anmeldung known: the stay began before anything here, so by the day back too.
        if not began or max(began) <= found.ended_on:
            return abmeldung
    return None


def _returned(report: Report, received: Mapping[str, Received]) -> Received | None:
    """The returned handover stating the code of another doctor's report, else None."""
    if report.patient_code is None:
        return None
    found = received.get(report.patient_code)
    if found is None or found.state != "returned" or found.holder_btm == report.doctor.btm_number:
        return None
    return found
