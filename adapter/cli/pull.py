"""The handlers of `substreg pull` and `substreg import` (arguments:
`adapter.cli.pull_arguments`). Each calls its use case (`adapter.services.pull`,
`.bulk_import`) with the client `adapter.composition` builds from `[pull]`.

Exit 0; 1 when a sync kept nothing (a refused mass end, D-48) or `--fail-on` matched;
2 when the server, its authorisation or the input cannot be used (one line). A pull
stopped by an error keeps what it synced: the next one resumes from its checkpoints.
On a terminal `import` shows a progress bar on stderr (rich); in a pipeline it is quiet.
Each retry of a busy or unreachable server is one line on stderr (`adapter.cli.retries`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn

from adapter import composition
from adapter.cli import output as out
from adapter.cli.context import context, store, today_in_berlin
from adapter.cli.exits import EXIT_FOUND, fails_on
from adapter.cli.retries import show_retries
from adapter.connect.client import FhirClient
from adapter.errors import UsageError
from adapter.export.derivation import finding_json
from adapter.mappings import load_mappings
from adapter.services import bulk_import
from adapter.services.pull import PULLED_TYPES, PullResult, pull
from adapter.services.sync import SyncOptions
from adapter.settings.files import make_private_dirs
from adapter.settings.practice import PracticeConfig, load_config


def dispatch(name: str, args: argparse.Namespace) -> int:
    show_retries()
    return _pull(args) if name == "pull" else _import(args)


def _options(args: argparse.Namespace, config: PracticeConfig) -> SyncOptions:
    return SyncOptions(
        as_of=args.as_of or today_in_berlin(),
        config=config,
        mappings=load_mappings(),
        accept_mass_end=args.accept_mass_end,
    )


def _client(args: argparse.Namespace, config: PracticeConfig) -> FhirClient:
    client = composition.pull_source(config, server=args.server, token_file=args.token_file)
    if client is None:
        raise UsageError(f"{args.handler}: name the FHIR server with --server, or [pull] server")
    return client


def _pull(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    config = load_config(args.config) if args.config else PracticeConfig()
    options = _options(args, config)  # the mapping files are checked before any request
    installation = store(settings)
    client = _client(args, config)
    page_size = args.page_size or (config.pull.page_size if config.pull else 200)
    types = args.types or (config.pull.types if config.pull and config.pull.types else None)
    try:
        result = pull(
            installation,
            actor,
            client,
            options,
            types=types or PULLED_TYPES,
            since=args.since,
            page_size=page_size,
            spool=settings.home / "spool" / "pull",
        )
    finally:
        client.close()
    out.write(_pull_json(result) if args.format == "json" else _pull_text(result, client))
    return EXIT_FOUND if result.refused or fails_on(args.fail_on, result.findings) else 0


def _import(args: argparse.Namespace) -> int:
    if bool(args.paths) == bool(args.server):
        raise UsageError("import: name the export's folder (PATH), or --server, not both")
    settings, actor, _ = context()
    config = load_config(args.config) if args.config else PracticeConfig()
    options = _options(args, config)
    installation = store(settings)
    spool = settings.home / "spool" / "import"
    with _progress() as bar, _folder(args.keep, spool) as folder:
        paths = args.paths
        if args.server:
            client = _client(args, config)
            try:
                manifest = bulk_import.download(
                    client,
                    folder,
                    types=args.types,
                    since=args.since,
                    on_status=bar.status,
                    on_bytes=bar.downloaded,
                )
            finally:
                client.close()
            paths = [manifest.parent]
        result = bulk_import.import_folder(
            installation, actor, paths, options, on_resource=bar.resource
        )
    out.write(out.sync_json(result) if args.format == "json" else out.sync_text(result))
    return EXIT_FOUND if result.run_id is None or fails_on(args.fail_on, result.findings) else 0


@contextmanager
def _folder(keep: Path | None, spool: Path) -> Iterator[Path]:
    """Where a server's export is downloaded: `--keep DIR`, else the installation's
    private spool folder, emptied first (what a killed import left) and removed after."""
    if keep is not None:
        make_private_dirs(keep)
        yield keep
        return
    shutil.rmtree(spool, ignore_errors=True)
    make_private_dirs(spool)
    try:
        yield spool
    finally:
        shutil.rmtree(spool, ignore_errors=True)


class _Bar:
    """What `import` shows while it works: nothing in a pipeline (`progress` None), on a
    terminal the export's status, the bytes downloaded and the resources read (rich)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self._tasks: dict[str, TaskID] = {}

    def _task(self, name: str) -> TaskID | None:
        if self.progress is None:
            return None
        if name not in self._tasks:
            self._tasks[name] = self.progress.add_task(name, total=None)
        return self._tasks[name]

    def status(self, text: str) -> None:
        task = self._task("export")
        if self.progress is not None and task is not None:
            self.progress.update(task, description=f"export: {text}")

    def downloaded(self, count: int) -> None:
        task = self._task("bytes downloaded")
        if self.progress is not None and task is not None:
            self.progress.advance(task, count)

    def resource(self) -> None:
        task = self._task("resources read")
        if self.progress is not None and task is not None:
            self.progress.advance(task)


@contextmanager
def _progress() -> Iterator[_Bar]:
    """A rich progress display on stderr at a terminal; quiet in a pipeline."""
    if not sys.stderr.isatty():
        yield _Bar(None)
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield _Bar(progress)


def _pull_text(result: PullResult, client: FhirClient) -> str:
    rows = [
        (
            t.resource_type,
            str(t.pages),
            str(t.resources),
            t.since or "–",
            t.checkpoint or "–",
        )
        for t in result.types
    ]
    lines = [
        f"Pulled from {result.server}: {result.resources} resources in {result.syncs} "
        f"syncs, {client.requests} requests."
    ]
    lines += [
        "  " + line
        for line in out.table(("type", "pages", "resources", "from", "checkpoint"), rows)
    ]
    lines.append(f"Deleted on the server and synced as deleted: {len(result.deletions.refs)}.")
    lines.append(out.recorded_summary(result.recorded) + ".")
    if result.refused:
        lines.append("A sync kept nothing (a mass end was refused, D-48): the pull stopped there.")
    severities = [f.severity for f in result.findings]
    lines.append(
        f"Findings: {len(result.findings)} ({severities.count('error')} error, "
        f"{severities.count('warning')} warning)"
    )
    lines += [f"  {f.severity}: {f.message}" for f in result.findings if f.severity != "info"]
    return "\n".join(lines) + "\n"


def _pull_json(result: PullResult) -> bytes:
    document = {
        "server": result.server,
        "types": [
            {
                "type": t.resource_type,
                "pages": t.pages,
                "resources": t.resources,
                "from": t.since,
                "checkpoint": t.checkpoint,
            }
            for t in result.types
        ],
        "syncs": result.syncs,
        "deleted": len(result.deletions.refs),
        "recorded": [
            {"ledger_id": r.ledger_id, "kind": r.report.kind, "rule": r.report.rule}
            for r in result.recorded
        ],
        "refused": result.refused,
        "findings": [finding_json(f) for f in result.findings],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
