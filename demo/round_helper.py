"""The small steps of `make run`'s submission round (demo/round.sh) that a shell does badly.

    round_helper.py port [PREFERRED]          8765 (or PREFERRED) when free, else a free port
                                              of 127.0.0.1
    round_helper.py wait URL PID [PATH]       until URL/health (or URL+PATH) answers (exit 1
                                              when PID died or after 60 s)
    round_helper.py practice URL BASE OUT     the register's certificate (GET URL/certificate)
                                              into the folder of OUT as register.pem, and OUT:
                                              BASE (practice.toml) with [register] and
                                              [submission] for the http transport to URL
    round_helper.py pending                   the ledger ids in `reports list --format json`
                                              (standard input), one a line

Run with the project's venv (it imports httpx and adapter.crypto.envelope).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import httpx

from adapter.crypto.envelope import certificate_fingerprint, load_certificate
from adapter.settings.files import write_private

PREFERRED_PORT = 8765


def port(preferred: int = PREFERRED_PORT) -> int:
    for wanted in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", wanted))
            except OSError:
                continue
            chosen: int = probe.getsockname()[1]
            return chosen
    msg = "no free port on 127.0.0.1"
    raise SystemExit(msg)


def wait(url: str, pid: int, path: str = "/health") -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}{path}", timeout=1).status_code == 200:
                return 0
        except httpx.TransportError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"the process {pid} stopped before it answered", file=sys.stderr)
            return 1
        time.sleep(0.1)
    print(f"no answer from {url}{path} within 60 s", file=sys.stderr)
    return 1


def practice(url: str, base: Path, out: Path) -> int:
    pem = httpx.get(f"{url}/certificate", timeout=10).raise_for_status().content
    pin = certificate_fingerprint(load_certificate(pem, what=f"{url}/certificate"))
    keys = out.parent / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    write_private(keys / "register.pem", pem)
    text = base.read_text(encoding="utf-8")
    text = (
        "# Made by `make run` (demo/round.sh) on every run: demo/practice.toml, and how the\n"
        "# demo practice submits to the register simulator started by `make run`.\n\n"
        f"{text.rstrip()}\n\n"
        "# The register's certificate as its GET /certificate gave it, pinned by SHA-256.\n"
        "[register]\n"
        f'certificate_sha256 = "{pin}"\n\n'
        "[submission]\n"
        'transport = "http"\n'
        'signer_key = "keys/signer.key"                # envelope keygen, once\n'
        'signer_certificate = "keys/signer.pem"\n'
        'register_certificate = "keys/register.pem"\n\n'
        "[submission.http]\n"
        f'endpoint = "{url}"\n'
    )
    write_private(out, text.encode("utf-8"))
    print(f"  register certificate {keys / 'register.pem'}, pinned: sha256 {pin}")
    print(f"  {out}: demo/practice.toml + [register] + [submission] (http, {url})")
    return 0


def pending() -> int:
    for report in json.load(sys.stdin)["reports"]:
        print(report["ledger_id"])
    return 0


def main(argv: list[str]) -> int:
    match argv:
        case ["port", *preferred] if len(preferred) <= 1:
            print(port(*(int(p) for p in preferred)))
            return 0
        case ["wait", url, pid, *path] if len(path) <= 1:
            return wait(url, int(pid), *path)
        case ["practice", url, base, out]:
            return practice(url, Path(base), Path(out))
        case ["pending"]:
            return pending()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
