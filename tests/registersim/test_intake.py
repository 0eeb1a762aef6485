"""The simulator's judgement agrees with the practice's own view of the register
(adapter/domain/register_view.py, R-EP-4), for any sequence of one doctor's reports."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.model import Report
from adapter.domain.payload import report_bytes
from adapter.domain.register_view import RegisterView, register_order
from adapter.registersim.holdings import BatchHoldings, OpenRow
from adapter.registersim.intake import take_batch
from tests.registersim.helpers import OTHER_DOCTOR, batch, report

TODAY = date(2026, 1, 15)
CODES = ("HAMÜF284", "MAMUM385")


def cryptogram(code: str) -> str:
    return hashlib.sha256(b"test|" + code.encode()).hexdigest()


def content_mac(item: Report) -> str:
    return hashlib.sha256(report_bytes(item)).hexdigest()


def holdings(rows: list[OpenRow] | None = None) -> BatchHoldings:
    return BatchHoldings({}, rows or [], {"3990202": "Jonas Brandt"}, lambda _: [])


reports = st.lists(
    st.tuples(
        st.sampled_from(["anmeldung", "abmeldung"]), st.sampled_from(CODES), st.integers(0, 14)
    ),
    min_size=1,
    max_size=12,
)


@given(reports)
def test_a_report_is_accepted_exactly_when_the_register_view_takes_it(
    plan: list[tuple[str, str, int]],
) -> None:
    """R-EP-4 as the reconciler reads it: the same reports accepted, the rest rejected."""
    items = [
        report(kind, code, date(2026, 1, 1) + timedelta(days=day), number=n)
        for n, (kind, code, day) in enumerate(plan)
    ]
    intake = take_batch(
        batch("b-1", *items),
        holdings(),
        today=TODAY,
        cryptogram=cryptogram,
        content_mac=content_mac,
    )
    views = {code: RegisterView([]) for code in CODES}
    expected = {}
    for item in sorted(items, key=lambda r: register_order(r.kind, r.date)):
        view = views[item.patient_code or ""]
        refused = view.refuses(item)
        expected[item.id] = "rejected" if refused else "accepted"
        if refused is None:
            view.apply(item.kind, item.date, item.patient_code, item)
    assert {r.report_id: r.status for r in intake.results} == expected
    assert [r.report_id for r in intake.results] == [item.id for item in items]
    assert intake.notices == []


def test_an_anmeldung_of_a_code_another_doctor_holds_is_taken_with_a_notice() -> None:
    """004 §10: registered all the same, and the notice names the other doctor."""
    other = OpenRow(7, OTHER_DOCTOR.btm_number or "", cryptogram(CODES[0]), date(2025, 12, 1))
    books = holdings([other])
    intake = take_batch(
        batch("b-1", report("anmeldung", CODES[0], date(2026, 1, 5))),
        books,
        today=TODAY,
        cryptogram=cryptogram,
        content_mac=content_mac,
    )
    assert [r.status for r in intake.results] == ["accepted"]
    [notice] = intake.notices
    assert "3990202" in notice.text
    assert "Jonas Brandt" in notice.text
    assert "2025-12-01" in notice.text
    assert len(books.changes.openings) == 1
    assert books.changes.duplicates == [
        (cryptogram(CODES[0]), "3990202", "3990101", intake.results[0].report_id)
    ]


def test_a_pauschalabmeldung_ends_the_doctor_s_registrations_open_on_its_date() -> None:
    """Those opened later stay open; another doctor's are not touched."""
    mine = [
        OpenRow(1, "3990101", cryptogram(CODES[0]), date(2025, 6, 1)),
        OpenRow(2, "3990101", cryptogram(CODES[1]), date(2026, 1, 12)),
    ]
    books = BatchHoldings({}, [], {}, lambda btm: mine if btm == "3990101" else [])
    blanket = report("pauschalabmeldung", None, date(2026, 1, 10))
    intake = take_batch(
        batch("b-1", blanket), books, today=TODAY, cryptogram=cryptogram, content_mac=content_mac
    )
    assert [r.status for r in intake.results] == ["accepted"]
    assert [(c.registration_id, c.closed_on) for c in books.changes.closings] == [
        (1, date(2026, 1, 10))
    ]
