"""The `substreg` command line: a thin edge over `adapter.services`.

main.py              the parser, `main` and `console` (the installed command; loads
                     argparse only: `--help` costs nothing)
stopped.py           Ctrl-C and a reader gone (`| head`): one line and 130, or 141
run.py               runs `derive` and `validate`; the one place an error becomes a line
stateful_arguments   the arguments of the stateful commands
stateful.py          their handlers; context.py (settings, clock, confirmation),
                     destructive.py (retention, runs undo, blanket-deregistration),
                     output*.py (what they print)
"""

from __future__ import annotations

from adapter.cli.main import main

__all__ = ["main"]
