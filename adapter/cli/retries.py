"""What `substreg pull` and `substreg import` show while a FHIR server is busy or
unreachable: one line on stderr for each retry ("<server>: HTTP 429, waiting 2 s as
Retry-After says (attempt 2 of 6)"), in place of stamina's bare `stamina.retry_scheduled`
log records. Set up at the CLI edge only: `substreg serve` keeps stamina's logging and
metrics hooks. Other retries (a store's refused race, tried again at once) show nothing.
"""

from __future__ import annotations

import sys

from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from adapter.connect.client import retry_line


def show_retries() -> None:
    """Each retry of the FHIR client as one readable line on stderr."""
    set_on_retry_hooks([_on_retry])


def _on_retry(details: RetryDetails) -> None:
    line = retry_line(details)
    if line is not None:
        print(line, file=sys.stderr, flush=True)
