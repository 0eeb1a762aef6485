"""Days covered: how long one event gives the patient a substitution drug (R-DATE-1/2).

A covered day is a day on which the patient had a substitution drug available (INPUT.md
"Days covered"). The FHIR edge reads the facts; these functions decide the last day.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import Enum

from adapter.domain.model import Depot


class Reach(Enum):
    """Where a dispense's days came from (INPUT.md edge case 15)."""

    OWN = "daysSupply"
    PRESCRIPTION = "the prescription's expectedSupplyDuration"
    ONE_DAY = "one day: neither says"


def days_from(start: date, days: int) -> date:
    """The last of `days` days from `start` (take-home for 1–7 March: 7 March, R-DATE-2)."""
    return start + timedelta(days=days - 1)


def depot_last_day(start: date, depot: Depot) -> date:
    """A depot or implant covers its duration of effect (R-DATE-2, INPUT.md edge case 3):
    N days, or N calendar months to the day before the same day (Sixmo: 15 Jan → 14 Jul)."""
    if depot.months is not None:
        month_index = start.month - 1 + depot.months
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) - timedelta(days=1)
    return days_from(start, depot.days or 1)


def prescription_last_day(start: date, supply_days: int | None) -> date:
    """An S/ST prescription without dispenses covers its reach; without a supply duration,
    its first day only (INPUT.md edge case 2)."""
    return days_from(start, supply_days or 1)


def dispense_last_day(
    handed: date,
    days_supply: int | None,
    prescription_days: int | None,
    prescription_start: date | None,
) -> tuple[date, Reach]:
    """A dispense covers its `daysSupply` from the hand-over; without one, its
    prescription's reach from that day, else that day alone. It never ends the cover
    before the prescription's own last day (INPUT.md edge case 15, D-62)."""
    if days_supply is not None:
        days, reach = days_supply, Reach.OWN
    elif prescription_days is not None:
        days, reach = prescription_days, Reach.PRESCRIPTION
    else:
        days, reach = 1, Reach.ONE_DAY
    end = days_from(handed, days)
    if prescription_days is not None and prescription_start is not None:
        end = max(end, days_from(prescription_start, prescription_days))
    return end, reach
