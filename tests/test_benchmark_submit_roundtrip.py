"""The end-to-end submission benchmark (benchmarks/submit_roundtrip.py) runs, tiny: a few
approved reports through submit and the worker to the simulator, on SQLite and on
PostgreSQL, every batch acknowledged (it exits 2 otherwise). It cannot rot unnoticed."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.cli_helpers import ROOT
from tests.storage import PG_SKIP_ENV

BENCHMARK = ROOT / "benchmarks" / "submit_roundtrip.py"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_benchmark_sends_a_few_reports_and_prints_its_table(backend: str) -> None:
    if backend == "postgresql" and os.environ.get(PG_SKIP_ENV) == "1":
        pytest.skip(f"{PG_SKIP_ENV}=1: no PostgreSQL on this machine")
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--reports", "6", "--batch-size", "2",
         "--history", "2", "--database", backend],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{backend}: 6 reports in 4 batches" in done.stdout  # per doctor: 3 and 3
    for part in ("seal alone (baseline)", "claim", "post (loopback, simulator)", "record"):
        assert re.search(rf"{re.escape(part)}\s+[\d.]+\s+[\d.]+\s+[\d.]+", done.stdout), part
    assert re.search(r"both\s+[\d.]+ s\s+[\d,]+ reports/s", done.stdout)
