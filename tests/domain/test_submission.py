"""The submission's pure rules (adapter/domain/submission.py): which reports go when, in
which batches, under which id, what a receipt means, and when to try again."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.domain.batch import Batch
from adapter.domain.ledger import STATES, TRANSITIONS
from adapter.domain.receipt import Notice, Receipt, Result
from adapter.domain.submission import (
    BATCH_STATES,
    BATCH_TRANSITIONS,
    RETRY_AFTER_LIMIT,
    WEEKDAYS,
    Item,
    RetryPolicy,
    Waiting,
    batch_id,
    batch_move_problem,
    due_today,
    ledger_path,
    next_attempt,
    plan_batches,
    read_receipt,
)
from tests.submission.seeding import report

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # adapter/domain/batch.py

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
doctors = st.sampled_from(["1234567", "7654321", "3990101"])
ledger_ids = st.lists(st.uuids().map(str), min_size=1, max_size=30, unique=True)
policies = st.builds(
    RetryPolicy,
    initial=st.floats(0.001, 100),
    maximum=st.floats(100, 100_000),
    attempts=st.integers(1, 30),
    jitter=st.floats(0, 1),
)
draws = st.floats(0, 1, exclude_max=True)


# -- when reports go ------------------------------------------------------------------------


@given(days)
def test_without_bundle_weekdays_reports_go_every_day(day: date) -> None:
    """ "Unverzüglich": no bundle days configured, every day is a sending day."""
    assert due_today(day, ())


@given(days, st.sets(st.sampled_from(WEEKDAYS), min_size=1, max_size=2))
def test_with_bundle_weekdays_reports_go_on_those_days_only(day: date, weekdays: set[str]) -> None:
    """R-DATE-4: on a configured weekday yes, on any other day no."""
    assert due_today(day, tuple(weekdays)) == (f"{day:%A}".lower() in weekdays)


def test_a_weekday_that_is_none_is_a_mistake_of_the_caller() -> None:
    """The configuration checks the names; here a wrong one is a ValueError."""
    with pytest.raises(ValueError, match="not a weekday"):
        due_today(date(2026, 12, 1), ("dienstag",))


# -- batches ----------------------------------------------------------------------------------


@given(st.lists(st.tuples(st.uuids().map(str), doctors), max_size=60), st.integers(1, 7))
def test_batches_hold_one_doctor_each_every_report_once_in_order(
    waiting: list[tuple[str, str]], most: int
) -> None:
    """Per doctor, at most `most` each, every report exactly once (a repeat dropped),
    each doctor's reports in the order given, as few batches as that allows."""
    planned = plan_batches([Waiting(i, d) for i, d in waiting], max_reports=most)
    firsts = list(dict.fromkeys(i for i, _ in waiting))
    doctor_of = {i: d for i, d in reversed(waiting)}  # the first doctor given
    assert sorted(i for p in planned for i in p.ledger_ids) == sorted(firsts)
    for batch in planned:
        assert 1 <= len(batch.ledger_ids) <= most
        assert {doctor_of[i] for i in batch.ledger_ids} == {batch.doctor_btm}
    for doctor in set(doctor_of.values()):
        mine = [i for p in planned if p.doctor_btm == doctor for i in p.ledger_ids]
        assert mine == [i for i in firsts if doctor_of[i] == doctor]
        count = sum(p.doctor_btm == doctor for p in planned)
        assert count == math.ceil(len(mine) / most)


@given(doctors, moments, ledger_ids, st.text(max_size=20))
def test_a_batch_id_is_ascii_a_valid_key_and_the_same_for_the_same_batch(
    doctor: str, moment: datetime, ids: list[str], replaces: str
) -> None:
    """At most 64 characters of the batch's alphabet (a file name, an idempotency key),
    and the same inputs give the same id."""
    made = batch_id(doctor, moment, ids, replaces=replaces)
    assert BATCH_ID.fullmatch(made) and made.isascii() and len(made) <= 64
    assert made == batch_id(doctor, moment, list(ids), replaces=replaces)
    assert made.startswith(f"sr-{doctor}-{moment:%Y%m%dT%H%M%S}Z-")


@given(doctors, moments, ledger_ids, ledger_ids)
def test_other_reports_another_time_or_a_resend_give_another_id(
    doctor: str, moment: datetime, ids: list[str], others: list[str]
) -> None:
    """The id changes with the reports, the moment, and the batch a resend replaces."""
    made = batch_id(doctor, moment, ids)
    if others != ids:
        assert batch_id(doctor, moment, others) != made
    assert batch_id(doctor, moment + timedelta(microseconds=1), ids) != made
    assert batch_id(doctor, moment, ids, replaces=made) != made


def test_a_batch_takes_the_id_made_for_it() -> None:
    """The id passes the batch's own check (adapter/domain/batch.py)."""
    identifier = batch_id("1234567", NOW, ["l1"])
    assert Batch(identifier, "1234567", NOW, (report(1, "1234567"),)).batch_id == identifier


# -- the receipt ------------------------------------------------------------------------------


@given(st.lists(st.sampled_from(["accepted", "rejected", "missing", "twice"]), max_size=12))
def test_each_report_is_acknowledged_rejected_or_stays_sent_as_the_receipt_says(
    said: list[str],
) -> None:
    """accepted → acknowledged, rejected → rejected with the reason, no result or two
    different ones → missing with an `error` finding naming the report."""
    items = [Item(f"l{n}", f"r{n}") for n in range(len(said))]
    results: list[Result] = []
    for item, word in zip(items, said, strict=True):
        if word in ("accepted", "twice"):
            results.append(Result(item.report_id, "accepted"))
        if word in ("rejected", "twice"):
            results.append(Result(item.report_id, "rejected", f"Grund {item.report_id}"))
    receipt = Receipt("b1", "0" * 64, NOW, tuple(results))
    reading = read_receipt(receipt, "b1", items)
    expected = {
        "accepted": ("acknowledged", None),
        "rejected": ("rejected", "Grund r{}"),
        "missing": ("missing", None),
        "twice": ("missing", None),
    }
    for n, (item, word) in enumerate(zip(items, said, strict=True)):
        outcome, reason = expected[word]
        assert reading.outcomes[item.ledger_id] == (outcome, reason and reason.format(n))
    errors = [f for f in reading.findings if f.severity == "error"]
    assert [f.sources for f in errors] == [
        (i.ledger_id,) for i, w in zip(items, said, strict=True) if w in ("missing", "twice")
    ]


def test_a_result_for_a_stranger_and_a_notice_are_warnings_without_the_registers_text() -> None:
    """A result for a report the batch did not hold, and a duplicate notice: warnings that
    name ids only, never the register's text (it may quote a code)."""
    receipt = Receipt(
        "b1",
        "0" * 64,
        NOW,
        (Result("r1", "accepted"), Result("r9", "accepted")),
        (Notice("duplicate", "r1", "Code HAMÜF284 doppelt"), Notice("other", "r1", "Hinweis")),
    )
    reading = read_receipt(receipt, "b1", [Item("l1", "r1")])
    assert reading.outcomes == {"l1": ("acknowledged", None)}
    assert [(f.severity, f.rule, f.sources) for f in reading.findings] == [
        ("warning", "R-CH-2", ("r9",)),
        ("warning", "R-CODE-9", ("l1",)),
        ("warning", "R-CH-2", ("l1",)),
    ]
    assert all("HAMÜF" not in f.message and "Hinweis" not in f.message for f in reading.findings)


# -- trying again -----------------------------------------------------------------------------


@given(policies, st.integers(1, 40), draws)
def test_a_wait_grows_from_initial_to_the_cap_then_the_batch_fails(
    policy: RetryPolicy, failures: int, draw: float
) -> None:
    """After n failures: never sooner than min(initial·2ⁿ⁻¹, maximum), never later than
    the cap; None (failed) exactly when the attempts are used up."""
    when = next_attempt(policy, failures=failures, now=NOW, draw=draw)
    if failures >= policy.attempts:
        assert when is None
        return
    assert when is not None
    wait = (when - NOW).total_seconds()
    floor = min(policy.maximum, policy.initial * 2 ** (failures - 1))
    assert floor - 1e-6 <= wait <= policy.maximum + 1e-6
    assert wait <= floor * (1 + policy.jitter) + 1e-6


@given(policies, st.integers(1, 39), draws)
def test_a_later_failure_never_waits_less(policy: RetryPolicy, failures: int, draw: float) -> None:
    """With the same draw, the n+1-th wait is at least the n-th (exponential, capped)."""
    first = next_attempt(policy, failures=failures, now=NOW, draw=draw)
    second = next_attempt(policy, failures=failures + 1, now=NOW, draw=draw)
    if first is not None and second is not None:
        assert second >= first


@given(policies, draws, st.floats(0.001, 10 * RETRY_AFTER_LIMIT))
def test_the_registers_retry_after_is_never_cut_short_up_to_a_day(
    policy: RetryPolicy, draw: float, retry_after: float
) -> None:
    """Retry-After: no attempt sooner than it asks (a day at the most)."""
    when = next_attempt(
        RetryPolicy(policy.initial, policy.maximum, max(policy.attempts, 2), policy.jitter),
        failures=1,
        now=NOW,
        draw=draw,
        retry_after=retry_after,
    )
    assert when is not None
    assert (when - NOW).total_seconds() >= min(retry_after, RETRY_AFTER_LIMIT) - 1e-6


@pytest.mark.parametrize(
    "bad",
    [
        {"initial": 0.0},
        {"initial": 10.0, "maximum": 5.0},
        {"attempts": 0},
        {"jitter": 1.5},
    ],
    ids=["zero-initial", "initial-above-cap", "no-attempts", "jitter-above-one"],
)
def test_a_policy_that_cannot_work_is_refused(bad: dict[str, float]) -> None:
    """A schedule without waiting, capped below its start, with no attempt or a jitter
    over 1 is the caller's mistake."""
    with pytest.raises(ValueError, match="needed"):
        RetryPolicy(**bad)  # type: ignore[arg-type]


# -- states -------------------------------------------------------------------------------------


@given(st.sampled_from(STATES), st.sampled_from(STATES))
def test_a_ledger_path_takes_only_allowed_moves_and_ends_where_asked(
    current: str, target: str
) -> None:
    """Every step is one the ledger allows; None only when no way exists."""
    path = ledger_path(current, target)  # type: ignore[arg-type]
    reachable, frontier = set(), [current]
    while frontier:
        state = frontier.pop()
        for following in TRANSITIONS[state]:  # type: ignore[index]
            if following not in reachable:
                reachable.add(following)
                frontier.append(following)
    if path is None:
        assert target != current and target not in reachable
        return
    assert (path[-1] if path else current) == target
    for before, after in zip((current, *path), path, strict=False):
        assert after in TRANSITIONS[before]  # type: ignore[index]


def test_a_queued_report_reaches_acknowledged_and_rejected_through_sent() -> None:
    """The worker's moves: queued → sent → acknowledged | rejected."""
    assert ledger_path("queued", "acknowledged") == ("sent", "acknowledged")
    assert ledger_path("queued", "rejected") == ("sent", "rejected")
    assert ledger_path("acknowledged", "sent") is None


@given(st.sampled_from(BATCH_STATES), st.sampled_from(BATCH_STATES))
def test_a_batch_move_is_refused_unless_the_table_allows_it(current: str, new: str) -> None:
    """batch_move_problem agrees with BATCH_TRANSITIONS and names the state."""
    problem = batch_move_problem(current, new)
    assert (problem is None) == (new in BATCH_TRANSITIONS[current])  # type: ignore[index]
    if problem is not None:
        assert current in problem
