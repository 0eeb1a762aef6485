"""The two filters the reconciler puts between the data and the register's view: the
doctor's blanket deregistrations (R-PAU-1, D-166) and the doctors' agreement on a
duplicate notice (004 §10, D-171). Pure; asked by `adapter.domain.reconcile` per pair of
subject and doctor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from adapter.domain.duplicates import agreed_off, continued_after_agreement
from adapter.domain.model import Finding, Report
from adapter.domain.reconcile_model import PRACTICE, Desired, Reported
from adapter.domain.register_view import RegisterView, register_order

BLANKET = "pauschalabmeldung"


def blanket_days(reported: Iterable[Reported]) -> dict[str, list[date]]:
    """The dates of the blanket deregistrations sent or going to be, by doctor."""
    days: dict[str, list[date]] = defaultdict(list)
    for entry in reported:
        if entry.kind == BLANKET and entry.at_register:
            days[entry.doctor].append(entry.date)
    return {doctor: sorted(found) for doctor, found in days.items()}


def register_view(entries: Iterable[Reported], blankets: Iterable[date] = ()) -> RegisterView:
    """The register's state from the entries sent or going to be, and the doctor's blanket
    deregistrations (R-PAU-1: each ends what is open on its day), in the register's order."""
    steps: list[tuple[str, date, str | None, Report | None]] = [
        (r.kind, r.date, r.code, r.report) for r in entries if r.at_register
    ]
    steps += [(BLANKET, day, None, None) for day in blankets]
    return RegisterView(sorted(steps, key=lambda s: register_order(s[0], s[1])))


def ended_by_blanket(
    report: Report, entries: Iterable[Reported], blankets: Iterable[date], register: RegisterView
) -> bool:
    """R-PAU-1: an Abmeldung the register cannot take because a blanket deregistration of
    the doctor ended the registration it would end (D-166): it is covered, not an R-EP-4
    error. Asked of the register as it stood on the Abmeldung's day (what was sent or goes
    to be, dated up to it), not only as it stands now: a registration opened after the
    blanket (the new code's Anmeldung of a change pair dated the next day, R-CHG-1/3) is
    no reason to make the one the blanket ended again (`sync --rebuild`, D-225)."""
    if report.kind != "abmeldung":
        return False
    if register.blanketed:
        return True
    on_the_day = [r for r in entries if r.date <= report.date]
    return register_view(on_the_day, [d for d in blankets if d <= report.date]).blanketed


def after_agreement(
    subject: str,
    patient: str,
    desired: list[Desired],
    *,
    reported: Iterable[Reported],
    register: RegisterView,
    known_slots: set[str],
) -> tuple[list[Desired], list[Finding]]:
    """D-171: an Abmeldung the doctors agreed on a duplicate notice (004 §10) is not undone
    by the data that gave the registration it ended. The desired reports kept, and a
    warning for each Abmeldung of the data after the agreed stop."""
    agreed = max(
        (
            r.date
            for r in reported
            if r.origin == "agreement" and r.kind == "abmeldung" and r.at_register
        ),
        default=None,
    )
    if agreed is None or subject == PRACTICE:
        return desired, []
    opened = register.open_since
    kept, late = agreed_off(
        desired,
        lambda d: d.report,
        lambda d: d.slot in known_slots,
        agreed,
        reopened=opened is not None and opened > agreed,
    )
    return kept, [continued_after_agreement(patient, r, agreed) for r in late]
