"""`substreg import` (issue 13.5): a folder of Bulk Data `$export` output, and the
kick-off / poll / download flow against the test FHIR server; quiet in a pipeline,
a progress display on a terminal, and a summary."""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

from tests.cli_helpers import AS_OF, CONFIG, Cli
from tests.pull.conftest import Served
from tests.pull.fhir_server import demo_resources

IMPORT = ("--config", str(CONFIG), "--as-of", AS_OF)


def export_folder(folder: Path) -> Path:
    """The demo practice as a client keeps a Bulk Data export: NDJSON per type and the
    manifest beside them."""
    folder.mkdir()
    by_type: dict[str, list[str]] = {}
    for resource in demo_resources():
        by_type.setdefault(resource["resourceType"], []).append(json.dumps(resource))
    output = []
    for kind, lines in by_type.items():
        (folder / f"{kind}.ndjson").write_text("\n".join(lines) + "\n")
        output.append({"type": kind, "url": f"https://ehr.example/bulk/{kind}.ndjson"})
    manifest = {
        "transactionTime": "2025-12-31T22:00:00Z",
        "request": "https://ehr.example/fhir/$export",
        "requiresAccessToken": True,
        "output": output,
        "error": [],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_a_folder_export_is_synced_quietly_with_a_summary(cli: Cli, tmp_path: Path) -> None:
    """On SQLite and PostgreSQL: the export's resources are read and synced, the reports
    recorded as pending, the summary on stdout and nothing on stderr (no terminal)."""
    cli.ok("init")
    out = cli.ok("import", str(export_folder(tmp_path / "export")), *IMPORT)
    assert out.startswith("Sync as of 2025-12-31: 1")
    assert "Recorded 16 report(s) as pending" in out
    assert len(cli.ledger_ids()) == 16
    again = cli.ok("import", str(tmp_path / "export"), *IMPORT)
    assert "Recorded 0 report(s)" in again


def test_the_export_flow_against_a_server(cli: Cli, tmp_path: Path, fhir_server: Served) -> None:
    """Kick-off (202, Content-Location), polls (202 with Retry-After and X-Progress)
    until the manifest, each file downloaded and read: the ledger of the folder import."""
    state = fhir_server.state
    state.auth, state.static_token = "static", "bulk-token"
    token = tmp_path / "token"
    token.write_text("bulk-token\n")
    unpaced = tmp_path / "practice.toml"  # the pace is test_connect's: here 3 s of waiting
    unpaced.write_text(CONFIG.read_text() + "\n[pull]\nrequests_per_second = 1000\n")
    cli.ok("init")
    kept = tmp_path / "kept"
    out = cli.ok(
        "import", "--server", fhir_server.base, "--token-file", str(token),
        "--keep", str(kept), "--config", str(unpaced), "--as-of", AS_OF,
    )  # fmt: skip
    assert "Recorded 16 report(s) as pending" in out
    paths = [r.path for r in state.requests]
    assert paths[0] == "/fhir/$export"
    assert paths.count(paths[1]) == state.export_polls + 1  # 202, 202, then the manifest
    assert sum(p.startswith("/fhir/files/") for p in paths) == len(state.resources)
    # patient data: this user's only (review of issue 13), whatever the umask
    assert {stat.S_IMODE(p.stat().st_mode) for p in kept.iterdir()} == {0o600}
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700
    manifest = json.loads((kept / "manifest.json").read_text())
    assert {item["url"] for item in manifest["output"]} == {p.name for p in kept.glob("output-*")}
    assert all(r.authorization == "Bearer bulk-token" for r in state.requests)


def test_import_needs_a_folder_or_a_server(cli: Cli, tmp_path: Path) -> None:
    """Neither or both of a folder and --server is one line; an unreachable server is
    one line per retry, then one error line."""
    cli.ok("init")
    assert cli.refused("import", *IMPORT) == (
        "substreg: import: name the export's folder (PATH), or --server, not both"
    )
    config = tmp_path / "practice.toml"
    config.write_text(CONFIG.read_text() + "\n[pull]\nattempts = 2\nmax_wait_seconds = 0.1\n")
    server = "http://127.0.0.1:9/fhir"  # the discard port: nothing listens
    argv = ("import", "--server", server, "--config", str(config), "--as-of", AS_OF)
    failed = cli.run(*argv)
    assert (failed.status, failed.out) == (2, "")
    assert failed.err.splitlines() == [
        f"{server}: ConnectError, waiting 0.5 s (attempt 2 of 2)",  # each retry: one line
        f"substreg: {server}: the export's kick-off failed 2 time(s) (ConnectError); "
        "is the server reachable?",
    ]


def test_on_a_terminal_import_shows_its_progress(cli: Cli, tmp_path: Path) -> None:
    """stderr a terminal (a pseudo-terminal here): rich draws the resources read."""
    cli.ok("init")
    folder = export_folder(tmp_path / "export")
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "adapter.cli", "import", str(folder), *IMPORT],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("SUBSTREG_")}, **cli.env},
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    out, _ = child.communicate(timeout=300)
    os.close(leader)
    assert child.returncode == 0
    assert b"resources read" in drawn
    assert b"Recorded 16 report(s)" in out
