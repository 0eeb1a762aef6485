"""The arguments of `substreg register-sim`. Only argparse here: `adapter.cli.registersim`
runs the simulator, and loads FastAPI, uvicorn and SQLAlchemy for it alone."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

_Actions = argparse._SubParsersAction  # the type argparse gives subcommand groups

_FAULT_FORM = "RATE[@before|@after]"
_FAULTS = {
    "delay": "wait --delay-seconds before answering",
    "500": "answer HTTP 500",
    "503": "answer HTTP 503 with Retry-After: --retry-after",
    "drop": "close the connection without an answer",
    "reject": "answer HTTP 422 (a permanent rejection)",
}


def fault(text: str) -> tuple[float, str]:
    """`RATE` or `RATE@before|after`: the rate (0..1) and the phase."""
    rate_text, _, phase = text.partition("@")
    try:
        rate = float(rate_text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0 or phase not in ("", "before", "after"):
        msg = f"'{text}' is not {_FAULT_FORM} with a rate from 0 to 1"
        raise argparse.ArgumentTypeError(msg)
    return rate, phase or "before"


def add_register_sim_command(
    commands: _Actions[Any], parser_class: type[argparse.ArgumentParser]
) -> None:
    """Add `register-sim` to the `substreg` parser."""
    sim = commands.add_parser(
        "register-sim",
        help="run a simulator of the register on this machine (development, demos, tests)",
        description="A simulator of the Substitutionsregister: opens envelopes, validates each "
        "report, answers with signed receipts. Makes its key and certificate on the first "
        "start and prints the fingerprint to pin. Faults: at a rate from 0 to 1, before the "
        "submission is taken (nothing registered) or @after (registered, the answer lost).",
    )
    sim.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    sim.add_argument("--port", type=int, default=8765, help="default 8765")
    sim.add_argument(
        "--state",
        type=Path,
        default=Path(".register-sim"),
        metavar="DIR",
        help="key, certificate, code secret and SQLite state (default ./.register-sim)",
    )
    sim.add_argument(
        "--letters",
        type=Path,
        metavar="DIR",
        help="write the register's duplicate letters (004 §10, with the code) to DIR/<BtM>/",
    )
    for name, what in _FAULTS.items():
        sim.add_argument(f"--fault-{name}", type=fault, metavar=_FAULT_FORM, help=what)
    sim.add_argument("--delay-seconds", type=float, default=1.0, help="default 1")
    sim.add_argument("--retry-after", type=int, default=1, help="seconds, default 1")
    sim.add_argument("--fault-seed", type=int, help="replay the same faults (default: random)")
    sim.set_defaults(handler="register_sim")
