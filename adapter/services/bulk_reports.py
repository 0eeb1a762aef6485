"""`substreg inventory` and `substreg blanket-deregistration`: the register's bulk reports
(R-INV-1, R-PAU-1, 004 §3.6, §3.7), made from the ledger of a synced installation.

Both record pending reports in the ledger, which then go through approval, sealing, the
outbox and the transports like every other report. The inventory report is one report per
patient the doctor holds open on the key date, each sealed under the patient's data key;
the blanket deregistration is one report of the practice (it names no patient). Made
twice for the same day and doctor, they record nothing new: the slots decide.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from adapter.domain.bulk import Held, blanket_report, held_open, inventory_reports
from adapter.domain.bulk_deceased import Deceased, deceased_problem
from adapter.domain.model import RegisterDoctor
from adapter.domain.reconcile import Planned, Reported
from adapter.errors import BulkReportError, DamagedDataError, ShreddedError, StoredFormatError
from adapter.services.handover_status import full_records, last_dose
from adapter.store.audit import Actor
from adapter.store.workspace import Store, Workspace

__all__ = [
    "BlanketPlan",
    "BulkResult",
    "Deceased",
    "blanket_deregistration",
    "check_deceased",
    "inventory",
    "plan_blanket",
]

_UNSENT = frozenset({"pending", "approved"})
COVERED_NOTE = "withdrawn: the blanket deregistration of {day} ends this treatment (R-PAU-1)"


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What was recorded (ledger ids), by doctor, and how many were in the ledger already."""

    recorded: dict[str, tuple[str, ...]]  # BtM number → ledger ids
    already: int = 0
    withdrawn: tuple[str, ...] = ()  # single Abmeldungen the blanket covers, taken back


@dataclass(frozen=True, slots=True)
class BlanketPlan:
    """What a blanket deregistration will do: our ids and counts only, and the remarks it
    carries as stored (the statement; for a deceased doctor also who declares it)."""

    doctor: str
    day: date
    ends: tuple[str, ...]  # mapping ids of the registrations it ends
    withdraws: tuple[str, ...]  # ledger ids of unsent single Abmeldungen it covers
    made_already: bool
    remarks: tuple[str, ...] = ()
    dosed_after: int = 0  # registrations it ends whose patient had a dose after `day`
    last_dose: date | None = None  # the latest of those doses (D-249)


def inventory(
    store: Store, actor: Actor, *, key_date: date, today: date, doctor: str | None = None
) -> BulkResult:
    """R-INV-1: an Inventur-Meldung for every patient each doctor (or `doctor`) holds open
    on `key_date`, recorded as pending; audited with counts only."""
    _not_to_come(key_date, today, "key date")

    def make(space: Workspace) -> BulkResult:
        reported = _readable(space, doctor)
        doctors = [doctor] if doctor else sorted({r.doctor for r in reported if r.doctor})
        recorded: dict[str, tuple[str, ...]] = {}
        already = 0
        for btm in doctors:
            held = held_open(reported, btm, key_date)
            planned = inventory_reports(held, _doctor_data(reported, btm), key_date)
            ids = _record(space, planned, _keys_of(space, held))
            recorded[btm] = tuple(i for i in ids if i is not None)
            already += sum(i is None for i in ids)
        space.audit.append(
            actor,
            "report.inventory",
            details={
                "key_date": key_date.isoformat(),
                "doctors": len(doctors),
                "recorded": sum(len(ids) for ids in recorded.values()),
                "already": already,
            },
        )
        return BulkResult(recorded, already)

    return store.run(actor, make)


def plan_blanket(
    store: Store,
    actor: Actor,
    *,
    doctor: str,
    day: date,
    today: date,
    deceased: Deceased | None = None,
) -> BlanketPlan:
    """What `blanket_deregistration` would do; nothing is written."""
    asked = _Asked(doctor, day, today, deceased)
    asked.check()
    return store.run(actor, lambda space: _with_doses(space, asked.plan(space)[2]))


@dataclass(frozen=True, slots=True)
class _Asked:
    """A blanket deregistration as asked for: the plan and `blanket_deregistration` check
    and plan it alike."""

    doctor: str
    day: date
    today: date
    deceased: Deceased | None

    def check(self) -> None:
        _not_to_come(self.day, self.today, "date")
        check_deceased(self.deceased, doctor=self.doctor, day=self.day, today=self.today)

    def plan(self, space: Workspace) -> tuple[list[Reported], Planned, BlanketPlan]:
        reported = _readable(space, self.doctor)
        doctor_data = _doctor_data(reported, self.doctor)
        planned = blanket_report(doctor_data, self.day, made_on=self.today, deceased=self.deceased)
        return reported, planned, _checked_plan(reported, self.doctor, self.day, planned)


def blanket_deregistration(
    store: Store,
    actor: Actor,
    *,
    doctor: str,
    day: date,
    today: date,
    deceased: Deceased | None = None,
) -> BulkResult:
    """R-PAU-1: record the blanket deregistration of `doctor` on `day` as pending, and take
    back the single Abmeldungen not yet sent that it covers (D-166); audited. `deceased`:
    the doctor died, and a successor or an employee declares it (004 §3.7, D-197)."""
    asked = _Asked(doctor, day, today, deceased)
    asked.check()

    def make(space: Workspace) -> BulkResult:
        reported, planned, plan = asked.plan(space)
        replaced = _free_rejected_slot(space, reported, planned)
        [ledger_id] = _record(space, [planned], {})
        if ledger_id is None:
            return BulkResult({doctor: ()}, already=1)
        note = COVERED_NOTE.format(day=day.isoformat())
        for covered in plan.withdraws:
            space.ledger.withdraw(covered, by="withdrawn", run_id=ledger_id, note=note)
        space.audit.append(
            actor,
            "report.blanket",
            ledger_id=ledger_id,
            details={
                "day": day.isoformat(),
                "ends": len(plan.ends),
                "withdrawn": len(plan.withdraws),
                "deceased": deceased is not None,
                "replaces": list(replaced),
            },
        )
        return BulkResult({doctor: (ledger_id,)}, withdrawn=plan.withdraws)

    return store.run(actor, make)


def _free_rejected_slot(
    space: Workspace, reported: list[Reported], planned: Planned
) -> tuple[str, ...]:
    """D-248: a blanket deregistration rejected (by a person or the register) decided that
    it is not to be sent; it does not decide that none is. Unlike a single report, which
    sync makes again from the data and a rejection must keep from coming back (D-80), a
    blanket is only ever made by a person asking for it: its slot only keeps the same
    request twice from recording two. So the rejected one gives up its slot to the new one
    and stays in the ledger as the record (rejected, with its note)."""
    rejected = tuple(
        r.ledger_id for r in reported if r.state == "rejected" and r.slot == planned.slot
    )
    for ledger_id in rejected:
        space.ledger.withdraw(ledger_id, by="replaced", run_id="blanket", note="")
    return rejected


def _with_doses(space: Workspace, plan: BlanketPlan) -> BlanketPlan:
    """D-249: how many of the registrations it ends had a dose after its date, in the
    records the last sync kept: the date may be wrong. A warning, not a refusal: a colleague
    may have gone on giving doses until the successor's Anmeldung. Read as `handover export`
    reads a patient's last dose; a patient whose records cannot be read is left out (this
    only warns; the blanket itself rests on the ledger)."""
    if not plan.ends or plan.made_already:
        return plan
    after = []
    for mapping in space.mappings.get_many(list(plan.ends)).values():
        try:
            last = last_dose(full_records(space, mapping, mapping.mapping_id))
        except (DamagedDataError, ShreddedError, StoredFormatError):
            continue
        if last is not None and last > plan.day:
            after.append(last)
    return replace(plan, dosed_after=len(after), last_dose=max(after, default=None))


def check_deceased(deceased: Deceased | None, *, doctor: str, day: date, today: date) -> None:
    """BulkReportError when the declaration for a deceased doctor cannot be recorded."""
    if deceased is None:
        return
    _not_to_come(deceased.died_on, today, "date of death")
    problem = deceased_problem(deceased, day, doctor)
    if problem is not None:
        msg = f"The blanket deregistration of a deceased doctor is not made: {problem}."
        raise BulkReportError(msg)


def _checked_plan(
    reported: list[Reported], doctor: str, day: date, planned: Planned
) -> BlanketPlan:
    """The plan, or BulkReportError when the blanket cannot be recorded (D-212): another
    blanket of the doctor is pending or sent, or nothing is open on `day` to end. The same
    day made again is no refusal: it records nothing (the slot decides), unless what it
    would say differs from the one recorded (D-248)."""
    if not any(r.doctor == doctor for r in reported):
        raise _unknown_doctor(doctor)  # not "nothing open": the number may be mistyped
    plan = replace(_blanket_plan(reported, doctor, day), remarks=planned.report.remarks)
    if plan.made_already:
        _same_declaration(reported, planned)
        return plan
    other = next(
        (
            r
            for r in reported
            if r.kind == "pauschalabmeldung" and r.doctor == doctor and _still_stands(r, day)
        ),
        None,
    )
    if other is not None:
        msg = (
            f"The doctor {doctor} has a blanket deregistration already ({other.ledger_id}, "
            f"{other.date.isoformat()}, {other.state}): a doctor leaves once; reject that "
            "one first if its date is wrong; nothing was written."
        )
        raise BulkReportError(msg)
    if not plan.ends:
        msg = (
            f"The doctor {doctor} has no registration open on {day.isoformat()} "
            "(the treatments ended before, and their Abmeldungen are sent or going to be): "
            "there is nothing to deregister; nothing was written."
        )
        raise BulkReportError(msg)
    return plan


def _same_declaration(reported: list[Reported], planned: Planned) -> None:
    """D-248: the blanket of the same doctor and day is in the ledger (pending, or on its
    way): asked for again with other remarks (another declarant or successor, another date
    of death, a deceased doctor's where the doctor's own was made, or the reverse), it is
    refused, not answered with "made already": that one would be sent, not this."""
    held = next((r for r in reported if r.at_register and r.slot == planned.slot), None)
    if held is None or held.report is None or held.report.remarks == planned.report.remarks:
        return
    undo = (
        f"reject it first (`substreg reports reject {held.ledger_id} --reason …`)"
        if held.state in _UNSENT
        else "it was sealed for the register already and stands"
    )
    msg = (
        f"The blanket deregistration of doctor {held.doctor} on {held.date.isoformat()} is "
        f"in the ledger already ({held.ledger_id}, {held.state}) with another statement or "
        f"declaration: {undo}; nothing was written."
    )
    raise BulkReportError(msg)


def _still_stands(blanket: Reported, day: date) -> bool:
    """Another blanket that bars one on `day`: any sent or going to be, but one the register
    acknowledged before `day` (the doctor came back; this one ends what began since)."""
    past = blanket.state == "acknowledged" and blanket.date < day
    return blanket.at_register and not past


def _blanket_plan(reported: list[Reported], doctor: str, day: date) -> BlanketPlan:
    """The registrations the register holds open on `day` once the doctor's unsent single
    Abmeldungen dated on or after it are left out: those the blanket ends; those Abmeldungen
    it takes back. One dated before `day` stays and is sent: the register takes reports in
    date order, so it ends that treatment on its own day, and the blanket does not (D-211)."""
    unsent = [
        r
        for r in reported
        if r.doctor == doctor and r.kind == "abmeldung" and r.state in _UNSENT and r.date >= day
    ]
    skipped = {r.ledger_id for r in unsent}
    held = held_open([r for r in reported if r.ledger_id not in skipped], doctor, day)
    ends = {h.subject for h in held}
    made = any(
        r.kind == "pauschalabmeldung" and r.doctor == doctor and r.date == day and r.at_register
        for r in reported
    )
    return BlanketPlan(
        doctor,
        day,
        tuple(sorted(ends)),
        tuple(sorted(r.ledger_id for r in unsent if r.subject in ends)),
        made,
    )


def _readable(space: Workspace, doctor: str | None) -> list[Reported]:
    """The ledger's reports (of the doctor's patients, and the practice's): refused as a
    whole when one cannot be read, since a registration it holds might be left out."""
    entries = space.ledger.entries()
    subjects = sorted(
        {e.mapping_id for e in entries if e.mapping_id and doctor in (None, e.doctor_btm)}
    )
    reported = space.ledger.reported(subjects, notices=True)
    if space.ledger.unreadable:
        count = len(space.ledger.unreadable)
        msg = (
            f"{count} report(s) of the ledger cannot be read or fail their check, so a "
            "registration might be left out: see `substreg audit verify`; nothing was written."
        )
        raise BulkReportError(msg)
    return reported


def _doctor_data(reported: list[Reported], doctor: str) -> RegisterDoctor:
    """The doctor's register fields as on their newest report (D-3: as sent last)."""
    own = [r.report for r in reported if r.doctor == doctor and r.report is not None]
    if not own:
        raise _unknown_doctor(doctor)
    return max(own, key=lambda r: (r.made_on, r.date)).doctor


def _unknown_doctor(doctor: str) -> BulkReportError:
    msg = (
        f"The ledger holds no report of the doctor with BtM number {doctor}: "
        "check the number (`substreg reports list`); nothing was written."
    )
    return BulkReportError(msg)


def _keys_of(space: Workspace, held: list[Held]) -> dict[str, str]:
    """Each patient's data key: the one their open Anmeldung is sealed under."""
    return {h.subject: space.ledger.entry(h.ledger_id).dek_id for h in held}


def _record(space: Workspace, planned: list[Planned], keys: dict[str, str]) -> list[str | None]:
    """Record as pending; None for a slot the ledger holds already (made before)."""
    if not planned:
        return []
    practice = space.ledger.practice_key()
    items = [(p, keys.get(p.subject, practice)) for p in planned]
    return space.ledger.record_many(items)


def _not_to_come(day: date, today: date, what: str) -> None:
    if day > today:
        msg = f"The {what} {day.isoformat()} is still to come; a report tells what happened."
        raise BulkReportError(msg)
