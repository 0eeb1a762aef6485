"""How far the exhaustive and end-to-end tests go (D-218).

`make test` runs every test, the few exhaustive ones at their quick depth
(SUBSTREG_TEST_DEPTH=quick): each path they check is still taken, on both databases,
but over a sample (every STRIDE-th byte of an envelope, half the scenario tenants on
each database). `make soak`, which CI runs after `make test`, and a plain `pytest` run
them in full: every byte, every tenant on both databases.
"""

from __future__ import annotations

import os

FULL = os.environ.get("SUBSTREG_TEST_DEPTH", "full") != "quick"
STRIDE = 1 if FULL else 4


def sampled(count: int, offset: int = 0) -> range:
    """The positions 0 … count-1 a test tries: all in full, every STRIDE-th from `offset`
    at the quick depth (tests choose different offsets, so that together they still try
    every residue)."""
    return range(offset % STRIDE, count, STRIDE)
