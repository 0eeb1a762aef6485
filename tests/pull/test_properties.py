"""Property tests of what the pull connector and the notification endpoint read from
outside: instants in any offset and precision, Retry-After, any JSON as a notification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from adapter.connect.client import retry_after
from adapter.errors import InputError
from adapter.services.notifications import read_notification
from adapter.services.pull import _later, _stamp

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


def _text(moment: datetime, offset: timezone, digits: str) -> str:
    return moment.astimezone(offset).isoformat(timespec=digits).replace("+00:00", "Z")


@given(
    moments, moments, offsets, offsets, st.sampled_from(["seconds", "milliseconds", "microseconds"])
)
def test_checkpoints_compare_instants_not_their_text(
    one: datetime, other: datetime, zone: timezone, other_zone: timezone, digits: str
) -> None:
    """A checkpoint moves only to a later instant, whatever offset and precision the
    server writes: `_later` agrees with the instants, and `_stamp` keeps the text."""
    a, b = _text(one, zone, digits), _text(other, other_zone, digits)
    truncated = {d: datetime.fromisoformat(t) for d, t in (("a", a), ("b", b))}
    assert _later(a, b) == (truncated["a"] > truncated["b"])
    assert _stamp({"meta": {"lastUpdated": a}}) == (truncated["a"], a)


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_in_seconds(seconds: int) -> None:
    assert retry_after(str(seconds)) == float(seconds)
    assert retry_after(f" {seconds} ") == float(seconds)


@given(st.text(max_size=30))
def test_retry_after_never_fails_on_what_a_server_writes(value: str) -> None:
    result = retry_after(value)
    assert result is None or result >= 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.fixed_dictionaries(
        {
            "resourceType": st.just("Bundle"),
            "type": st.sampled_from(["history", "subscription-notification", "batch"]),
        },
        optional={"entry": json_values},
    )
    | json_values
)
def test_any_json_is_a_notification_or_an_input_error(bundle: Any) -> None:
    """Whatever arrives, reading it gives a notification or one InputError, never a
    TypeError or KeyError (a 500)."""
    try:
        read_notification(bundle)
    except InputError as exc:
        assert "\n" not in str(exc)


statuses = st.fixed_dictionaries(
    {
        "resourceType": st.just("SubscriptionStatus"),
        "type": st.sampled_from(["handshake", "heartbeat", "event-notification", "query-status"])
        | json_values,
    },
    optional={
        "subscription": json_values | st.fixed_dictionaries({"reference": json_values}),
        "topic": json_values,
        "eventsSinceSubscriptionStart": json_values,
        "notificationEvent": json_values
        | st.lists(st.fixed_dictionaries({}, optional={"focus": json_values}), max_size=3),
    },
)


@given(statuses, st.lists(json_values, max_size=3))
def test_any_subscription_status_is_read_or_refused_in_one_line(
    status: dict[str, Any], more: list[Any]
) -> None:
    bundle = {"resourceType": "Bundle", "type": "history", "entry": [{"resource": status}, *more]}
    try:
        note = read_notification(bundle)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert note.kind in ("handshake", "heartbeat", "event-notification", "query-status")
    assert all(isinstance(ref, str) for ref in note.focus)
