"""`substreg register-sim` as a person starts it, and what it leaves behind: the
fingerprint it prints is the one it serves, and neither its SQLite file nor its log ever
holds a patient code in clear (R-CH-3)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import pytest

from adapter.cli.main import build_parser
from adapter.errors import PermanentTransportError
from adapter.transport.base import Parcel
from adapter.transport.http import HttpTransport
from tests.registersim.helpers import (
    OTHER_DOCTOR,
    Practice,
    batch,
    register_certificate,
    report,
    sealed,
)

CODES = ["HAMÜF284", "MAMUM385", "ÖZßAM907"]
MALFORMED = "HAMÜF28"  # not a code, but nearly one: never written either


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def register_sim(
    state: Path,
    log: Path,
    *options: str,
    stop: signal.Signals = signal.SIGTERM,
    ended: list[int] | None = None,
) -> Iterator[str]:
    """`substreg register-sim --state STATE` in a child process, its output into `log`;
    the endpoint once it answers. Stopped with `stop`; its exit status into `ended`."""
    port = free_port()
    argv = [sys.executable, "-m", "adapter.cli", "register-sim", "--state", str(state)]
    argv += ["--port", str(port), *options]
    with log.open("ab") as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{endpoint}/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or child.poll() is not None:
                    raise AssertionError(log.read_text(encoding="utf-8")) from None
                time.sleep(0.1)
        yield endpoint
    finally:
        child.send_signal(stop)
        status = child.wait(timeout=30)
        if ended is not None:
            ended.append(status)


def test_the_first_start_prints_the_fingerprint_it_serves_and_a_restart_keeps_it(
    tmp_path: Path,
) -> None:
    """The SHA-256 a practice pins is printed, and it is the certificate's it serves."""
    state, log = tmp_path / "sim", tmp_path / "sim.log"
    with register_sim(state, log) as endpoint:
        fingerprint = httpx.get(f"{endpoint}/health").json()["certificate_sha256"]
    first = log.read_text(encoding="utf-8")
    assert "made now" in first
    assert f'[register] certificate_sha256 = "{fingerprint}"' in first
    with register_sim(state, log):
        pass
    assert log.read_text(encoding="utf-8").count(fingerprint) >= 4
    assert "(key and certificate kept)" in log.read_text(encoding="utf-8")


def test_ctrl_c_stops_the_simulator_with_one_line_and_exit_0(tmp_path: Path) -> None:
    """Ctrl-C is the simulator's normal end, as for `submit --worker`: one line saying it
    stopped and where its state is kept, exit 0, never "the step under way was rolled
    back" (D-205, D-255)."""
    state, log, ended = tmp_path / "sim", tmp_path / "sim.log", []
    with register_sim(state, log, stop=signal.SIGINT, ended=ended):
        pass
    said = log.read_text(encoding="utf-8")
    assert ended == [0], said
    assert (
        f"substreg: stopped; the requests in hand were answered; the state is kept in {state}"
        in said
    )
    assert "rolled back" not in said and "Traceback" not in said


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--fault-500", "2"], "rate from 0 to 1"),
        (["--fault-drop", "0.5@later"], "RATE[@before|@after]"),
        (["--fault-503", "x"], "rate from 0 to 1"),
    ],
    ids=["rate above 1", "no such phase", "not a number"],
)
def test_a_fault_switch_that_is_not_one_is_a_usage_error(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line, exit 2, before anything starts."""
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["register-sim", *argv])
    assert stopped.value.code == 2
    assert problem in capsys.readouterr().err


def test_fault_switches_reach_the_simulator() -> None:
    """Rate and phase of each switch, the delay, Retry-After and the seed."""
    from adapter.cli.registersim import faults
    from adapter.registersim import Fault

    args = build_parser().parse_args(
        ["register-sim", "--fault-drop", "0.25@after", "--fault-500", "1", "--fault-seed", "7",
         "--retry-after", "3", "--fault-delay", "0.5", "--delay-seconds", "2"]
    )  # fmt: skip
    made = faults(args)
    assert (made.drop, made.error, made.seed) == (Fault(0.25, "after"), Fault(1.0), 7)
    assert (made.delay, made.delay_seconds, made.retry_after) == (Fault(0.5), 2.0, 3)
    assert (made.unavailable, made.reject) == (None, None)


def test_neither_the_database_nor_the_log_holds_a_code_in_clear(
    state: Path, tmp_path: Path, practice: Practice
) -> None:
    """Accepted, rejected, duplicated, malformed and faulted submissions: no code in any
    file of the state folder, nor in what the simulator wrote."""
    log = tmp_path / "sim.log"  # the state's certificate was made at NOW (the seals' time)
    jan5, jan9 = date(2026, 1, 5), date(2026, 1, 9)
    with register_sim(state, log, "--fault-drop", "0.3@after", "--fault-seed", "3") as endpoint:
        certificate = register_certificate(state)
        plans = [
            (practice.signer, batch("p-1", *(report("anmeldung", c, jan5, number=n)
                                              for n, c in enumerate(CODES)))),
            (practice.signer, batch("p-2", report("abmeldung", CODES[0], jan9, number=9),
                                    report("anmeldung", MALFORMED, jan9, number=8),
                                    report("abmeldung", CODES[0], jan9, number=7))),
            (practice.stranger, batch("p-3", report("anmeldung", CODES[1], jan9,
                                                    doctor=OTHER_DOCTOR))),
        ]  # fmt: skip
        with HttpTransport(endpoint, certificate, timeout=5) as http:
            for signer, items in plans:
                parcel = Parcel(items.batch_id, sealed(items, state, signer), items)
                for _ in range(30):
                    try:
                        http.deliver(parcel)
                        break
                    except PermanentTransportError:
                        raise
                    except Exception:  # dropped: the same bytes again
                        continue
        held = httpx.get(f"{endpoint}/registrations").json()
    assert held["counts"]["duplicates"] == 1
    assert held["counts"]["rejected"] == 2
    written = [path for path in state.rglob("*") if path.is_file()] + [log]
    assert any(path.name.endswith(".sqlite") for path in written)
    for code in [*CODES, MALFORMED]:
        forms = {code.encode(), code.encode("utf-16-le"), code.encode("unicode_escape"),
                 code.encode("ascii", "backslashreplace"), code.upper().encode()}  # fmt: skip
        for path in written:
            content = path.read_bytes()
            assert not any(form in content for form in forms), (path.name, "holds a code")
    said = log.read_text(encoding="utf-8")
    assert "simulated fault" in said
    assert "submission p-2: 1 accepted, 2 rejected, 0 notice(s)" in said  # its own lines too
