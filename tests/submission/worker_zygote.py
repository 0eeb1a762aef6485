"""A process that has imported `substreg` once and forks a worker on request (the crash test).

Starting `python -m adapter.cli submit --worker` takes one to three seconds of imports on a
shared machine; two hundred kills at random points of the work would spend most of their
time importing. This process imports the command's modules once, then for each line
`fork` on standard input forks a child that runs `adapter.cli.main.main(ARGV)` (for
`fork-seal`: ARGV with `--queue-only` for `--worker`, a `submit` that seals) — the same
command, in a process of its own, with its own database connections and its own clock —
and answers the child's pid on standard output. The parent opens no connection and starts
no thread before it forks. Children are reaped by the kernel (SIGCHLD ignored); each
child's standard output and error go to `LOGDIR/worker-PID.log`.

    python tests/submission/worker_zygote.py LOGDIR ARG...
"""

from __future__ import annotations

import importlib
import os
import signal
import ssl
import sys
import traceback

PRELOAD = (
    "httpcore",
    "httpx",
    "sqlalchemy.dialects.postgresql.psycopg",
    "sqlalchemy.dialects.sqlite",
    "adapter.cli.submission",
    "adapter.services.worker",
    "adapter.store.opening",
    "adapter.transport.http",
)


def main() -> int:
    log_dir, argv = sys.argv[1], sys.argv[2:]
    # What a worker loads: the command, the store and both drivers, the http transport.
    for module in PRELOAD:
        importlib.import_module(module)
    from adapter.cli.main import main as substreg

    ssl.create_default_context()  # the trust store's files, read once into the page cache
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    # `fork-seal`: the same command sealing instead (`submit --queue-only`), to be killed
    # while it seals.
    sealing = [a if a != "--worker" else "--queue-only" for a in argv]
    for line in sys.stdin:
        if line.strip() not in ("fork", "fork-seal"):
            continue
        command = sealing if line.strip() == "fork-seal" else argv
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            log = os.open(
                os.path.join(log_dir, f"worker-{os.getpid()}.log"),
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                0o600,
            )
            os.dup2(log, 1)
            os.dup2(log, 2)
            stdin = os.open(os.devnull, os.O_RDONLY)
            os.dup2(stdin, 0)
            code = 70
            try:
                code = substreg(command)
            except BaseException:  # the child's own end: said in its log
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(pid, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
