"""What a benchmark script does first: run again with the project's venv when this
interpreter cannot import the adapter, so that `python3 benchmarks/X.py` works as well."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_with_adapter(script: str) -> None:
    """Return when the adapter can be imported; else run `script` (the benchmark's
    `__file__`) again, with its arguments, under the project's .venv/bin/python."""
    if importlib.util.find_spec("adapter") is not None:
        return
    venv = ROOT / ".venv" / "bin" / "python"
    in_venv = Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()
    path = Path(script).resolve()
    if not venv.exists() or in_venv:
        sys.exit(f"benchmarks/{path.name}: run it with the project's venv (.venv/bin/python)")
    os.execv(str(venv), [str(venv), str(path), *sys.argv[1:]])
