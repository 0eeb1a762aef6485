"""Property tests of what the pull connector and the notification endpoint read from
outside: instants in any offset and precision, Retry-After, any JSON as a notification;
and how an id-only notification's references are read (by `_id` search or one by one)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.connect.client import retry_after
from adapter.errors import InputError
from adapter.services.notifications import read_notification
from adapter.services.pull import IDS_PER_SEARCH, _later, _stamp, read_named

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


class _Server:
    """A `Source` in memory: it holds `held`, searches the `searchable` types by `_id` (and
    answers a resource of another type and one not asked for along: neither may be taken),
    refuses the others (None); and notes every search and read."""

    base = "https://ehr.example/fhir"

    def __init__(self, held: set[tuple[str, str]], searchable: set[str]) -> None:
        self.held, self.searchable = held, searchable
        self.searches: list[tuple[str, list[str]]] = []
        self.reads: list[str] = []

    def relative(self, reference: str) -> str:
        return reference.removeprefix(self.base + "/")

    def search_ids(self, resource_type: str, ids: Sequence[str]) -> list[dict[str, Any]] | None:
        self.searches.append((resource_type, list(ids)))
        if resource_type not in self.searchable:
            return None
        found = [_resource(resource_type, i) for i in ids if (resource_type, i) in self.held]
        return [*found, _resource("Basic", ids[0]), _resource(resource_type, "not-asked")]

    def read(self, reference: str) -> dict[str, Any] | None:
        self.reads.append(reference)
        kind, _, the_id = reference.partition("/")
        return _resource(kind, the_id) if (kind, the_id) in self.held else None


def _resource(kind: str, the_id: str) -> dict[str, Any]:
    return {"resourceType": kind, "id": the_id}


_KINDS = ("Patient", "MedicationRequest", "MedicationAdministration")


@st.composite
def named_refs(draw: st.DrawFn) -> list[tuple[str, str, bool, bool]]:
    """(type, id, as an absolute URL, still held) of up to 130 ids a type (more than two
    batches), some named twice, in any order."""
    refs: list[tuple[str, str, bool]] = []
    for kind in _KINDS:
        n = draw(st.integers(min_value=0, max_value=130))
        held = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        refs += [(kind, str(i), held[i]) for i in range(n)]
    twice = draw(st.lists(st.sampled_from(refs), max_size=10)) if refs else []
    refs = draw(st.permutations(refs + twice))
    urls = draw(st.lists(st.booleans(), min_size=len(refs), max_size=len(refs)))
    return [(kind, i, url, held) for (kind, i, held), url in zip(refs, urls, strict=True)]


@settings(max_examples=60, deadline=None)
@given(named_refs(), st.sets(st.sampled_from(_KINDS)))
def test_named_references_are_read_once_each_in_batches_or_one_by_one(
    refs: list[tuple[str, str, bool, bool]], searchable: set[str]
) -> None:
    """Every resource named is asked for once: by `_id` searches of at most 50 ids of one
    type (ceil(n / 50) of them), or, for a type the server will not search so, by one
    refused search and then a read each. What the server holds is found under the first
    reference that named it, what it does not is counted gone, and nothing unasked for is
    taken."""
    server = _Server({(k, i) for k, i, _, held in refs if held}, searchable)
    references = [f"{server.base}/{k}/{i}" if url else f"{k}/{i}" for k, i, url, _ in refs]
    named = read_named(server, references)
    first: dict[tuple[str, str], int] = {}
    for index, (kind, the_id, _, _) in enumerate(refs, start=1):
        first.setdefault((kind, the_id), index)
    held = {key: index for key, index in first.items() if key in server.held}
    assert {i: (r["resourceType"], r["id"]) for i, r in named.found.items()} == {
        index: key for key, index in held.items()
    }
    assert named.gone == len(first) - len(held)
    for kind in {k for k, _ in first}:
        ids = [i for k, i in first if k == kind]
        searched = [chunk for k, chunk in server.searches if k == kind]
        read = [r for r in server.reads if r.startswith(f"{kind}/")]
        if kind in searchable:
            assert len(searched) == math.ceil(len(ids) / IDS_PER_SEARCH)
            assert all(len(chunk) <= IDS_PER_SEARCH for chunk in searched)
            assert sorted(i for chunk in searched for i in chunk) == sorted(ids)
            assert read == []
        else:
            assert len(searched) == 1
            assert sorted(read) == sorted(f"{kind}/{i}" for i in ids)
    assert set(named.unsearched) == {k for k, _ in first} - searchable
