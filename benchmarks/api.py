"""Issue 13's service benchmark: both of its ratios in one run (a benchmark, not a test).

    python benchmarks/api.py [--rate 50] [--seconds 20] [--database-url URL]
                             [--scale 1] [--repeat 3]

1. `POST /fhir` of a one-administration transaction against a trivial FastAPI endpoint,
   both at `--rate` requests/s over loopback in the same run: p50 and p99 of each, and
   the ratio of the p99s (target ≤ 3×) — `benchmarks/fhir_push.py`.
2. `substreg import` of a generated practice-year's Bulk Data folder against plain orjson
   parsing of the same files (target ≥ 0.5×) — `benchmarks/bulk_import.py`.

Each runs in a process of its own (the push's server must not share an interpreter with
the import's sync), its report is printed as it comes, and a summary of the two ratios
ends the output. Exit 0 when both targets are met, 1 otherwise, 2 when a part failed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PUSH_TARGET = 3.0
IMPORT_TARGET = 0.5


def part(script: str, argv: list[str], pattern: str) -> float | None:
    """Run one benchmark, echo its output, and read its ratio (None: it failed)."""
    done = subprocess.run(
        [sys.executable, str(HERE / script), *argv], capture_output=True, text=True, check=False
    )
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    found = re.search(pattern, done.stdout)
    return float(found.group(1)) if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", default="50")
    parser.add_argument("--seconds", default="20")
    parser.add_argument("--database-url")
    parser.add_argument("--scale", default="1")
    parser.add_argument("--repeat", default="3")
    args = parser.parse_args(argv)
    push_args = ["--rate", args.rate, "--seconds", args.seconds]
    if args.database_url:
        push_args += ["--database-url", args.database_url]
    print("== POST /fhir against a trivial endpoint (benchmarks/fhir_push.py)")
    push = part("fhir_push.py", push_args, r"p99 ratio: ([\d.]+)×")
    print("\n== bulk import against orjson parsing (benchmarks/bulk_import.py)")
    bulk = part(
        "bulk_import.py",
        ["--scale", args.scale, "--repeat", args.repeat],
        r"import throughput ÷ parse: ([\d.]+)×",
    )
    print("\n== issue 13's targets")
    print(_line("POST /fhir p99 ÷ trivial p99", push, f"≤ {PUSH_TARGET:g}×", PUSH_TARGET, low=True))
    print(_line("import ÷ orjson parse", bulk, f"≥ {IMPORT_TARGET:g}×", IMPORT_TARGET, low=False))
    if push is None or bulk is None:
        return 2
    return 0 if push <= PUSH_TARGET and bulk >= IMPORT_TARGET else 1


def _line(name: str, ratio: float | None, target: str, bound: float, *, low: bool) -> str:
    if ratio is None:
        return f"  {name:<30} failed (see above)"
    met = ratio <= bound if low else ratio >= bound
    return f"  {name:<30} {ratio:.3g}×  (target {target}: {'met' if met else 'missed'})"


if __name__ == "__main__":
    sys.exit(main())
