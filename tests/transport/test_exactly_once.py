"""Any sequence of submissions through random faults, each retried with the same bytes under
the same key until delivered, leaves the simulator holding every report exactly once."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.errors import TransientTransportError
from adapter.registersim import Fault, Faults
from adapter.transport.base import Delivered, Parcel
from adapter.transport.http import HttpTransport
from tests.registersim.helpers import (
    Practice,
    batch,
    fresh_state,
    register_certificate,
    report,
    sealed,
    served,
)

CODES = ["HAMÜF284", "MAMUM385", "JOWEM318", "ANBEF112", "ÖZKAM907"]
ATTEMPTS = 80

fault = st.one_of(
    st.none(),
    st.builds(Fault, st.sampled_from([0.2, 0.4]), st.sampled_from(["before", "after"])),
)
faults = st.builds(
    Faults,
    delay=fault,
    delay_seconds=st.just(0.25),
    error=fault,
    unavailable=fault,
    retry_after=st.just(0),
    drop=fault,
    seed=st.integers(0, 2**32 - 1),
)


@st.composite
def batches(draw: st.DrawFn) -> list[list[tuple[str, str, int]]]:
    """1 to 4 batches of 1 to 3 reports: (kind, code, day offset), ids unique."""
    return draw(
        st.lists(
            st.lists(
                st.tuples(
                    st.sampled_from(["anmeldung", "abmeldung"]),
                    st.sampled_from(CODES),
                    st.integers(0, 9),
                ),
                min_size=1,
                max_size=3,
            ),
            min_size=1,
            max_size=4,
        )
    )


def deliver(http: HttpTransport, parcel: Parcel) -> Delivered:
    """What the worker does: the same parcel again after every transient failure."""
    for _ in range(ATTEMPTS):
        try:
            return http.deliver(parcel)
        except TransientTransportError:
            continue
    msg = f"not delivered in {ATTEMPTS} attempts"
    raise AssertionError(msg)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=batches(), switches=faults)
def test_every_report_is_held_exactly_once_whatever_the_faults(
    state_template: Path,
    practice: Practice,
    tmp_path_factory: pytest.TempPathFactory,
    plan: list[list[tuple[str, str, int]]],
    switches: Faults,
) -> None:
    """Retried through delays, 500s, 503s and dropped connections, before and after the
    intake: one submission per batch, one row per report, the receipt kept the one sent."""
    state = fresh_state(state_template, tmp_path_factory.mktemp("sim") / "state")
    parcels = []
    for b, items in enumerate(plan):
        reports = [
            report(kind, code, date(2026, 1, 1) + timedelta(days=day), number=b * 10 + n)
            for n, (kind, code, day) in enumerate(items)
        ]
        chosen = batch(f"b-{b}", *reports)
        parcels.append(Parcel(chosen.batch_id, sealed(chosen, state, practice.signer), chosen))
    receipts = {}
    with served(state, switches) as sim:
        http = HttpTransport(sim.endpoint, register_certificate(state), timeout=0.15)
        with http:
            for parcel in parcels:
                receipts[parcel.batch_id] = deliver(http, parcel).receipt
        held = httpx.get(f"{sim.endpoint}/registrations").json()
    with served(state) as sim, HttpTransport(sim.endpoint, register_certificate(state)) as http:
        for parcel in parcels:  # the receipt the register kept is the one that came back
            assert http.deliver(parcel).receipt == receipts[parcel.batch_id]
    sent = sorted(r.id for p in parcels for r in p.batch.reports)
    assert sorted(r["report_id"] for r in held["reports"]) == sent
    assert held["counts"]["submissions"] == len(parcels)
    accepted = [r for r in held["reports"] if r["status"] == "accepted"]
    opened = [r for r in accepted if r["kind"] == "anmeldung"]
    assert len(held["registrations"]) == len(opened)
    shutil.rmtree(state)
