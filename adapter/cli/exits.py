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
# Ctrl-C once the command's work was done (D-255): after its output was written in full
# the command's own status stands; while the output was written, 130.
FINISHED = (
    "substreg: interrupted after the command had finished; its work is done and kept, and "
    "its output was written in full"
)
OUTPUT_CUT = (
    "substreg: interrupted while the output was written; the command's work is done and "
    "kept, only its output is incomplete"
)


def stopped_line(what: str) -> str:
    """The one line of a command that runs until it is stopped (`submit --worker`, `tenant
    work`, `register-sim`): Ctrl-C or SIGTERM is its normal end, exit 0 (D-205, D-255)."""
    return f"substreg: stopped; {what}"


FAIL_ON = ("error", "warning")  # `--fail-on S`: findings of severity S or worse fail
_FAILING = {"error": {"error"}, "warning": {"error", "warning"}}


def fails_on(fail_on: str | None, findings: Iterable[Finding]) -> bool:
    """Whether `--fail-on S` fails: a finding of severity S or worse is present."""
    failing = _FAILING.get(fail_on or "", set())
    return any(f.severity in failing for f in findings)
