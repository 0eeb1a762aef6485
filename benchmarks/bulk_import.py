"""Benchmark `substreg import` of a Bulk Data export against plain orjson parsing of the
same files (issue 13, benchmark; not a test).

    python benchmarks/bulk_import.py [--scale 1] [--repeat 3] [--keep DIR]

A practice-year is generated (`benchmarks/generate.py`, scale 1 = 80 patients, about
27,000 resources) as NDJSON files with a manifest. Timed, best of `--repeat`:

- parse:  every line of every file read and parsed with orjson, nothing else;
- read:   `batch_of(read_paths(…))`, what import does before the sync;
- import: `adapter.services.bulk_import.import_folder` into a new SQLite database
          (reading with `adapter.fhir.source`, collecting, the whole sync), as of
          2025-12-31, in-process (no interpreter start).

Prints resources per second of each and import ÷ parse as the throughput ratio (target
≥ 0.5×, issue 13), and the same ratio of CPU seconds (steadier on a shared machine).
Exit 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.5


def generate(folder: Path, scale: float) -> int:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "generate.py"),
            str(folder),
            "--scale",
            str(scale),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    output = [
        {"type": path.stem, "url": f"https://ehr.example/bulk/{path.name}"}
        for path in sorted(folder.glob("*.ndjson"))
    ]
    manifest = {"transactionTime": "2025-12-31T23:00:00Z", "request": "x", "output": output}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return sum(1 for path in folder.glob("*.ndjson") for line in path.open("rb") if line.strip())


def parse(folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds of parsing every line."""
    started, cpu = time.perf_counter(), time.process_time()
    for path in sorted(folder.glob("*.ndjson")):
        with path.open("rb") as lines:
            for line in lines:
                if line.strip():
                    orjson.loads(line)
    return time.perf_counter() - started, time.process_time() - cpu


def read(folder: Path) -> float:
    """What import does before the sync: the reader and the collector (`batch_of`)."""
    from adapter.fhir.source import read_paths
    from adapter.mappings import load_mappings
    from adapter.services.sync import batch_of

    mappings = load_mappings()
    started = time.perf_counter()
    batch_of(read_paths([folder]), mappings)
    return time.perf_counter() - started


def import_once(folder: Path, work: Path) -> tuple[float, float, int]:
    from adapter.composition import store as open_store
    from adapter.mappings import load_mappings
    from adapter.services import setup
    from adapter.services.bulk_import import import_folder
    from adapter.services.sync import SyncOptions
    from adapter.settings.environment import Settings
    from adapter.settings.practice import PracticeConfig
    from adapter.store.audit import Actor

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    actor = Actor("benchmark", "operator")
    settings = Settings(
        database_url=f"sqlite:///{work / 'substreg.db'}",
        home=work,
        keyring_path=work / "keyring.json",
        keyring_from_env=False,
        actor=actor.name,
    )
    clock = lambda: datetime.now(UTC)  # noqa: E731
    setup.init(open_store(settings, clock), settings, actor, clock())
    store = open_store(settings, clock)
    options = SyncOptions(
        as_of=date(2025, 12, 31), config=PracticeConfig(), mappings=load_mappings()
    )
    started, cpu = time.perf_counter(), time.process_time()
    result = import_folder(store, actor, [folder], options)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    store.engine.dispose()
    return seconds, cpu, len(result.recorded)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args(argv)
    temp = Path(tempfile.mkdtemp(prefix="substreg-bench-import-"))
    folder = args.keep or temp / "export"
    try:
        resources = (
            generate(folder, args.scale)
            if not (folder / "manifest.json").exists()
            else (sum(1 for p in folder.glob("*.ndjson") for line in p.open("rb") if line.strip()))
        )
        parses = [parse(folder) for _ in range(args.repeat)]
        parsed, parsed_cpu = min(w for w, _ in parses), min(c for _, c in parses)
        reading = min(read(folder) for _ in range(args.repeat))
        rounds = [import_once(folder, temp / f"db{i}") for i in range(args.repeat)]
        imported = min(seconds for seconds, _, _ in rounds)
        imported_cpu = min(cpu for _, cpu, _ in rounds)
        ratio = parsed / imported
        print(f"resources: {resources:,}; reports recorded: {rounds[0][2]}")
        print(f"orjson parse: {parsed:.2f} s ({resources / parsed:,.0f} resources/s)")
        print(f"read+collect: {reading:.2f} s ({resources / reading:,.0f} resources/s)")
        print(f"import:       {imported:.2f} s ({resources / imported:,.0f} resources/s)")
        # CPU seconds of this process: on a shared machine wall time includes the waits
        # for a core, which move the ratio more than any change does.
        print(f"CPU s: parse {parsed_cpu:.2f}, import {imported_cpu:.2f}, ratio "
              f"{parsed_cpu / imported_cpu:.3f}×")  # fmt: skip
        print(f"import throughput ÷ parse: {ratio:.3f}× (target ≥ {TARGET}×)")
        return 0 if ratio >= TARGET else 1
    finally:
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
