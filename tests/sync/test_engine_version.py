"""The engine version that stored walk states carry is derived from the engine's source,
so a change of the rules can never resume a state made under the old ones."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import grimp
import pytest

from adapter.services import engine_version as engine
from adapter.services import sync_state
from adapter.services.engine_version import ENGINE_MODULES, ENGINE_PACKAGES, sources_digest
from tests.storage import make_twin
from tests.sync import fhir
from tests.sync.helpers import run_sync

D = date
# Modules sync's steps import that do not shape what a stored state holds, and why.
_NOT_ENGINE = {
    "adapter.errors": "the error classes",
    "adapter.crypto": "keys and sealing: a state is sealed, not derived, by them",
    "adapter.store": "where states are kept, not what they hold",
    "adapter.settings": "the practice's configuration is part of the fingerprint itself",
    "adapter.services.sync_damage": "leaves a damaged patient out; walks nobody",
    "adapter.services.engine_version": "this digest",
}


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_digest_changes_with_any_source_and_only_with_it(tmp_path: Path) -> None:
    base = {"a.py": "X = 1\n", "sub/b.py": "Y = 2  # why\n"}
    one = _package(tmp_path / "one" / "domain", base)
    same = _package(tmp_path / "same" / "domain", base)
    first = sources_digest("1.0", [one], [])
    assert sources_digest("1.0", [same], []) == first  # where it lies does not matter
    (one / "__pycache__").mkdir()
    (one / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0compiled")
    (one / "notes.txt").write_text("not code")
    assert sources_digest("1.0", [one], []) == first  # only source counts
    assert sources_digest("1.1", [one], []) != first  # another release
    (one / "sub" / "b.py").write_text("Y = 2  # why not\n")
    assert sources_digest("1.0", [one], []) != first  # a comment too: slower, never wrong
    moved = _package(tmp_path / "moved" / "domain", {"a.py": "X = 1\n", "b.py": "Y = 2  # why\n"})
    assert sources_digest("1.0", [moved], []) != first  # a file moved
    added = _package(tmp_path / "added" / "domain", {**base, "c.py": ""})
    assert sources_digest("1.0", [added], []) != first  # a module added


def test_every_module_sync_walks_with_is_in_the_engine() -> None:
    """A module the walk, plan or keep step depends on that the digest misses would let
    a state outlive a change of it: every one is covered or named here with the reason."""
    graph = grimp.build_graph("adapter")
    steps = [f"adapter.services.{name.removesuffix('.py')}" for name in ENGINE_MODULES]
    upstream = set(steps)
    for step in steps:
        upstream |= graph.find_upstream_modules(step)
    covered = (*ENGINE_PACKAGES, *steps, *_NOT_ENGINE)
    missed = sorted(
        m for m in upstream if not any(m == c or m.startswith(f"{c}.") for c in covered)
    )
    assert missed == []


def test_the_version_is_computed_from_the_installed_source() -> None:
    version = engine.engine_version()
    assert len(version) == 16 and int(version, 16) >= 0
    assert engine.engine_version() == version  # once per process


def test_a_state_of_another_engine_is_derived_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade every patient is derived afresh once, then resumed again."""
    store, _ = make_twin()
    base = [fhir.doctor(), fhir.patient()]
    first = fhir.write_bundle(
        tmp_path / "a.json", [*base, *fhir.daily("p1", D(2025, 3, 1), D(2025, 3, 5))]
    )
    run_sync(store, [first], D(2025, 3, 5))
    later = fhir.write_bundle(
        tmp_path / "b.json", [*base, *fhir.daily("p1", D(2025, 3, 6), D(2025, 3, 8), prefix="b")]
    )
    resumed = run_sync(store, [later], D(2025, 3, 8))
    assert (resumed.walked, resumed.rebuilt) == (1, 0)
    monkeypatch.setattr(sync_state, "engine_version", lambda: "another-engine")
    again = fhir.write_bundle(
        tmp_path / "c.json", [*base, *fhir.daily("p1", D(2025, 3, 9), D(2025, 3, 9), prefix="c")]
    )
    upgraded = run_sync(store, [again], D(2025, 3, 9))
    assert (upgraded.walked, upgraded.rebuilt) == (1, 1)
    once = fhir.write_bundle(
        tmp_path / "d.json", [*base, *fhir.daily("p1", D(2025, 3, 10), D(2025, 3, 10), prefix="d")]
    )
    after = run_sync(store, [once], D(2025, 3, 10))
    assert (after.walked, after.rebuilt) == (1, 0)
