"""`substreg register-sim`: the register simulator (adapter.registersim) under uvicorn."""

from __future__ import annotations

import argparse

from adapter.registersim import Fault, Faults
from adapter.registersim.server import serve


def dispatch(args: argparse.Namespace) -> int:
    """Run the simulator until it is stopped; 0."""
    serve(args.state, host=args.host, port=args.port, faults=faults(args), letters=args.letters)
    return 0


def faults(args: argparse.Namespace) -> Faults:
    """The fault switches of the command line."""

    def switch(value: tuple[float, str] | None) -> Fault | None:
        if value is None:
            return None
        return Fault(value[0], "after" if value[1] == "after" else "before")

    return Faults(
        delay=switch(args.fault_delay),
        delay_seconds=args.delay_seconds,
        error=switch(args.fault_500),
        unavailable=switch(args.fault_503),
        retry_after=args.retry_after,
        drop=switch(args.fault_drop),
        reject=switch(args.fault_reject),
        seed=args.fault_seed,
    )
