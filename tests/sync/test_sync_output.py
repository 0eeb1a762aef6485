"""What `substreg sync` prints of the reports it recorded: the pending ones to approve,
and the waived ones apart, since they are never approved or sent (N8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from adapter.cli.output import recorded_summary, sync_text
from adapter.services.sync import Recorded, SyncResult
from tests.store.helpers import make_report

ANMELDUNG = make_report("BROLF377", btm="3800101", day=date(2025, 6, 10))
PENDING = Recorded("11111111-1111-4111-8111-111111111111", ANMELDUNG, "derived", "m-1")
WAIVED = Recorded(
    "22222222-2222-4222-8222-222222222222",
    replace(ANMELDUNG, doctor=replace(ANMELDUNG.doctor, btm_number="3830303")),
    "waived",
    "m-2",
)


def _result(*recorded: Recorded) -> SyncResult:
    return SyncResult(date(2025, 7, 5), 4, 4, 2, 2, list(recorded), 0, [], "run-1")


def test_waived_reports_are_listed_under_their_own_heading() -> None:
    """One derived and one waived report: "as pending" counts and lists only the first."""
    text = sync_text(_result(PENDING, WAIVED))
    pending, waived = text.split("Recorded 1 report(s) as waived (never sent; see the findings):")
    assert "Recorded 1 report(s) as pending:" in pending
    assert PENDING.ledger_id in pending and WAIVED.ledger_id not in pending
    assert WAIVED.ledger_id in waived.split("Findings:")[0]
    assert "(waived)" not in text  # the heading says it


def test_without_waived_reports_there_is_no_waived_heading() -> None:
    """The usual sync reads as it did."""
    text = sync_text(_result(PENDING))
    assert "Recorded 1 report(s) as pending:" in text and "waived" not in text


def test_only_waived_reports_leave_no_empty_pending_heading() -> None:
    """D-250 (review r1 item 11g): a sync that recorded only waived reports says it recorded
    none as pending in a sentence, not as a heading with nothing under it."""
    text = sync_text(_result(WAIVED))
    assert "Recorded 0 report(s) as pending:" not in text
    assert "Recorded 0 report(s) as pending.\nRecorded 1 report(s) as waived" in text
    assert "Recorded 0 report(s) as pending.\nFindings: 0" in sync_text(_result())


def test_the_summary_of_pull_and_accept_held_counts_waived_apart() -> None:
    """`pull`, `import` and `tenant accept-held` print the counts only."""
    assert recorded_summary([PENDING, WAIVED]) == (
        "Recorded 1 report(s) as pending and 1 as waived (never sent)"
    )
    assert recorded_summary([PENDING]) == "Recorded 1 report(s) as pending"
