"""Benchmark `substreg derive` against plain orjson parsing of the same NDJSON export.

    python benchmarks/derive.py [--scales 1,10] [--repeat 3] [--keep]

For each scale, a practice-year is generated (`benchmarks/generate.py`), then measured,
each run in a fresh child process whose wall time and peak RSS (`os.wait4` rusage of
exactly that child) are taken:

- parse:  a child that reads every NDJSON file line by line and `orjson.loads` each line;
- derive: `python -m adapter.cli.main derive DIR --as-of 2026-01-31`, stdout to a file.

Each timing is the best of `--repeat` runs; peak RSS is the largest of them. Targets:
derive throughput at least half the parse throughput (resources/s) at every scale, and
derive's peak RSS at 10× less than 3 times that at 1×. Exit status 1 when a target is
missed, 2 when a run fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = "2026-01-31"
THROUGHPUT_TARGET = 0.5  # derive resources/s ÷ parse resources/s, at least
MEMORY_TARGET = 3.0  # derive peak RSS at 10× ÷ at 1×, less than

PARSE = """\
import sys
from pathlib import Path
import orjson
count = 0
for path in sorted(Path(sys.argv[1]).rglob("*.ndjson")):
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                orjson.loads(line)
                count += 1
print(count)
"""


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    peak_rss_kb: int


@dataclass(frozen=True, slots=True)
class Measured:
    best_seconds: float
    peak_rss_kb: int

    def rate(self, resources: int) -> float:
        return resources / self.best_seconds

    @property
    def peak_mb(self) -> float:
        return self.peak_rss_kb / 1024


def python_with_adapter() -> str:
    """This interpreter when it can import the adapter and orjson, else the project venv's."""
    if importlib.util.find_spec("adapter") is not None:
        return sys.executable
    venv = ROOT / ".venv" / "bin" / "python"
    if venv.exists():
        return str(venv)
    sys.exit("benchmarks/derive.py: run it with the project's venv (.venv/bin/python)")


def run_child(cmd: list[str], stdout: Path) -> Run:
    """Run `cmd` once; its wall time and the peak RSS of exactly this child."""
    with stdout.open("wb") as out, stdout.with_suffix(".stderr").open("wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if child.returncode != 0:
        problem = stdout.with_suffix(".stderr").read_text(errors="replace").strip()
        print(f"FAILED (exit {child.returncode}): {' '.join(cmd)}\n{problem}", file=sys.stderr)
        sys.exit(2)
    return Run(seconds, usage.ru_maxrss)  # Linux: kilobytes


def measure(cmd: list[str], stdout: Path, repeat: int) -> Measured:
    runs = [run_child(cmd, stdout) for _ in range(repeat)]
    return Measured(min(r.seconds for r in runs), max(r.peak_rss_kb for r in runs))


def count_resources(directory: Path) -> tuple[int, int]:
    """Non-empty NDJSON lines and bytes of the export."""
    lines = size = 0
    for path in directory.rglob("*.ndjson"):
        size += path.stat().st_size
        with path.open("rb") as handle:
            lines += sum(1 for line in handle if line.strip())
    return lines, size


def summarise(output: Path) -> str:
    """What derive printed, in one line (a benchmark that derives nothing proves nothing)."""
    data = json.loads(output.read_bytes())
    kinds = Counter(r["kind"] for r in data["reports"])
    findings = Counter(f"{f['severity']} {f['rule']}" for f in data["findings"])
    reports = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    found = ", ".join(f"{n}× {k}" for k, n in sorted(findings.items())) or "none"
    if any(f["rule"] == "INPUT" for f in data["findings"]):
        found += "  <- INPUT findings: the generator wrote something derive cannot read"
    return f"{len(data['reports'])} reports ({reports}); findings: {found}"


def label(scale: float) -> str:
    return f"{scale:g}×"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scales", default="1,10", help="comma-separated, default 1,10")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is taken)")
    parser.add_argument("--as-of", default=AS_OF)
    parser.add_argument("--seed", type=int, default=None, help="generator seed")
    parser.add_argument(
        "--keep", action="store_true", help="generate into benchmarks/data/ and keep it"
    )
    args = parser.parse_args(argv)
    scales = sorted({float(s) for s in args.scales.split(",") if s.strip()})
    python = python_with_adapter()

    if args.keep:
        work = HERE / "data"
        work.mkdir(exist_ok=True)
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="substreg-bench-")
        work = Path(cleanup.name)
    try:
        return _bench(python, scales, work, args)
    finally:
        if cleanup is not None:
            cleanup.cleanup()


def _bench(python: str, scales: list[float], work: Path, args: argparse.Namespace) -> int:
    print(f"python {sys.version.split()[0]} ({python}); as of {args.as_of}; ", end="")
    print(f"best of {args.repeat} runs; data in {work}")
    # adapter.cli.main is the parser alone; cli_run holds what every derive imports.
    floor_import = measure(
        [python, "-c", "import adapter.cli.run"], work / "floor.out", args.repeat
    )
    floor_orjson = measure([python, "-c", "import orjson"], work / "floor.out", args.repeat)
    rows = []
    for scale in scales:
        data = work / f"scale-{scale:g}"
        generate = [python, str(HERE / "generate.py"), str(data), "--scale", f"{scale:g}"]
        if args.seed is not None:
            generate += ["--seed", str(args.seed)]
        started = time.perf_counter()
        subprocess.run(generate, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        resources, size = count_resources(data)
        print(
            f"generated {label(scale)}: {resources:,} resources, {size / 2**20:.1f} MiB "
            f"in {time.perf_counter() - started:.1f} s"
        )
        parse_cmd = [python, "-c", PARSE, str(data)]
        parse = measure(parse_cmd, work / f"parse-{scale:g}.out", args.repeat)
        out = work / f"derive-{scale:g}.json"
        derive = measure(
            [python, "-m", "adapter.cli.main", "derive", str(data), "--as-of", args.as_of],
            out,
            args.repeat,
        )
        print(f"  derive {label(scale)}: {summarise(out)}")
        rows.append((scale, resources, size, parse, derive))

    print()
    header = f"{'scale':>6} {'resources':>10} {'MiB':>6}  {'run':<22}{'best s':>8}"
    header += f"{'resources/s':>13}{'peak RSS MiB':>14}"
    print(header)
    print("-" * len(header))
    floors = (("startup: orjson", floor_orjson), ("startup: adapter.cli.run", floor_import))
    for name, m in floors:
        print(f"{'-':>6} {'-':>10} {'-':>6}  {name:<22}{m.best_seconds:>8.3f}", end="")
        print(f"{'-':>13}{m.peak_mb:>14.1f}")
    for scale, resources, size, parse, derive in rows:
        for name, m in (("parse (orjson)", parse), ("derive", derive)):
            print(
                f"{label(scale):>6} {resources:>10,} {size / 2**20:>6.1f}  {name:<22}"
                f"{m.best_seconds:>8.3f}{m.rate(resources):>13,.0f}{m.peak_mb:>14.1f}"
            )
    print()

    verdicts = []
    for scale, resources, _, parse, derive in rows:
        ratio = derive.rate(resources) / parse.rate(resources)
        verdicts.append(
            (
                f"throughput derive/parse at {label(scale)}: {ratio:.2f} "
                f"(target ≥ {THROUGHPUT_TARGET})",
                ratio >= THROUGHPUT_TARGET,
            )
        )
    by_scale = {scale: (parse, derive) for scale, _, _, parse, derive in rows}
    if 1.0 in by_scale and 10.0 in by_scale:
        memory = by_scale[10.0][1].peak_rss_kb / by_scale[1.0][1].peak_rss_kb
        parse_memory = by_scale[10.0][0].peak_rss_kb / by_scale[1.0][0].peak_rss_kb
        verdicts.append(
            (
                f"peak RSS derive 10× / 1×: {memory:.2f} (target < {MEMORY_TARGET}; "
                f"parse: {parse_memory:.2f})",
                memory < MEMORY_TARGET,
            )
        )
    else:
        print("peak RSS target (10× / 1×) not checked: run with --scales 1,10")
    for text, passed in verdicts:
        print(f"{'PASS' if passed else 'MISS'}  {text}")
    return 0 if all(passed for _, passed in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
