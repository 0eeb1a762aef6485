"""`substreg duplicate list`: the duplicate notices received, as a table (D-233); its JSON,
the same as `GET /duplicates`, is `services.duplicate_letters.notices_json`. No code is
shown: the reference, the letter's day, the doctors, the state, the answer and its report."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from adapter.cli.output import table
from adapter.services.duplicate_letters import ListedNotice

BERLIN = ZoneInfo("Europe/Berlin")


def notices_text(notices: list[ListedNotice]) -> str:
    if not notices:
        return "No duplicate notice received.\n"
    header = ("notice", "letter", "reference", "doctor", "state", "answer", "report", "answered")
    rows = [
        (
            n.kept.notice_id,
            n.kept.notice.letter_date.isoformat(),
            n.kept.notice.reference,
            n.kept.notice.doctor_btm_number,
            n.state,
            n.kept.answer or "-",
            f"{n.kept.ledger_id} ({n.report_state})" if n.kept.ledger_id else "-",
            _day(n.kept.answered_at),
        )
        for n in notices
    ]
    opened = sum(1 for n in notices if n.state == "open")
    return "\n".join([*table(header, rows), f"{len(notices)} notice(s), {opened} open."]) + "\n"


def _day(moment: datetime | None) -> str:
    return moment.astimezone(BERLIN).date().isoformat() if moment else "-"
