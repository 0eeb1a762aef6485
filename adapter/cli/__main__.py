from __future__ import annotations

from adapter.cli.main import console

console()
