"""The `[submission]` section of practice.toml and the transports it names: checked when
read, each mistake one line naming the setting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adapter import composition
from adapter.domain.submission import RetryPolicy
from adapter.errors import ConfigError
from adapter.settings.practice import load_config
from adapter.transport.folder import FolderTransport
from tests.storage import NOW

BASE = """
[register]
certificate_sha256 = "{pin}"

[submission]
transport = "folder"
signer_key = "keys/signer.key"
signer_certificate = "keys/signer.pem"
register_certificate = "/etc/substreg/register.pem"
{extra}

[submission.folder]
path = "out"
"""
PIN = "ab" * 32


def _config(tmp_path: Path, extra: str = "", *, base: str = BASE) -> Path:
    path = tmp_path / "practice.toml"
    path.write_text(base.format(pin=PIN, extra=extra), encoding="utf-8")
    return path


def test_the_section_is_read_with_paths_beside_the_file_and_defaults(tmp_path: Path) -> None:
    """Relative paths are the configuration folder's, absolute ones stay; the defaults of
    batch size, lease, polling and retries; the folder transport is built from its table."""
    config = load_config(_config(tmp_path))
    submission = composition.submission_of(config)
    assert submission.signer_key == tmp_path / "keys" / "signer.key"
    assert submission.register_certificate == Path("/etc/substreg/register.pem")
    assert (submission.max_reports, submission.lease_seconds) == (200, 120.0)
    assert submission.retry == RetryPolicy()
    built = composition.transport(config, lambda: NOW)
    assert isinstance(built, FolderTransport) and built.folder == tmp_path / "out"
    sealing = composition.sealing(config)
    assert (sealing.pinned_sha256, sealing.transport) == (PIN, "folder")


def test_the_retry_schedule_and_sizes_are_taken_as_written(tmp_path: Path) -> None:
    """[submission.retry] and the numbers of [submission] replace the defaults."""
    extra = (
        "max_reports_per_batch = 50\nlease_seconds = 5\npoll_seconds = 0.5\n"
        "[submission.retry]\ninitial_seconds = 1\nmax_seconds = 60\nattempts = 3\njitter = 0\n"
    )
    config = load_config(_config(tmp_path, extra))
    submission = composition.submission_of(config)
    assert submission.retry == RetryPolicy(1.0, 60.0, 3, 0.0)
    delivery = composition.delivery(config, lambda: NOW)
    assert delivery.lease == timedelta(seconds=5) and delivery.policy == submission.retry
    assert (submission.max_reports, submission.poll_seconds) == (50, 0.5)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("signer = 'x'", r"\[submission\]: unknown setting 'signer'"),
        ("max_reports_per_batch = 0", "max_reports_per_batch must be a whole number of at least 1"),
        ("lease_seconds = 'long'", "lease_seconds must be a number"),
        ("[submission.retry]\nattempts = 2.5", r"\[submission.retry\]: attempts must be a whole"),
        (
            "[submission.retry]\ninitial_seconds = 100\nmax_seconds = 10",
            "initial_seconds must not exceed max_seconds",
        ),
        ("[submission.retry]\nbackoff = 2", r"\[submission.retry\]: unknown setting 'backoff'"),
    ],
    ids=["unknown", "no-reports", "not-a-number", "half-attempt", "cap-below-start", "retry-key"],
)
def test_a_setting_that_cannot_be_used_is_one_line_naming_it(
    tmp_path: Path, extra: str, message: str
) -> None:
    """Each mistake stops at the configuration, before any key or report is read."""
    with pytest.raises(ConfigError, match=message):
        load_config(_config(tmp_path, extra))


def test_a_missing_key_file_setting_or_an_unknown_transport_is_refused(tmp_path: Path) -> None:
    """No signer_key; a transport nobody built; a table for one: ConfigError naming it."""
    with pytest.raises(ConfigError, match="signer_key must be given"):
        load_config(_config(tmp_path, base=BASE.replace('signer_key = "keys/signer.key"', "")))
    pigeon = load_config(_config(tmp_path, base=BASE.replace('"folder"', '"pigeon"', 1)))
    with pytest.raises(ConfigError, match=r"the transport 'pigeon' is unknown \(known: folder"):
        composition.transport(pigeon, lambda: NOW)
    extra = load_config(_config(tmp_path, "[submission.carrier]\nspeed = 1"))
    with pytest.raises(ConfigError, match="the transport 'carrier' is unknown"):
        composition.sealing(extra)


def test_without_a_submission_section_nothing_can_be_sent(tmp_path: Path) -> None:
    """A practice.toml of derive and sync alone: submit says what to add."""
    path = tmp_path / "practice.toml"
    path.write_text('time_zone = "Europe/Berlin"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"no \[submission\] section"):
        composition.sealing(load_config(path))
