"""Driving the stateful `substreg` commands as a person would, and reading what they left.

`Cli` runs `adapter.cli.main(argv)` in this process with the installation's environment
variables set (SUBSTREG_HOME, SUBSTREG_DATABASE_URL, SUBSTREG_ACTOR) and reads the
database raw afterwards; `substreg()` runs the installed command `python -m adapter.cli.main`
in a child process. The demo practice (demo/README.md) is the data throughout.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from adapter.cli import context as cli_context
from adapter.cli.main import main
from adapter.store.schema import metadata

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
CONFIG = DEMO / "practice.toml"
AS_OF = "2025-12-31"
SYNC = ("sync", str(DEMO), "--config", str(CONFIG), "--as-of", AS_OF)
PURPOSE = "Duplicate notice of the register, letter of the fifth of January"
PASSPHRASE = "correct horse battery staple"
BTM_MARKER = "https://fhir.substreg.dev/CodeSystem/btm-marker"
REUTER = "THREM249"  # Thomas Reuter, Patient/1001, open on 2025-12-31 (demo/README.md)
_ENV = (
    "SUBSTREG_HOME",
    "SUBSTREG_DATABASE_URL",
    "SUBSTREG_KEYRING_FILE",
    "SUBSTREG_ACTOR",
    "SUBSTREG_BACKUP_PASSPHRASE",
)

Tables = dict[str, list[tuple[Any, ...]]]


def one_line(err: str) -> str:
    """The single line of a refusal; fails on a traceback or on several lines."""
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("substreg: "), err
    return lines[0]


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


class Cli:
    """One installation (home, keyring, database) and the commands run against it."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
        url: str,
    ) -> None:
        self.tmp = tmp_path
        self.home = tmp_path / "home"
        self.url = url
        self.stderr: list[str] = []  # everything the commands printed there, in order
        self._capsys = capsys
        self._monkeypatch = monkeypatch
        monkeypatch.chdir(tmp_path)  # a default ./substreg.db would land here, not in the repo
        for name in _ENV:
            monkeypatch.delenv(name, raising=False)
        self.env = {
            "SUBSTREG_HOME": str(self.home),
            "SUBSTREG_DATABASE_URL": url,
            "SUBSTREG_ACTOR": "tester",
        }
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)
        self._initial_env = dict(self.env)

    @property
    def keyring(self) -> Path:
        return self.home / "keyring.json"

    def set_clock(self, moment: datetime) -> None:
        """Set this machine's clock, as the commands read it (a wrong clock is a fault the
        commands must guard against, issue 9)."""
        self._monkeypatch.setattr(cli_context, "clock", lambda: moment)

    def setenv(self, name: str, value: str) -> None:
        self.env[name] = value
        self._monkeypatch.setenv(name, value)

    def run(self, *argv: str) -> Run:
        try:
            status = main(list(argv))
        except SystemExit as exc:  # argparse exits for usage errors
            status = exc.code if isinstance(exc.code, int) else 2
        out, err = self._capsys.readouterr()
        self.stderr.append(err)
        return Run(status, out, err)

    def ok(self, *argv: str) -> str:
        """Standard output of a command that must succeed silently on stderr."""
        result = self.run(*argv)
        assert result.status == 0, result.err
        assert result.err == ""
        return result.out

    def refused(self, *argv: str) -> str:
        """The one stderr line of a command that must exit 2 and print nothing else."""
        result = self.run(*argv)
        assert result.status == 2, (result.out, result.err)
        assert result.out == ""
        return one_line(result.err)

    def json(self, *argv: str) -> Any:
        return json.loads(self.ok(*argv))

    def synced(self) -> Cli:
        """`init`, then the demo synced as of 2025-12-31.

        The first time per backend and session this runs the commands and keeps a copy of
        the result (database and home); later calls restore that copy: the same data and
        as-of, byte for byte, so with the same keyring, ids and audit times as the first
        run. A test that changed the clock or the environment first runs the commands
        itself."""
        if cli_context.clock is not _REAL_CLOCK or self.env != self._initial_env:
            self.ok("init")
            self.ok(*SYNC)
            return self
        backend = "postgresql" if self.url.startswith("postgresql") else "sqlite"
        kept = _SYNCED.get(backend)
        if kept is None:
            self.ok("init")
            self.ok(*SYNC)
            _SYNCED[backend] = _SyncedDemo.keep(self.url, self.home, self.tmp / "kept")
        else:
            kept.restore(self.url, self.home)
        return self

    def ledger_ids(self) -> list[str]:
        return [r["ledger_id"] for r in self.json("reports", "list", "--format", "json")["reports"]]

    def ledger_by_code(self) -> dict[str, list[str]]:
        """Ledger ids by patient code, read with `reports show` (audited, as for a person)."""
        by_code: dict[str, list[str]] = {}
        for ledger_id in self.ledger_ids():
            payload = self.json("reports", "show", ledger_id)["payload"]
            if payload is not None and payload["patient_code"]:
                by_code.setdefault(payload["patient_code"], []).append(ledger_id)
        return by_code

    # -- the database, read raw -----------------------------------------------------------

    def tables(self) -> Tables:
        """Every row of every table, as the driver hands it back."""
        if self.url.startswith("sqlite:///") and not Path(self.url[10:]).exists():
            return {}
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                names = inspect(connection).get_table_names()
                return {
                    name: sorted(
                        (tuple(r) for r in connection.execute(text(f'SELECT * FROM "{name}"'))),
                        key=repr,
                    )
                    for name in names
                }
        finally:
            engine.dispose()

    def columns(self, table: str) -> list[str]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return [c["name"] for c in inspect(connection).get_columns(table)]
        finally:
            engine.dispose()

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.tables().items()}

    def audit(self, action: str | None = None) -> list[Mapping[str, Any]]:
        """The audit log's rows (of one action), in order."""
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(text("SELECT * FROM audit_log ORDER BY seq")).mappings()
                return [dict(r) for r in rows if action is None or r["action"] == action]
        finally:
            engine.dispose()

    def execute(self, sql: str, **params: object) -> None:
        """Change the database behind substreg's back (a tamperer with SQL access)."""
        engine = create_engine(self.url)
        try:
            with engine.begin() as connection:
                connection.execute(text(sql), params)
        finally:
            engine.dispose()


def substreg(
    argv: list[str], env: Mapping[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process, without a terminal on standard input."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SUBSTREG_")}
    return subprocess.run(
        [sys.executable, "-m", "adapter.cli", *argv],
        env={**inherited, **env},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def reuter_goes_on(folder: Path, until: date) -> Path:
    """Thomas Reuter (Patient/1001) goes on with take-home ST prescriptions of 28 days from
    2026-01-01, one after another, the last on `until` (R-EP-3: days covered are not without a
    reason): synced with the demo as of a day years on, his treatment is still open then,
    and every other demo treatment has ended (retention counts from a day near the last
    sync, D-82)."""
    days = [date(2026, 1, 1) + timedelta(days=28 * n) for n in range((until.year - 2025) * 14)]
    resources = []
    for n, day in enumerate([d for d in days if d < until] + [until], start=1):
        resources.append(
            {
                "resourceType": "MedicationRequest",
                "id": f"mr-1001-st-{n}",
                "status": "active",
                "intent": "order",
                "category": [{"coding": [{"system": BTM_MARKER, "code": "ST"}]}],
                "medicationReference": {"reference": "Medication/med-l-polaflux"},
                "subject": {"reference": "Patient/1001"},
                "authoredOn": day.isoformat(),
                "requester": {"reference": "Practitioner/arzt-1"},
                "dispenseRequest": {
                    "validityPeriod": {"start": day.isoformat()},
                    "expectedSupplyDuration": {
                        "value": 28,
                        "unit": "days",
                        "system": "http://unitsofmeasure.org",
                        "code": "d",
                    },
                },
            }
        )
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": []}
    bundle["entry"] = [{"resource": r} for r in resources]
    path = folder / "reuter-goes-on.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


@functools.cache
def demo_codes() -> tuple[str, ...]:
    """Every patient code the demo reports, as `substreg derive` gives them."""
    result = substreg(
        ["derive", "demo/", "--as-of", AS_OF, "--config", "demo/practice.toml"], {}, ROOT
    )
    assert result.returncode == 0, result.stderr
    reports = json.loads(result.stdout)["reports"]
    return tuple(sorted({r["patient_code"] for r in reports if r.get("patient_code")}))


@functools.cache
def demo_patients() -> tuple[dict[str, Any], ...]:
    """The demo's Patient resources, as the EHR exported them."""
    bundle = json.loads((DEMO / "patients.json").read_text(encoding="utf-8"))
    return tuple(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )


_REAL_CLOCK = cli_context.clock


@dataclass(frozen=True)
class _SyncedDemo:
    """The demo practice synced once (`Cli.synced`): a copy of the database and of the
    home (keyring), restored into later tests' own database and home."""

    home: Path
    sqlite_file: Path | None
    postgresql_template: str | None

    @classmethod
    def keep(cls, url: str, home: Path, folder: Path) -> _SyncedDemo:
        folder.mkdir(parents=True)
        kept_home = folder / "home"
        shutil.copytree(home, kept_home)  # copy2: the keyring keeps its 0600
        if url.startswith("sqlite:///"):
            kept = folder / "substreg.db"
            _sqlite_copy(Path(url[len("sqlite:///") :]), kept)
            return cls(kept_home, kept, None)
        name = f"synced_{uuid.uuid4().hex[:12]}"
        _pg_copy(url, make_url(url).database or "", name)
        atexit.register(_pg_drop, url, name)  # the session's copy goes with the session
        return cls(kept_home, None, name)

    def restore(self, url: str, home: Path) -> None:
        if home.exists():
            shutil.rmtree(home)
        shutil.copytree(self.home, home)
        if self.sqlite_file is not None:
            target = Path(url[len("sqlite:///") :])
            for stale in (target, *(target.with_name(target.name + s) for s in ("-wal", "-shm"))):
                stale.unlink(missing_ok=True)
            _sqlite_copy(self.sqlite_file, target)
            target.chmod(0o600)  # as `init` leaves it
            return
        assert self.postgresql_template is not None
        kept = make_url(url).set(database=self.postgresql_template)
        _pg_fill(kept.render_as_string(hide_password=False), url)


_SYNCED: dict[str, _SyncedDemo] = {}


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, WAL included (the backup API)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _admin_of(url: str) -> Engine:
    admin_url = make_url(url).set(database="postgres", query={})
    return create_engine(admin_url, isolation_level="AUTOCOMMIT")


def _pg_copy(url: str, source: str, target: str) -> None:
    """CREATE DATABASE … TEMPLATE needs the source without sessions: end the ones the
    commands' connection pools still hold (they reconnect: pool_pre_ping)."""
    _terminate_sessions(url, source)
    _as_admin(url, f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def _pg_fill(source: str, target: str) -> None:
    """Every row of `source` written into `target`, a database of the same schema, as it
    is, and each sequence set where the source's stands: the copy CREATE DATABASE …
    TEMPLATE would make, without dropping and creating a database (a second or more on a
    busy machine, D-119)."""
    _terminate_sessions(target)  # the commands' pools: they would hold locks on the rows
    reading = create_engine(source, poolclass=NullPool)
    writing = create_engine(target, poolclass=NullPool)
    try:
        with reading.connect() as read, writing.begin() as write:
            write.execute(text("SET LOCAL session_replication_role = replica"))
            for table in metadata.sorted_tables:
                write.execute(table.delete())
                rows = [dict(row._mapping) for row in read.execute(select(table))]
                if rows:
                    write.execute(table.insert(), rows)
            sequences = read.execute(
                text(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
                )
            )
            for name, last in list(sequences):
                if last is None:
                    write.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
                else:
                    write.execute(
                        text("SELECT setval(:name, :last, true)"),
                        {"name": f'"{name}"', "last": last},
                    )
    finally:
        reading.dispose()
        writing.dispose()


def _terminate_sessions(url: str, name: str | None = None) -> None:
    """End the sessions on database `name` (the one of `url` when not given)."""
    _as_admin(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = :name AND pid <> pg_backend_pid()",
        name=name or make_url(url).database,
    )


def _pg_drop(url: str, name: str) -> None:
    _as_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_admin(url: str, statement: str, **params: object) -> None:
    """One statement on the server of `url`, outside a transaction (CREATE/DROP DATABASE)."""
    admin = _admin_of(url)
    try:
        with admin.connect() as connection:
            connection.execute(text(statement), params)
    finally:
        admin.dispose()
