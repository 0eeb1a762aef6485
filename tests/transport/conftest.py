"""The http transport's tests share the simulator's fixtures (tests/registersim)."""

from __future__ import annotations

from tests.registersim.conftest import client, practice, state, state_template

__all__ = ["client", "practice", "state", "state_template"]
