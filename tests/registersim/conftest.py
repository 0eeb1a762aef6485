"""Fixtures of the simulator's tests (tests/registersim/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapter.registersim import create_app
from tests.registersim.helpers import (
    Practice,
    clock,
    fresh_state,
    make_practice,
    make_state_template,
)


@pytest.fixture(scope="session")
def practice() -> Practice:
    """The practice's signing keys, made once."""
    return make_practice()


@pytest.fixture(scope="session")
def state_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulator's identity, made once (RSA 3072)."""
    return make_state_template(tmp_path_factory.mktemp("sim") / "template")


@pytest.fixture
def state(state_template: Path, tmp_path: Path) -> Path:
    """A simulator's state folder with its identity and nothing received yet."""
    return fresh_state(state_template, tmp_path / "state")


@pytest.fixture
def client(state: Path) -> TestClient:
    """The simulator's app on `state`, through FastAPI's TestClient."""
    return TestClient(create_app(state, clock=clock))
