"""The exit statuses of `substreg`, and when findings fail a command (`--fail-on`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `substreg --help` loads argparse and this module only
    from adapter.domain.model import Finding

EXIT_FOUND = 1  # validate found an error; --fail-on found a finding; a sync kept nothing;
# an envelope does not authenticate or verify (EnvelopeDecryptionError, SignatureError)
EXIT_USAGE = 2  # unusable input or usage: one line on standard error
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as a shell reports it): one line (D-205)
EXIT_READER_GONE = 141  # standard output's reader went away (128 + SIGPIPE): silent (D-235)
INTERRUPTED = (
    "substreg: interrupted; the step under way was rolled back, the steps already "
    "finished are kept, and running the command again goes on from there"
)
FAIL_ON = ("error", "warning")  # `--fail-on S`: findings of severity S or worse fail
_FAILING = {"error": {"error"}, "warning": {"error", "warning"}}


def fails_on(fail_on: str | None, findings: Iterable[Finding]) -> bool:
    """Whether `--fail-on S` fails: a finding of severity S or worse is present."""
    failing = _FAILING.get(fail_on or "", set())
    return any(f.severity in failing for f in findings)
