"""Benchmark how long `substreg` takes to start, against bare interpreters measured alongside.

    python benchmarks/startup.py [--repeat 10]

Each command runs `--repeat` times, each run a fresh child process whose wall time is
taken around it; the runs of all commands are interleaved, so a slow spell of a shared
machine hits every command alike. Measured:

- baseline `python -c pass`: the interpreter alone, the floor of any command;
- baseline `import fhir.resources.R4B.bundle`: the interpreter and the full FHIR models
  (pydantic included), what every command paid while the CLI imported them at start;
- `substreg --help`;
- `substreg derive` of a tiny input (the implementation guide's examples, one report);
- `substreg validate` of the same input: the one command that needs the full models;
- `substreg reports list` on an empty database (init'ed in a temp dir, not timed): the
  start of a stateful command (SQLAlchemy, Alembic, cryptography).

The table gives each command's median and best, and its median as a multiple of each
baseline's median. Exit status 2 when a command fails, 0 otherwise: there is no target,
the figures are for reading (README.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TINY = ROOT / "fhir_profiles" / "examples"
TINY_AS_OF = "2025-06-30"


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    argv: list[str]


def substreg_argv(python: str) -> list[str]:
    """The installed `substreg` script beside `python`, as a user runs it; else `-m`."""
    script = Path(python).parent / "substreg"
    return [str(script)] if script.exists() else [python, "-m", "adapter.cli.main"]


def venv_python() -> str:
    """The project venv's interpreter when there is one (it has the adapter), else this one."""
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def run_once(command: Command, env: dict[str, str]) -> float:
    """Seconds of one run of `command`; exit 2 from the benchmark when it fails."""
    start = time.perf_counter()
    done = subprocess.run(
        command.argv,
        check=False,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        problem = done.stderr.decode(errors="replace").strip()
        print(f"FAILED (exit {done.returncode}): {' '.join(command.argv)}\n{problem}")
        sys.exit(2)
    return seconds


def commands(python: str) -> list[Command]:
    substreg = substreg_argv(python)
    return [
        Command("python -c pass", [python, "-c", "pass"]),
        Command(
            "import fhir.resources (R4B Bundle)", [python, "-c", "import fhir.resources.R4B.bundle"]
        ),
        Command("substreg --help", [*substreg, "--help"]),
        Command("substreg derive (tiny)", [*substreg, "derive", str(TINY), "--as-of", TINY_AS_OF]),
        Command("substreg validate (tiny)", [*substreg, "validate", str(TINY)]),
        Command("substreg reports list (empty)", [*substreg, "reports", "list"]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs per command (default 10)")
    args = parser.parse_args(argv)
    python = venv_python()
    with tempfile.TemporaryDirectory(prefix="substreg-bench-startup-") as work:
        # A database and keyring of their own: never the user's home or ./substreg.db.
        env = {
            **os.environ,
            "HOME": work,
            "SUBSTREG_HOME": f"{work}/home",
            "SUBSTREG_DATABASE_URL": f"sqlite:///{work}/substreg.db",
        }
        env.pop("SUBSTREG_KEYRING_FILE", None)
        run_once(Command("init", [*substreg_argv(python), "init"]), env)
        return _bench(python, args.repeat, env)


def _bench(python: str, repeat: int, env: dict[str, str]) -> int:
    measured = commands(python)
    print(f"python {sys.version.split()[0]} ({python}); {repeat} runs each, interleaved")
    times: dict[str, list[float]] = {c.name: [] for c in measured}
    for command in measured:  # one warm-up each: the first run reads the files from disk
        run_once(command, env)
    for _ in range(repeat):
        for command in measured:
            times[command.name].append(run_once(command, env))
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    bare, fhir = medians[measured[0].name], medians[measured[1].name]
    print()
    header = f"{'command':<36}{'median s':>10}{'best s':>9}{'× pass':>9}{'× fhir':>9}"
    print(header)
    print("-" * len(header))
    for name, runs in times.items():
        median = medians[name]
        print(
            f"{name:<36}{median:>10.3f}{min(runs):>9.3f}{median / bare:>9.2f}{median / fhir:>9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
