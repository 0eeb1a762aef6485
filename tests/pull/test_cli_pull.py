"""`substreg pull` at the command line, on SQLite and PostgreSQL, and `[pull]` in
practice.toml (issue 13.4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapter.errors import ConfigError
from adapter.settings.practice import load_config
from tests.cli_helpers import AS_OF, CONFIG, Cli
from tests.pull.conftest import Served


def _config(tmp_path: Path, pull: str) -> Path:
    path = tmp_path / "practice.toml"
    path.write_text(CONFIG.read_text() + "\n" + pull)
    return path


def test_pull_from_the_configured_server_then_nothing_new(
    cli: Cli, tmp_path: Path, fhir_server: Served
) -> None:
    config = _config(
        tmp_path,
        f'[pull]\nserver = "{fhir_server.base}"\npage_size = 100\nrequests_per_second = 500\n',
    )
    cli.ok("init")
    first = cli.json("pull", "--config", str(config), "--as-of", AS_OF, "--format", "json")
    assert first["server"] == fhir_server.base
    assert len(first["recorded"]) == 16
    patients = next(t for t in first["types"] if t["type"] == "Patient")
    assert (patients["pages"], patients["from"]) == (1, None)
    assert patients["checkpoint"].startswith("2025-06-01T")
    text = cli.ok("pull", "--config", str(config), "--as-of", AS_OF)
    assert text.startswith(f"Pulled from {fhir_server.base}: 0 resources in 0 syncs")
    assert "Recorded 0 report(s) as pending." in text
    audit = cli.json("audit", "list", "--action", "pull", "--format", "json")
    assert len(audit["entries"]) == 2


def test_a_busy_server_shows_one_line_per_retry_on_stderr(
    cli: Cli, tmp_path: Path, fhir_server: Served
) -> None:
    """A 429 and a 503 (Retry-After 0) before the pull goes on: two readable lines on
    stderr naming the server, the answer, the wait and the attempt; no bare
    `stamina.retry_scheduled` record."""
    unpaced = f'[pull]\nserver = "{fhir_server.base}"\nrequests_per_second = 500\n'
    config = _config(tmp_path, unpaced)
    cli.ok("init")
    fhir_server.state.busy = [(429, "0"), (503, "0")]
    result = cli.run("pull", "--config", str(config), "--as-of", AS_OF)
    assert result.status == 0, result.err
    assert result.err.splitlines() == [
        f"{fhir_server.base}: HTTP 429, waiting 0 s as Retry-After says (attempt 2 of 6)",
        f"{fhir_server.base}: HTTP 503, waiting 0 s as Retry-After says (attempt 3 of 6)",
    ]


def test_pull_without_a_server_or_with_a_bad_setting_is_one_line(cli: Cli, tmp_path: Path) -> None:
    cli.ok("init")
    assert cli.refused("pull", "--config", str(CONFIG), "--as-of", AS_OF) == (
        "substreg: pull: name the FHIR server with --server, or [pull] server"
    )
    bad = _config(tmp_path, '[pull]\nserver = "https://ehr.example/fhir"\nrate = 3\n')
    assert "[pull]: unknown setting 'rate'" in cli.refused("pull", "--config", str(bad))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[pull]\npage_size = 0\n", "[pull]: page_size must be a whole number of at least 1"),
        ('[pull]\ntypes = "Patient"\n', "[pull]: types must be a list of resource types"),
        (
            '[pull]\ntoken_file = "t"\n'
            '[pull.smart]\ntoken_url = "u"\nclient_id = "c"\nprivate_key = "k"\n',
            "[pull]: give token_file or [pull.smart], not both",
        ),
        (
            '[pull.smart]\ntoken_url = "u"\nclient_id = "c"\n'
            'private_key = "k"\nalgorithm = "HS256"\n',
            "[pull.smart]: algorithm must be one of RS384, ES384",
        ),
    ],
)
def test_pull_settings_are_checked(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(_config(tmp_path, table))
    assert message in str(refused.value)


def test_pull_settings_are_read_with_paths_beside_the_configuration(tmp_path: Path) -> None:
    config = load_config(
        _config(
            tmp_path,
            '[pull]\nserver = "https://ehr.example/fhir"\ntypes = ["Patient"]\n'
            '[pull.smart]\ntoken_url = "https://ehr.example/token"\nclient_id = "praxis"\n'
            'private_key = "keys/client.pem"\nalgorithm = "ES384"\n',
        )
    )
    assert config.pull is not None and config.pull.smart is not None
    assert config.pull.types == ("Patient",)
    assert config.pull.smart.private_key == tmp_path / "keys" / "client.pem"
    assert json.dumps(config.pull.requests_per_second) == "5.0"


def test_pull_with_a_refused_token_exits_2_naming_the_server(
    cli: Cli, tmp_path: Path, fhir_server: Served
) -> None:
    """A token the server refuses, also after reading it again: one line, exit 2."""
    fhir_server.state.auth, fhir_server.state.static_token = "static", "right"
    token = tmp_path / "token"
    token.write_text("wrong\n")
    cli.ok("init")
    line = cli.refused(
        "pull", "--server", fhir_server.base, "--token-file", str(token), "--config", str(CONFIG)
    )
    assert line.startswith(f"substreg: {fhir_server.base}: the read of the CapabilityStatement ")
    assert f"refused (401) with the static bearer token of {token}" in line
    assert "wrong" not in line.replace(str(token), "")
    assert fhir_server.state.count("/fhir/") == 2


def test_pull_counts_what_was_deleted_on_the_server(
    cli: Cli, tmp_path: Path, fhir_server: Served
) -> None:
    """A prescription deleted on the server after the first pull: the next pull syncs it
    as deleted (D-180), says so, and audits the count; the one after finds nothing."""
    pull_table = f'[pull]\nserver = "{fhir_server.base}"\nrequests_per_second = 500\n'
    config = _config(tmp_path, pull_table)
    cli.ok("init")
    pull = ("pull", "--config", str(config), "--as-of", AS_OF, "--format", "json")
    assert cli.json(*pull)["deleted"] == 0
    fhir_server.state.delete("MedicationRequest", "mr-1002-s")
    assert cli.json(*pull)["deleted"] == 1
    text = cli.ok("pull", "--config", str(config), "--as-of", AS_OF)
    assert "Deleted on the server and synced as deleted: 0." in text
    audit = cli.json("audit", "list", "--action", "pull", "--format", "json")["entries"]
    assert [e["details"]["deleted"] for e in audit] == [0, 1, 0]
