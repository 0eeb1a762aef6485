"""Two installations on one machine, each with its own SUBSTREG_HOME (keyring) and
database (SQLite, or PostgreSQL for the cases that ask for it), driven through
`adapter.cli.main` as a person would (tests/handover)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapter.cli.main import main
from tests.cli_helpers import Run, one_line

_ENV = ("SUBSTREG_KEYRING_FILE", "SUBSTREG_BACKUP_PASSPHRASE")


@dataclass
class Site:
    """One installation: its folder, and the commands run against it."""

    root: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    url: str  # the installation's database

    def run(self, *argv: str) -> Run:
        for name in _ENV:
            self.monkeypatch.delenv(name, raising=False)
        self.monkeypatch.setenv("SUBSTREG_HOME", str(self.root / "home"))
        self.monkeypatch.setenv("SUBSTREG_DATABASE_URL", self.url)
        self.monkeypatch.setenv("SUBSTREG_ACTOR", f"tester-{self.root.name}")
        try:
            status = main(list(argv))
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 2
        out, err = self.capsys.readouterr()
        return Run(status, out, err)

    def ok(self, *argv: str) -> str:
        result = self.run(*argv)
        assert result.status == 0, result.err
        return result.out

    def refused(self, *argv: str) -> str:
        result = self.run(*argv)
        assert result.status == 2, (result.out, result.err)
        return one_line(result.err)

    def sync(self, export: Path, as_of: str) -> dict[str, Any]:
        """`sync --format json` of the installation's export folder."""
        found: dict[str, Any] = json.loads(
            self.ok("sync", str(export), "--as-of", as_of, "--format", "json")
        )
        return found

    def export(self, patient: str, to: str, on: str) -> tuple[Path, str]:
        """`handover export`: the document's path and the fingerprint it printed."""
        out = self.ok(
            "handover", "export", "--patient", patient, "--to", to, "--on", on,
            "--out", str(self.root),
        )  # fmt: skip
        document = Path(out.split("Handover document: ", 1)[1].splitlines()[0])
        signer = out.split("fingerprint ", 1)[1].splitlines()[0]
        return document, signer


def site(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str | None = None,
) -> Site:
    """A fresh installation under `root`, after `substreg init`: on the database `url`
    (empty, or at the newest schema without data), else on a SQLite file under `root`."""
    root.mkdir(parents=True)
    found = Site(root, monkeypatch, capsys, url or f"sqlite:///{root / 'substreg.db'}")
    found.ok("init")
    return found


def reports(sync: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, date, doctor) of what a sync recorded."""
    return [(r["kind"], r["date"], r["doctor_btm"]) for r in sync["recorded"]]


def handover_findings(sync: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in sync["findings"] if f["rule"] == "R-HO-1"]
