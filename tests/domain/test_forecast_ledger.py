"""What the ledger changes in the forecast of stored data (D-226): deadlines a handover
received holds back or waives are settled, the registering doctor's own stay due, and an
open handover's day 31 falls due when the horizon reaches it (R-HO-1, R-ABS-1/2/3)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.forecast import Deadline, Forecast
from adapter.domain.forecast_ledger import HandedOver, LedgerFacts, counted
from adapter.domain.handover import Received
from adapter.domain.model import Report
from adapter.domain.pipeline import Due
from adapter.domain.reconcile import Reported

from .builders import CODE, report

D = date
RECEIVER, SENDER = "2222222", "3810101"
ANM = report("anmeldung", made_on=D(2025, 5, 15), btm_number=RECEIVER, report_id="anm-1")
ABM = report(
    "abmeldung", made_on=D(2025, 5, 31), dated=D(2025, 5, 20), btm_number=RECEIVER,
    report_id="abm-1",
)  # fmt: skip
SUBJECTS = {"Patient/p1": "mapping-1"}


def _forecast(deadline: Report) -> Forecast:
    """From 2025-05-20, 30 days ahead, with the one deadline of the data."""
    due = max(deadline.made_on, deadline.date)
    as_of = D(2025, 5, 20)
    until = as_of + timedelta(days=30)
    return Forecast(as_of, until, [], [Deadline(due, "Patient/p1", deadline, "10-day rule")])


def _then(*reports: Report) -> Due:
    return Due(list(reports), [], [], {r.id: "Patient/p1" for r in reports})


def _handover(
    state: str = "open", ended_on: date | None = None, holder: str = SENDER
) -> LedgerFacts:
    received = Received(CODE, holder, state, ended_on)  # type: ignore[arg-type]
    handed = HandedOver("h-1", D(2025, 5, 15), D(2025, 3, 3), received)
    return LedgerFacts((), {}, (handed,))


def test_a_report_an_open_handover_holds_back_is_settled_not_due() -> None:
    """R-EP-5: the receiver's Abmeldung under the code the sender holds open is not made."""
    found = counted(_forecast(ABM), _then(ANM, ABM), SUBJECTS, _handover())
    assert found.deadlines == [] and found.ledger
    [settled] = found.settled
    assert settled.report == ABM and "held back by handover h-1" in settled.why
    assert "substitute time ends on 2025-06-13" in settled.why


def test_the_registering_doctor_s_own_report_stays_due() -> None:
    """The handover holds back other doctors' reports only, never the holder's."""
    found = counted(_forecast(ABM), _then(ANM, ABM), SUBJECTS, _handover(holder=RECEIVER))
    assert [d.report for d in found.deadlines] == [ABM] and found.settled == []


def test_a_stay_the_patient_returned_from_is_waived_up_to_the_day_back() -> None:
    """R-ABS-3: returned on 05-22, the Abmeldung dated 05-20 is waived; one dated after the
    day back, of the stay begun 05-15, contradicts the return: sync withholds it (D-258)."""
    returned = _handover("returned", D(2025, 5, 22))
    [settled] = counted(_forecast(ABM), _then(ANM, ABM), SUBJECTS, returned).settled
    assert "waived: the patient returned on 2025-05-22" in settled.why
    later = report(
        "abmeldung", made_on=D(2025, 6, 5), dated=D(2025, 5, 25), btm_number=RECEIVER,
        report_id="abm-2",
    )  # fmt: skip
    found = counted(_forecast(later), _then(ANM, later), SUBJECTS, returned)
    [withheld] = found.settled
    assert found.deadlines == [] and withheld.report == later
    assert "withheld: handover h-1 was returned on 2025-05-22" in withheld.why
    assert "Abmeldung of 2025-05-25" in withheld.why


def test_a_report_the_ledger_holds_as_waived_or_rejected_is_settled() -> None:
    """Synced past the forecast's day: the slot is decided, never sent, never made again;
    one pending in the ledger goes to the register and stays due."""
    for state, origin, said in (
        ("rejected", "waived", "waived"),
        ("rejected", "derived", "rejected"),
    ):
        entry = Reported(
            "l-1", "mapping-1", "abmeldung", RECEIVER, ABM.date, CODE, state, origin, report=ABM
        )  # type: ignore[arg-type]
        facts = LedgerFacts((entry,), {})
        [settled] = counted(_forecast(ABM), _then(ANM, ABM), SUBJECTS, facts).settled
        assert f"as {said}" in settled.why and "report l-1" in settled.why
    pending = Reported(
        "l-1", "mapping-1", "abmeldung", RECEIVER, ABM.date, CODE, "pending", report=ABM
    )
    found = counted(_forecast(ABM), _then(ANM, ABM), SUBJECTS, LedgerFacts((pending,), {}))
    assert [d.report for d in found.deadlines] == [ABM]


def test_without_ledger_facts_nothing_is_settled() -> None:
    """No blanket, no handover: the forecast of the data is the forecast, ledger counted."""
    found = counted(_forecast(ABM), _then(ANM, ABM), SUBJECTS, LedgerFacts((), {}))
    assert [d.report for d in found.deadlines] == [ABM]
    assert (found.settled, found.handovers, found.ledger) == ([], [], True)


@given(
    handover_day=st.dates(D(2024, 1, 1), D(2026, 12, 31)),
    offset=st.integers(-60, 60),
    days=st.integers(1, 366),
    state=st.sampled_from(["open", "released", "returned", "replaced"]),
)
def test_day_31_falls_due_exactly_when_an_open_handover_s_horizon_reaches_it(
    handover_day: date, offset: int, days: int, state: str
) -> None:
    """R-ABS-1/2, D-202: day 31 is the handover day + 30; it is listed when the handover is
    open and day 31 comes by the horizon's end (passed ones too: overdue), never else."""
    as_of = handover_day + timedelta(days=offset)
    received = Received(CODE, SENDER, state, None)  # type: ignore[arg-type]
    facts = LedgerFacts((), {}, (HandedOver("h-1", handover_day, D(2024, 1, 1), received),))
    forecast = Forecast(as_of, as_of + timedelta(days=days), [], [])
    found = counted(forecast, _then(), {}, facts).handovers
    day31 = handover_day + timedelta(days=30)
    if state == "open" and day31 <= forecast.until:
        [due] = found
        assert (due.due, due.code, due.patient) == (day31, CODE, "")
    else:
        assert found == []
