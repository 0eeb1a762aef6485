"""`substreg register-sim`: the register simulator (adapter.registersim) under uvicorn."""

from __future__ import annotations

import argparse
import sys

from adapter.cli.exits import stopped_line
from adapter.registersim import Fault, Faults
from adapter.registersim.server import serve


def dispatch(args: argparse.Namespace) -> int:
    """Run the simulator until it is stopped; 0. Ctrl-C is its normal end: uvicorn finishes
    the requests in hand and gives the interrupt back, which is said in one line as for
    `submit --worker`, not as a command cut short (D-205, D-255)."""
    try:
        serve(args.state, host=args.host, port=args.port, faults=faults(args), letters=args.letters)
    except KeyboardInterrupt:
        kept = f"the requests in hand were answered; the state is kept in {args.state}"
        print(stopped_line(kept), file=sys.stderr, flush=True)
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
