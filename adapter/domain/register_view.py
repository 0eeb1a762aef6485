"""What the register holds for one patient and doctor, from the reports made (R-EP-4).

Reports can only be added: the register's state is the last Anmeldung not followed by an
Abmeldung. The reconciler asks it whether a report can be taken now; retention asks it
whether a registration is still open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from adapter.domain.model import Report

# On one day the Anmeldung comes first: a registration of one day is opened and ended on
# it, while an Abmeldung of an earlier registration is never dated the day the next one
# starts (D-14). Ordered the other way, the one-day registration stayed open for good.
# A blanket deregistration ends what is open on its day, as an Abmeldung does (R-PAU-1).
_RANK = {"anmeldung": 0, "abmeldung": 1, "pauschalabmeldung": 1, "mitteilung": 2}


@dataclass(frozen=True, slots=True)
class Blanket:
    """A blanket deregistration of a doctor, sent or going to be (R-PAU-1): day and state."""

    day: date
    state: str


def ending_blanket(blankets: Iterable[Blanket], since: date) -> Blanket | None:
    """R-PAU-1: the blanket deregistration that ends a registration open since `since`:
    the first one on or after that day (004 §3.7, D-166), or None."""
    ending = [b for b in blankets if b.day >= since]
    return min(ending, key=lambda b: b.day) if ending else None


def register_order(kind: str, day: date) -> tuple[date, int]:
    """The order in which the register takes one patient's and doctor's reports."""
    return day, _RANK.get(kind, 9)


class RegisterView:
    """What the register holds for one pair: open since a day (with which code) or not."""

    def __init__(self, entries: Iterable[tuple[str, date, str | None, Report | None]]) -> None:
        """`entries`: (kind, date, code, report) of what was sent or will be, by date."""
        self.open_since: date | None = None
        self.open_report: Report | None = None
        self.closed_on: date | None = None
        self.last_code: str | None = None
        self.blanketed = False  # the open registration was ended by a blanket deregistration
        for kind, day, code, report in entries:
            self.apply(kind, day, code, report)

    def apply(self, kind: str, day: date, code: str | None, report: Report | None) -> None:
        if kind == "anmeldung":
            self.open_since, self.open_report, self.last_code = day, report, code
            self.blanketed = False
        elif kind == "abmeldung":
            self.open_since, self.open_report, self.closed_on = None, None, day
        elif kind == "pauschalabmeldung" and self.open_since is not None and self.open_since <= day:
            # R-PAU-1: it ends the doctor's registrations open on its day (004 §3.7)
            self.open_since, self.open_report, self.closed_on = None, None, day
            self.blanketed = True

    def open_code(self) -> str | None:
        return self.last_code if self.open_since is not None else None

    def refuses(self, report: Report) -> str | None:
        """Why the register cannot take this report now (R-EP-4), or None."""
        if report.kind == "anmeldung" and self.open_since is not None:
            return (
                f"the register still holds a registration since {self.open_since.isoformat()} "
                "without Abmeldung (R-EP-4: a second Anmeldung would fake a double treatment)"
            )
        if report.kind == "abmeldung":
            if self.open_since is None:
                return "the register holds no open Anmeldung it could end (R-EP-4)"
            if self.last_code is None:
                return (
                    "the code the register holds for this registration cannot be read (its "
                    "data key is gone), and a recomputed one might not be its spelling (R-CODE-8)"
                )
            if report.date < self.open_since:
                return (
                    f"its date lies before the Anmeldung the register holds "
                    f"({self.open_since.isoformat()})"
                )
        return None
