"""Serving the simulator with uvicorn (`substreg register-sim`).

uvicorn's h11 protocol, one process: the simulator's SQLite takes one writer at a time.
`server(…)` gives a `uvicorn.Server` that a test may run in a thread; `serve(…)` runs one
until it is stopped (Ctrl-C).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from adapter.registersim.app import create_app, utc_now
from adapter.registersim.faults import Faults, quiet_drops

__all__ = ["serve", "server"]


def server(
    app: FastAPI,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    tls: tuple[Path, Path] | None = None,
) -> uvicorn.Server:
    """A uvicorn server for `app` (not started); HTTPS with `tls` = (certificate, key)."""
    certfile, keyfile = (str(tls[0]), str(tls[1])) if tls else (None, None)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",
        lifespan="off",
        log_level=log_level,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    quiet_drops(logging.getLogger("uvicorn.error"))
    return uvicorn.Server(config)


def serve(
    state_dir: Path,
    *,
    host: str,
    port: int,
    faults: Faults | None = None,
    clock: Callable[[], datetime] = utc_now,
    say: Callable[[str], None] = print,
    letters: Path | None = None,
) -> None:
    """Run the simulator on `host:port` until stopped; say where and what to pin first."""
    app = create_app(state_dir, faults=faults, clock=clock, letters=letters)
    identity = app.state.office.identity
    made = "made now" if identity.created else "kept"
    say(f"Register simulator: state {state_dir} (key and certificate {made})")
    say(f"  certificate   {identity.certificate_path}  (GET /certificate)")
    say(f"  SHA-256       {identity.fingerprint}")
    say(f'  pin it        [register] certificate_sha256 = "{identity.fingerprint}"')
    say(f"  endpoint      http://{host}:{port}  (POST /submissions)")
    if faults is not None and faults.any():
        say(f"  faults        {faults}")
    if letters is not None:
        say(f"  letters       {letters}/<BtM number>/  (duplicate notices, with the code)")
    _log_to_stderr(logging.getLogger("substreg.registersim"))
    server(app, host=host, port=port).run()


def _log_to_stderr(log: logging.Logger) -> None:
    """The simulator's own lines (batch ids, statuses, counts) beside uvicorn's."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
