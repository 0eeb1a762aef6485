"""Any sequence of creates, updates and deletes through `/fhir` keeps each resource's
version ids strictly increasing from 1, and vread returns every version as it was
written (hypothesis, on the twin)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.helpers import caller_of, client_of, patient, post, put

IDS = ("a", "b", "c")
families = st.sampled_from(["Reuter", "Roth", "Rau", "Özdemir", "van der Berg"])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from(IDS), families),
        st.tuples(st.just("post"), st.just(""), families),
        st.tuples(st.just("delete"), st.sampled_from(IDS), st.just("")),
        st.tuples(st.just("stale"), st.sampled_from(IDS), families),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_versions_increase_and_each_vread_is_what_was_written(
    sequence: list[tuple[str, str, str]],
) -> None:
    client = client_of(caller_of())
    written: dict[str, list[Any]] = {}  # id -> body of each version (None: a DELETE)
    for action, logical_id, family in sequence:
        if action == "post":
            response = post(client, "/fhir/Patient", patient(family=family))
            assert response.status_code == 201
            written[response.json()["id"]] = [family]
        elif action == "put":
            response = put(
                client, f"/fhir/Patient/{logical_id}", patient(id=logical_id, family=family)
            )
            versions = written.setdefault(logical_id, [])
            assert response.status_code == (201 if not versions or versions[-1] is None else 200)
            versions.append(family)
        elif action == "delete":
            response = client.delete(f"/fhir/Patient/{logical_id}")
            versions = written.get(logical_id, [])
            assert response.status_code == (204 if versions else 404)
            if versions and versions[-1] is not None:
                versions.append(None)
        else:  # an update on a version that is not the current one is refused, changes nothing
            current = len(written.get(logical_id, []))
            stale = put(
                client,
                f"/fhir/Patient/{logical_id}",
                patient(id=logical_id, family=family),
                **{"If-Match": f'W/"{current + 1}"'},
            )
            assert stale.status_code == 412
        # after each step: the ETag of the resource is its number of versions
        if action in ("put", "post"):
            versions = written[response.json()["id"]]
            assert response.headers["etag"] == f'W/"{len(versions)}"'
    for logical_id, versions in written.items():
        history = client.get(f"/fhir/Patient/{logical_id}/_history").json()
        numbers = [int(e["response"]["etag"][3:-1]) for e in history["entry"]]
        assert numbers == list(range(len(versions), 0, -1))  # strictly increasing, from 1
        for number, family in enumerate(versions, start=1):
            got = client.get(f"/fhir/Patient/{logical_id}/_history/{number}")
            if family is None:
                assert got.status_code == 410
            else:
                assert got.status_code == 200
                assert got.json()["name"][0]["family"] == family
                assert got.json()["meta"]["versionId"] == str(number)
