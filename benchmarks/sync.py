"""Benchmark an incremental `substreg sync` against `derive` of the same data, in-process.

    python benchmarks/sync.py [--patients N | --scale S] [--repeat 3]
                              [--database sqlite|postgresql|both] [--new 1000] [--keep]

A practice-year is generated (`benchmarks/generate.py`, scale 1 = 80 patients) and
split: the last `--new` (1,000) MedicationAdministrations by effectiveDateTime go to
`new/`, everything else to `base/`. The cut day is the (Europe/Berlin) day of the
first moved administration. For each database, each round starts from an empty one
(a new SQLite file; a new PostgreSQL schema at SUBSTREG_BENCH_POSTGRESQL_URL):

- base sync:        `read_batch` + `sync` of `base/` as of the day before the cut (the
                    practice-year already in the database), timed;
- incremental sync: `read_batch` + `sync` of `new/` as of 2026-01-31, timed — what
                    `substreg sync` does, without the interpreter start;
- derive:           `adapter.services.derive([base, new], as_of=2026-01-31)`, timed
                    after one warm-up call.

Each timing is the best of `--repeat` rounds. Target: incremental sync at most 0.2× the
derive time, per database. After each round the ledger must hold exactly the reports
derive gives for the whole data (kind, date, doctor's BtM number and patient code, as a
multiset). Exit status 1 when the target is missed, 2 when a run fails or the ledger
differs from derive.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rerun import run_with_adapter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = "2026-01-31"
NEW = 1000  # administrations in the incremental batch
RATIO_TARGET = 0.2  # incremental sync ÷ derive, at most
PG_ENV = "SUBSTREG_BENCH_POSTGRESQL_URL"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ADMINISTRATIONS = "MedicationAdministration.ndjson"
BERLIN = ZoneInfo("Europe/Berlin")

if TYPE_CHECKING:  # the adapter is imported late: this file may run without it first
    from adapter.domain.model import Report

Key = tuple[str, date, str, str]  # kind, date, doctor's BtM number, patient code


class BenchFailure(Exception):
    """A run failed or gave a wrong result: the benchmark measures nothing (exit 2)."""


@dataclass(frozen=True, slots=True)
class Split:
    base: Path
    new: Path
    cut: date  # the day of the first moved administration
    moved: int
    kept: int
    patients: int  # patients with a moved administration


@dataclass(frozen=True, slots=True)
class Derived:
    best_seconds: float
    keys: Counter[Key]  # every report of the whole data
    after_cut: int  # reports due only after the day before the cut
    findings: int


@dataclass(frozen=True, slots=True)
class Round:
    base_seconds: float
    incremental_seconds: float
    base_recorded: int
    recorded: int
    walked: int
    rebuilt: int
    ledger: Counter[Key]


@dataclass(frozen=True, slots=True)
class Synced:
    database: str
    rounds: list[Round]

    @property
    def base_seconds(self) -> float:
        return min(r.base_seconds for r in self.rounds)

    @property
    def incremental_seconds(self) -> float:
        return min(r.incremental_seconds for r in self.rounds)


# -- data ---------------------------------------------------------------------------------


def generate(out: Path, patients: int, seed: int | None) -> None:
    cmd = [sys.executable, str(HERE / "generate.py"), str(out), "--patients", str(patients)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def split(full: Path, work: Path, count: int) -> Split:
    """The last `count` administrations by time to `new/`, everything else to `base/`."""
    import orjson

    lines = [line for line in (full / ADMINISTRATIONS).read_bytes().splitlines() if line.strip()]
    if len(lines) <= count:
        msg = f"only {len(lines)} administrations: need more than --new {count}"
        raise BenchFailure(msg)
    parsed = [orjson.loads(line) for line in lines]
    moments = [datetime.fromisoformat(r["effectiveDateTime"]) for r in parsed]
    order = sorted(range(len(lines)), key=lambda i: (moments[i], parsed[i]["id"]))
    moved = set(order[-count:])
    base, new = work / "base", work / "new"
    for folder in (base, new):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for path in full.glob("*.ndjson"):
        if path.name != ADMINISTRATIONS:
            shutil.copyfile(path, base / path.name)
    (base / ADMINISTRATIONS).write_bytes(
        b"".join(line + b"\n" for i, line in enumerate(lines) if i not in moved)
    )
    (new / ADMINISTRATIONS).write_bytes(
        b"".join(line + b"\n" for i, line in enumerate(lines) if i in moved)
    )
    first = min(moments[i] for i in moved)
    patients = {parsed[i]["subject"]["reference"] for i in moved}
    return Split(
        base, new, first.astimezone(BERLIN).date(), count, len(lines) - count, len(patients)
    )


def key_of(report: Report) -> Key:
    """What the ledger and derive must agree on."""
    return (report.kind, report.date, report.doctor.btm_number or "", report.patient_code or "")


# -- derive -------------------------------------------------------------------------------


class Deriver:
    """`derive` of the whole data, warmed up once; one timed call per round."""

    def __init__(self, data: Split, as_of: date) -> None:
        from adapter.services.derive import derive
        from adapter.settings.practice import PracticeConfig

        self.paths = [data.base, data.new]
        self.as_of = as_of
        self.before = data.cut - timedelta(days=1)
        self.config = PracticeConfig()
        self.derive = derive
        self.derive(self.paths, as_of=as_of, config=self.config)  # imports, mappings, caches
        self.seconds: list[float] = []

    def timed(self) -> Derived:
        gc.collect()  # each timed run pays for its own garbage only (as in timed_sync)
        started = time.perf_counter()
        result = self.derive(self.paths, as_of=self.as_of, config=self.config)
        self.seconds.append(time.perf_counter() - started)
        keys = Counter(key_of(r) for r in result.reports)
        after = sum(1 for r in result.reports if r.made_on > self.before or r.date > self.before)
        return Derived(min(self.seconds), keys, after, len(result.findings))


# -- sync ---------------------------------------------------------------------------------


@contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'substreg.db'}"


@contextmanager
def postgresql_database(_folder: Path) -> Iterator[str]:
    """A schema of its own in the server at SUBSTREG_BENCH_POSTGRESQL_URL, dropped after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    base = make_url(os.environ.get(PG_ENV) or PG_DEFAULT).set(drivername="postgresql+psycopg")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        msg = (
            f"PostgreSQL at {base.render_as_string()} cannot be reached ({exc.orig}); "
            f"start it, set {PG_ENV}, or use --database sqlite"
        )
        raise BenchFailure(msg) from None
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


DATABASES: dict[str, Callable[[Path], Any]] = {
    "sqlite": sqlite_database,
    "postgresql": postgresql_database,
}


def one_round(database: str, folder: Path, data: Split, as_of: date) -> Round:
    """Empty database, base sync (timed), incremental sync (timed), ledger read back."""
    from adapter import composition
    from adapter.mappings import load_mappings
    from adapter.services import setup
    from adapter.services.reports import export_period
    from adapter.services.sync import SyncOptions, read_batch, sync
    from adapter.settings.environment import Settings
    from adapter.settings.practice import PracticeConfig
    from adapter.store.audit import Actor

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    actor = Actor("benchmark", "operator")
    with DATABASES[database](folder) as url:
        settings = Settings(
            database_url=url,
            home=folder,
            keyring_path=folder / "keyring.json",  # the keyring stays in the temp dir
            keyring_from_env=False,
            actor=actor.name,
        )

        def store_for() -> Any:  # as the command line opens it (adapter.composition)
            return composition.store(settings, lambda: datetime.now(UTC))

        setup.init(store_for(), settings, actor, datetime.now(UTC))

        def timed_sync(paths: list[Path], day: date) -> tuple[float, Any]:
            gc.collect()  # the base sync's garbage is not collected in the incremental's time
            started = time.perf_counter()
            mappings = load_mappings()
            batch = read_batch(paths, mappings)
            # The generated year ends on 2025-12-31: as of 2026-01-31 the 10-day rule ends
            # every treatment (as derive says), which sync does only when told (D-48).
            options = SyncOptions(
                as_of=day, config=PracticeConfig(), mappings=mappings, accept_mass_end=True
            )
            store = store_for()
            result = sync(store, actor, batch, options)
            seconds = time.perf_counter() - started
            store.engine.dispose()
            return seconds, result

        base_seconds, base = timed_sync([data.base], data.cut - timedelta(days=1))
        seconds, incremental = timed_sync([data.new], as_of)
        store = store_for()
        exported = export_period(
            store,
            actor,
            since=date(2000, 1, 1),
            until=date(2100, 12, 31),
            purpose="benchmark: compare with derive",
            fmt="json",
        )
        store.engine.dispose()
    ledger: Counter[Key] = Counter()
    for row in exported.rows:
        if row.report is None:
            msg = f"ledger entry {row.entry.ledger_id} cannot be read (its data key is gone)"
            raise BenchFailure(msg)
        if not row.entry.superseded:
            ledger[key_of(row.report)] += 1
    return Round(
        base_seconds,
        seconds,
        len(base.recorded),
        len(incremental.recorded),
        incremental.walked,
        incremental.rebuilt,
        ledger,
    )


def differences(ledger: Counter[Key], derived: Counter[Key]) -> list[str]:
    lines = []
    for sign, side in (
        ("only in the ledger", ledger - derived),
        ("only in derive", derived - ledger),
    ):
        for (kind, day, doctor, code), n in sorted(side.items()):
            lines.append(f"    {sign}: {n}× {kind} {day.isoformat()} BtM {doctor or '–'} {code}")
    return lines


# -- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--patients", type=int, help="number of patients (instead of --scale)")
    size.add_argument("--scale", type=float, default=1.0, help="× 80 patients (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per timing (best is taken)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--new", type=int, default=NEW, help="administrations in the new batch")
    parser.add_argument("--as-of", default=AS_OF)
    parser.add_argument("--seed", type=int, default=None, help="generator seed")
    parser.add_argument(
        "--keep", action="store_true", help="work in benchmarks/data/sync/ and keep it"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.new < 1:
        parser.error("--repeat and --new must be at least 1")
    run_with_adapter(__file__)
    if args.keep:
        work = HERE / "data" / "sync"
        work.mkdir(parents=True, exist_ok=True)
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="substreg-bench-sync-")
        work = Path(cleanup.name)
    try:
        return _bench(work, args)
    except BenchFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        print("FAILED: the benchmark raised (above)", file=sys.stderr)
        return 2
    finally:
        if cleanup is not None:
            cleanup.cleanup()


def _bench(work: Path, args: argparse.Namespace) -> int:
    patients = args.patients if args.patients is not None else max(1, round(80 * args.scale))
    as_of = date.fromisoformat(args.as_of)
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(f"python {sys.version.split()[0]}; {patients} patients; as of {as_of}; ", end="")
    print(f"best of {args.repeat} rounds; data in {work}")
    started = time.perf_counter()
    generate(work / "full", patients, args.seed)
    data = split(work / "full", work, args.new)
    print(
        f"generated in {time.perf_counter() - started:.1f} s; base: {data.kept:,} "
        f"administrations and the rest; new: {data.moved:,} administrations of "
        f"{data.patients} patients from {data.cut} (cut); base synced as of "
        f"{data.cut - timedelta(days=1)}"
    )
    deriver = Deriver(data, as_of)
    rounds: dict[str, list[Round]] = {d: [] for d in databases}
    derived = None
    for i in range(args.repeat):  # interleaved: a slower spell of the machine hits both
        derived = deriver.timed()
        for database in databases:
            rounds[database].append(one_round(database, work / f"db-{database}-{i}", data, as_of))
    assert derived is not None
    print(
        f"derive: {sum(derived.keys.values())} reports, {derived.after_cut} due after "
        f"{data.cut - timedelta(days=1)}; {derived.findings} finding(s)"
    )
    for database in databases:
        last = rounds[database][-1]
        print(
            f"{database}: base sync recorded {last.base_recorded}, incremental "
            f"{last.recorded} ({last.walked} patients walked, {last.rebuilt} derived afresh)"
        )
    results = [Synced(d, rounds[d]) for d in databases]
    return _report(results, derived)


def _report(results: list[Synced], derived: Derived) -> int:
    print()
    header = (
        f"{'database':<11}{'base sync s':>12}{'incremental s':>15}{'derive s':>10}"
        f"{'incr/derive':>13}{'recorded':>10}{'derive after cut':>18}"
    )
    print(header)
    print("-" * len(header))
    for s in results:
        recorded = s.rounds[-1].recorded
        mark = "" if recorded == derived.after_cut else "  <- differ"
        print(
            f"{s.database:<11}{s.base_seconds:>12.3f}{s.incremental_seconds:>15.3f}"
            f"{derived.best_seconds:>10.3f}{s.incremental_seconds / derived.best_seconds:>13.2f}"
            f"{recorded:>10}{derived.after_cut:>18}{mark}"
        )
    print()
    failed = missed = False
    for s in results:
        ratio = s.incremental_seconds / derived.best_seconds
        ok = ratio <= RATIO_TARGET
        missed |= not ok
        print(
            f"{'PASS' if ok else 'MISS'}  {s.database}: incremental sync / derive "
            f"{ratio:.2f} (target ≤ {RATIO_TARGET})"
        )
    for s in results:
        total = sum(derived.keys.values())
        bad = [(i, r) for i, r in enumerate(s.rounds) if r.ledger != derived.keys]
        if not bad:
            print(
                f"OK    {s.database}: the ledger after base + incremental holds the {total} "
                "reports derive gives (kind, date, doctor BtM, code)"
            )
            continue
        failed = True
        i, r = bad[0]
        print(
            f"FAIL  {s.database}: the ledger ({sum(r.ledger.values())} reports, round {i + 1}"
            f"; {len(bad)} of {len(s.rounds)} rounds differ) is not what derive gives "
            f"({total}):"
        )
        print("\n".join(differences(r.ledger, derived.keys)))
    if failed:
        return 2
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
