"""The pull tests' FHIR server (tests/pull/fhir_server.py), served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.pull.fhir_server import ServerState, create_fhir_app, demo_resources
from tests.registersim.helpers import ServedSim


@dataclass
class Served:
    state: ServerState
    url: str  # http://127.0.0.1:PORT

    @property
    def base(self) -> str:
        return f"{self.url}/fhir"


@pytest.fixture
def fhir_server() -> Iterator[Served]:
    """The demo practice on a FHIR server of its own, until the test ends."""
    state = ServerState()
    state.load(demo_resources())
    served = ServedSim(create_fhir_app(state))
    served.start()
    try:
        yield Served(state, served.endpoint)
    finally:
        state.release.set()
        served.stop()
