"""Each command loads only the libraries it uses (benchmarks/startup.py has the timings):
the full FHIR models only for `validate`, the store only for the stateful commands, the
PDF library only for a PDF export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapter.store.database import (
    alembic_head_revision,
    current_revision,
    head_revision,
    open_engine,
    upgrade,
)

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "fhir_profiles" / "examples"  # one Anmeldung (fhir_profiles/README.md)
HEAVY = ("fhir.resources", "fhir_core", "pydantic", "sqlalchemy", "alembic", "fpdf")

# Runs `substreg ARGS` through main() as the installed script does, then prints which of
# the HEAVY libraries were imported as the last line of standard error.
PROBE = """
import json, sys
from adapter.cli.main import main
try:
    status = main(sys.argv[2:])
except SystemExit as exc:
    status = exc.code
heavy = json.loads(sys.argv[1])
loaded = sorted(h for h in heavy if any(m == h or m.startswith(h + ".") for m in sys.modules))
print(json.dumps({"status": status, "loaded": loaded}), file=sys.stderr)
"""


def loaded_by(
    argv: list[str], tmp_path: Path, env: dict[str, str] | None = None
) -> tuple[int, list[str]]:
    """Exit status of `substreg argv` in a fresh interpreter, and the HEAVY ones it loaded."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY), *argv],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    probe = json.loads(result.stderr.splitlines()[-1])
    return probe["status"], probe["loaded"]


@pytest.mark.parametrize(
    ("argv", "status", "loaded"),
    [
        (["--help"], 0, []),
        (["derive", str(TINY), "--as-of", "2025-06-30"], 0, []),
        (["derive", str(TINY), "--as-of", "2025-06-30", "--format", "table"], 0, []),
        (["validate", str(TINY)], 0, ["fhir.resources", "fhir_core", "pydantic"]),
        (["reports", "list"], 2, ["sqlalchemy"]),
        (["envelope", "open", "--key", "k", "--cert", "c", "in", "out"], 2, []),
        (["register-sim", "--help"], 0, []),
        (["register-sim", "--fault-drop", "2"], 2, []),
    ],
    ids=[
        "help",
        "derive",
        "derive-table",
        "validate",
        "reports-list",
        "envelope-open",
        "register-sim-help",
        "register-sim-usage",
    ],
)
def test_a_command_loads_only_what_it_uses(
    tmp_path: Path, argv: list[str], status: int, loaded: list[str]
) -> None:
    """derive and --help start without fhir.resources, pydantic or the store; validate
    loads the full models; a stateful command the store but neither pydantic nor fpdf;
    envelope none of them (cryptography and asn1crypto only); register-sim's help and
    usage errors none either (the simulator loads FastAPI, uvicorn, SQLAlchemy to run)."""
    assert loaded_by(argv, tmp_path) == (status, loaded)


def test_a_worker_starts_without_alembic(tmp_path: Path) -> None:
    """`submit --worker` on a database at the newest schema checks the revision without
    importing Alembic (most of a second, paid by every worker start; D-118): only `init`
    migrates. The worker runs a pass over an empty outbox and ends (--once)."""
    env = {
        "SUBSTREG_HOME": str(tmp_path / "home"),
        "SUBSTREG_DATABASE_URL": f"sqlite:///{tmp_path / 'substreg.db'}",
    }
    assert loaded_by(["init"], tmp_path, env) == (0, ["alembic", "sqlalchemy"])
    config = tmp_path / "practice.toml"
    config.write_text(
        '[submission]\ntransport = "folder"\nsigner_key = "k.pem"\nsigner_certificate = '
        '"c.pem"\nregister_certificate = "r.pem"\n[submission.folder]\npath = "out"\n',
        encoding="utf-8",
    )
    argv = ["submit", "--worker", "--once", "--config", str(config)]
    assert loaded_by(argv, tmp_path, env) == (0, ["sqlalchemy"])


def test_the_revisions_read_without_alembic_are_alembics(tmp_path: Path) -> None:
    """The newest revision from the migration files' names is the head Alembic reads from
    the scripts; a database's revision is read from alembic_version (None before init)."""
    engine = open_engine(f"sqlite:///{tmp_path / 'substreg.db'}")
    assert head_revision() == alembic_head_revision()
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
