"""The correction reports that bring the register's state to the data's (R-EP-5, D-20).

Pure: asked by the reconciler (`adapter.domain.reconcile`) for a pair of subject and
doctor whose reports the data contradicts. Reports can only be added, never withdrawn:
the register's past stays as it is, but a registration the data shows open must be open,
and one it shows ended must be ended, with the last-use date the data gives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from adapter.domain.reconcile_model import Desired
from adapter.domain.register_view import RegisterView, register_order

_ONE_DAY = timedelta(days=1)
_CONTINUED = "Korrektur: Behandlung nach der gemeldeten Abmeldung fortgesetzt."
_ENDED = "Korrektur: Behandlung beendet; die gemeldete Anmeldung war noch offen."


def desired_order(item: Desired) -> tuple[date, date, int]:
    """The order of the reports the data calls for: made, then the register's order."""
    r = item.report
    return (r.made_on, *register_order(r.kind, r.date))


@dataclass(frozen=True, slots=True)
class Contradicted:
    """One subject with one doctor as the corrections see it."""

    subject: str
    patient: str
    desired: list[Desired]  # in `desired_order`
    register: RegisterView
    as_of: date


def corrections(pair: Contradicted) -> list[Desired]:
    """The reports that bring the register's current state to the data's (D-20)."""
    ends = [d for d in pair.desired if d.report.kind == "abmeldung"]
    starts = [d for d in pair.desired if d.report.kind == "anmeldung"]
    latest = max(ends + starts, key=desired_order, default=None)
    held = pair.register.open_since
    if held is not None:
        if latest is not None and latest.report.kind == "anmeldung":
            return []  # both open: the register's dates are history now
        day = max(latest.report.date, held) if latest is not None else held
        return [_corrected(pair, latest, "abmeldung", day, _ENDED)]
    if latest is None:
        return []
    after = (pair.register.closed_on or date.min) + _ONE_DAY
    if latest.report.kind == "anmeldung":
        day = max(latest.report.date, after)
        # Not before the day after the reported end has come (R-DATE-3).
        return [_corrected(pair, latest, "anmeldung", day, _CONTINUED)] if day <= pair.as_of else []
    if latest.report.date < after:
        return []  # both ended, the data no later than the register: history
    opening = max(
        (s for s in starts if s.report.date <= latest.report.date),
        key=desired_order,
        default=latest,
    )
    day = max(opening.report.date, after)
    return [
        _corrected(pair, opening, "anmeldung", day, _CONTINUED),
        _corrected(pair, latest, "abmeldung", latest.report.date, _ENDED),
    ]


def _corrected(
    pair: Contradicted, item: Desired | None, kind: str, day: date, remark: str
) -> Desired:
    """A correction report on the model of a desired one, else of the open Anmeldung."""
    if item is None:
        template = pair.register.open_report
        assert template is not None  # only asked for while a registration is open
        item = Desired(pair.subject, pair.patient, template)
    anmeldung = kind == "anmeldung"
    report = replace(
        item.report,
        kind="anmeldung" if anmeldung else "abmeldung",
        date=day,
        made_on=max(pair.as_of, day),
        patient_code=pair.register.last_code or item.report.patient_code,
        substance=item.report.substance if anmeldung else None,
        consultant=item.report.consultant if anmeldung else None,
        remarks=(remark,),
        rule="R-EP-5",
    )
    return replace(item, report=report)
