"""The register's duplicate notices as a practice keeps them (004 §10, D-233): each letter
imported is stored (sealed: it names the code), with its state, so that a practice sees
which are open, which answered, how and when (`substreg duplicate list`, `GET
/duplicates`).

`keep_notice` runs inside `duplicate import`'s unit of work, after the audited lookup;
`keep_answer` inside `duplicate resolve`'s, once the answer is in the ledger (a notice
answered without being imported first is kept then). The same letter imported twice is
kept once (`same_letter`). The list opens no code: it shows the reference, the day, the
doctors, the state and the answer's report with its ledger state now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapter.domain.duplicate_notice import DuplicateNotice, doctor_json
from adapter.errors import UnknownReportError
from adapter.store.audit import Actor
from adapter.store.notice_letters import ANSWERED, OPEN, KeptNotice
from adapter.store.workspace import Store, Workspace


@dataclass(frozen=True, slots=True)
class ListedNotice:
    """A notice received, as listed: `state` is `open` again when its answer's report was
    rejected (by a person or the register): the answer stands no more (D-204)."""

    kept: KeptNotice
    state: str
    report_state: str | None  # the answer's report in the ledger now; None: no answer


IMPORTED = "duplicate.import"  # the notice stored by `duplicate import`
KEPT_ON_ANSWER = "duplicate.resolve.notice"  # stored by `duplicate resolve`, never imported


def keep_notice(
    space: Workspace, actor: Actor, notice: DuplicateNotice, action: str = IMPORTED
) -> tuple[KeptNotice, bool]:
    """Store the notice (once per letter); audited as `action`, which names the command
    that stored it (D-241), by our id only, never the code."""
    kept, new = space.notice_letters.record(notice)
    if new:
        details = {"notice": kept.notice_id, "letter_date": notice.letter_date.isoformat()}
        space.audit.append(actor, action, details=details)
    return kept, new


def keep_answer(
    space: Workspace, actor: Actor, notice: DuplicateNotice, outcome: str, ledger_id: str
) -> None:
    """The notice answered with `outcome` as report `ledger_id` (kept first if need be:
    a notice never imported is stored by the answer, and audited so, D-241)."""
    kept, _ = keep_notice(space, actor, notice, KEPT_ON_ANSWER)
    if (kept.state, kept.answer, kept.ledger_id) != (ANSWERED, outcome, ledger_id):
        space.notice_letters.answered(kept.notice_id, outcome, ledger_id)


def list_notices(store: Store) -> list[ListedNotice]:
    """Every notice received, oldest first, with its state and its answer's report."""

    def read(space: Workspace) -> list[ListedNotice]:
        listed = []
        for kept in space.notice_letters.listed():
            report = _report_state(space, kept.ledger_id)
            state = OPEN if kept.answer is None or report == "rejected" else ANSWERED
            listed.append(ListedNotice(kept, state, report))
        return listed

    return store.read(read)


def _report_state(space: Workspace, ledger_id: str | None) -> str | None:
    """The answer's report's state now; None without an answer, or once the row is gone."""
    if ledger_id is None:
        return None
    try:
        return space.ledger.entry(ledger_id).state
    except UnknownReportError:
        return None


def notices_json(notices: list[ListedNotice]) -> dict[str, Any]:
    """The list for tools and `GET /duplicates`: times in UTC, days as ISO dates."""
    return {"notices": [notice_json(n) for n in notices]}


def notice_json(listed: ListedNotice) -> dict[str, Any]:
    kept, notice = listed.kept, listed.kept.notice
    return {
        "notice_id": kept.notice_id,
        "reference": notice.reference,
        "letter_date": notice.letter_date.isoformat(),
        "doctor_btm_number": notice.doctor_btm_number,
        "other_doctors": [doctor_json(o) for o in notice.other_doctors],
        "state": listed.state,
        "received_at": _utc(kept.received_at),
        "answer": kept.answer,
        "ledger_id": kept.ledger_id,
        "report_state": listed.report_state,
        "answered_at": _utc(kept.answered_at) if kept.answered_at else None,
    }


def _utc(moment: datetime) -> str:
    """A time in UTC as the other JSON of the CLI and the API writes it (`Z`)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
