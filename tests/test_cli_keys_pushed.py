"""An index-key rotation re-indexes the resources pushed to `/fhir` (D-146): after
`keys rotate index` and the old key's retirement a pushed resource is still read, updated
and found by a conditional create; the old key is not retired while a pushed resource is
still indexed under it (`--lazy`), as for patients. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from adapter import composition
from adapter.errors import FhirRequestError
from adapter.services import fhir_resources
from adapter.store.workspace import Store
from tests.cli_helpers import Cli
from tests.storage import ACTOR, NOW

SYSTEM = "https://pvs.example/sid/pid"


def _patient(pid: str, gender: str = "male") -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": SYSTEM, "value": pid}],
        "gender": gender,
    }


def _store(cli: Cli) -> Store:
    """The installation's store as the commands open it (its keyring file, read anew)."""
    return composition.store(composition.settings(), lambda: NOW)


def _states(cli: Cli) -> dict[tuple[str, int], tuple[str, int]]:
    rows = [line.split() for line in cli.ok("keys", "status").splitlines()[1:]]
    return {(p, int(v)): (state, int(n)) for _, p, v, state, n, *_ in rows}


def _still_found(cli: Cli, pushed: dict[str, str], round_: int) -> None:
    """Each pushed resource is read, found by its identifier and updated (If-Match)."""
    store = _store(cli)
    for pid, logical_id in pushed.items():
        current = fhir_resources.read(store, "Patient", logical_id)
        again = fhir_resources.create(
            store, ACTOR, "Patient", _patient(pid), if_none_exist=f"identifier={SYSTEM}|{pid}"
        )
        assert (again.status, again.wrote) == (200, False), pid  # found, not created twice
        assert again.version.logical_id == logical_id
        updated = fhir_resources.update(
            store,
            ACTOR,
            "Patient",
            logical_id,
            {**_patient(pid, "female" if round_ % 2 else "male"), "id": logical_id},
            if_match=f'W/"{current.version}"',
        )
        assert updated.version.version == current.version + 1


def test_a_rotated_and_retired_index_key_keeps_pushed_resources_found(cli: Cli) -> None:
    cli.ok("init")
    store = _store(cli)
    pushed = {}
    for pid in ("4711", "4712"):
        written = fhir_resources.create(
            store, ACTOR, "Patient", _patient(pid), if_none_exist=f"identifier={SYSTEM}|{pid}"
        )
        pushed[pid] = written.version.logical_id
    gone = fhir_resources.create(store, ACTOR, "Patient", _patient("4713"), if_none_exist=None)
    fhir_resources.delete(store, ACTOR, "Patient", gone.version.logical_id)

    # Lazy: lookups try both keys; the old one is not retired while pushed rows use it
    # (three resources, two identifier rows; the deleted one has none).
    assert "Active index key: index-v2-" in cli.ok("keys", "rotate", "index", "--lazy")
    assert _states(cli)[("index", 1)] == ("decrypt-only", 5)
    _still_found(cli, pushed, 1)
    # Each update above wrote under the active key: those two moved already, the deleted
    # one has not.
    assert _states(cli)[("index", 1)] == ("decrypt-only", 1)

    out = cli.ok("keys", "migrate-index")
    assert "index-v1" in out  # retired, no row uses it
    states = _states(cli)
    assert states[("index", 1)] == ("retired", 0)
    assert states[("index", 2)] == ("active", 5)
    _still_found(cli, pushed, 2)
    with pytest.raises(FhirRequestError) as deleted:
        fhir_resources.read(_store(cli), "Patient", gone.version.logical_id)
    assert deleted.value.status == 410  # still found: gone, not unknown

    # A rotation that migrates at once: re-indexed and retired in one command.
    out = cli.ok("keys", "rotate", "index")
    states = _states(cli)
    assert states[("index", 2)] == ("retired", 0) and states[("index", 3)] == ("active", 5)
    _still_found(cli, pushed, 3)
    assert json.loads(cli.audit("keys.rotate")[-1]["details"])["reindexed"] == 3
