"""Re-identification, keys, retention and a stolen database, through the `substreg` command
(PRIVACY.md T1-T3). Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_helpers import (
    AS_OF,
    CONFIG,
    DEMO,
    PASSPHRASE,
    PURPOSE,
    REUTER,
    SYNC,
    Cli,
    Tables,
    demo_codes,
    demo_patients,
    one_line,
    reuter_goes_on,
    substreg,
)
from tests.storage import ON_SQLITE_ONLY

LOOKUP = ("lookup", "--code", REUTER, "--purpose", PURPOSE)
ENDED = ("KAWOF315", "OLMÜM522", "MAVOM407")  # Wolf, Münch, Vogt: ended in 2025
RETENTION = ("retention", "apply", "--as-of", "2036-12-31", "--yes", "--clock-checked")
IN_2036 = datetime(2036, 12, 31, 9, 0, tzinfo=UTC)  # ten years on: the clock retention needs
SHREDDED = re.compile(
    r"Patients whose treatment or records ended before 2026-12-31: (\d+) "
    r"(would be shredded|shredded)"
)


def _finds_reuter(cli: Cli) -> bool:
    return "Patient/1001 at " in cli.ok(*LOOKUP)


# -- lookup ----------------------------------------------------------------------------------


def _purposes(cli: Cli, action: str) -> list[str]:
    """The purposes of one action, as `audit list` opens them (they are sealed in the row)."""
    listed = cli.json("audit", "list", "--action", action, "--format", "json")
    return [entry["purpose"] for entry in listed["entries"]]


def test_lookup_finds_the_demo_patient_and_audits_it_without_the_code(cli: Cli) -> None:
    """THREM249 → Patient/1001; `lookup` and `lookup.match` carry the purpose, never the code."""
    cli.synced()
    out = cli.ok(*LOOKUP)
    assert "1 local patient(s) reported under this code (audited):" in out
    assert "Patient/1001 at " in out
    [asked] = cli.audit("lookup")
    [match] = cli.audit("lookup.match")
    assert PURPOSE not in repr(asked) and asked["purpose"].startswith("sealed:v1:")
    assert _purposes(cli, "lookup") == _purposes(cli, "lookup.match") == [PURPOSE]
    assert json.loads(asked["details"]) == {"matches": 1}
    assert match["mapping_id"] is not None
    assert not [row for row in cli.audit() if REUTER in repr(row)]


@pytest.mark.parametrize(
    ("purpose", "needle"),
    [([], "--purpose"), (["--purpose", "duplicate"], "at least 10 characters")],
    ids=["without-purpose", "short-purpose"],
)
def test_a_lookup_without_a_real_purpose_is_refused(
    cli: Cli, purpose: list[str], needle: str
) -> None:
    """No --purpose (argparse) or one of a single word: exit 2, one line, nothing looked up."""
    cli.synced()
    assert needle in cli.refused("lookup", "--code", REUTER, *purpose)
    assert cli.audit("lookup") == cli.audit("lookup.match") == []


def test_the_eleventh_lookup_within_an_hour_is_refused_and_audited(cli: Cli) -> None:
    """Ten lookups an hour per person; the eleventh: exit 2, a lookup.refused entry."""
    cli.synced()
    for _ in range(10):
        assert _finds_reuter(cli)
    line = cli.refused(*LOOKUP)
    assert "10 lookups in the last hour" in line
    [refused] = cli.audit("lookup.refused")
    assert _purposes(cli, "lookup.refused") == [PURPOSE]
    assert json.loads(refused["details"]) == {"reason": "rate"}
    assert len(cli.audit("lookup")) == 10


@pytest.mark.parametrize(
    "code", ["THREM24", "THREMX49", "1001", "THR EM249"], ids=["short", "no-sex", "id", "space"]
)
def test_a_malformed_code_is_refused(cli: Cli, code: str) -> None:
    """What is no patient code: exit 2, one line, no lookup made."""
    cli.synced()
    assert "is not a patient code" in cli.refused("lookup", "--code", code, "--purpose", PURPOSE)
    assert cli.audit("lookup") == []


def test_a_mistyped_code_is_not_repeated_on_stderr(cli: Cli) -> None:
    """THREM2490 (one digit too many) is refused without printing THREM249 (PRIVACY.md T2)."""
    cli.synced()
    line = cli.refused("lookup", "--code", REUTER + "0", "--purpose", PURPOSE)
    assert REUTER not in line


# -- keys --------------------------------------------------------------------------------------


def test_each_key_rotation_keeps_lookup_and_the_audit_chain(cli: Cli) -> None:
    """Rotating wrap, index and audit keys: each exit 0, lookup and `audit verify` still work."""
    cli.synced()
    for purpose in ("wrap", "index", "audit"):
        out = cli.ok("keys", "rotate", purpose)
        assert f"Active {purpose} key: {purpose}-v2-" in out
        assert _finds_reuter(cli), purpose
        assert "OK: the chain is whole" in cli.ok("audit", "verify"), purpose
    status = cli.ok("keys", "status")
    rows = [line.split() for line in status.splitlines()[1:]]
    [index_v1] = [line for line in status.splitlines() if " index " in line and " 1 " in line]
    assert "0 patients, 0 pushed resources, 0 retention marks" in index_v1
    # No treatment was shredded, so no retention mark holds index-v1 (D-150).
    states = {(purpose, int(version)): state for _, purpose, version, state, *_ in rows}
    for purpose in ("wrap", "index", "audit"):
        assert states[(purpose, 1)] == "retired"
        assert states[(purpose, 2)] == "active"


def test_a_lost_keyring_restored_from_its_backup_works_again(cli: Cli) -> None:
    """Backup, keyring deleted → commands fail closed → `keys restore` → lookup finds again."""
    cli.synced()
    cli.setenv("SUBSTREG_BACKUP_PASSPHRASE", PASSPHRASE)
    backup = cli.tmp / "keyring.backup"
    assert "Keyring backup written to" in cli.ok("keys", "backup", "--out", str(backup))
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    cli.keyring.unlink()
    assert "keyring" in cli.refused(*LOOKUP)
    assert "keyring" in cli.refused("reports", "list")
    assert "Restored 3 key(s)" in cli.ok("keys", "restore", str(backup))
    assert stat.S_IMODE(cli.keyring.stat().st_mode) == 0o600
    assert _finds_reuter(cli)
    assert "OK: the chain is whole" in cli.ok("audit", "verify")


def test_a_restore_with_a_wrong_passphrase_is_refused(cli: Cli) -> None:
    """The wrong passphrase: exit 2, one line, no keyring put in place."""
    cli.synced()
    cli.setenv("SUBSTREG_BACKUP_PASSPHRASE", PASSPHRASE)
    backup = cli.tmp / "keyring.backup"
    cli.ok("keys", "backup", "--out", str(backup))
    cli.keyring.unlink()
    cli.setenv("SUBSTREG_BACKUP_PASSPHRASE", "incorrect horse battery staple")
    assert "passphrase is wrong" in cli.refused("keys", "restore", str(backup))
    assert not cli.keyring.exists()


@ON_SQLITE_ONLY  # the keyring's refusal: the database plays no part
def test_a_backup_without_passphrase_or_terminal_is_refused(cli: Cli) -> None:
    """The installed command with stdin not a terminal and no passphrase: exit 2, one line."""
    cli.ok("init")
    backup = cli.tmp / "keyring.backup"
    result = substreg(["keys", "backup", "--out", str(backup)], cli.env, cli.tmp)
    assert result.returncode == 2
    assert "SUBSTREG_BACKUP_PASSPHRASE" in one_line(result.stderr)
    assert not backup.exists()


@pytest.mark.parametrize(
    ("passphrase", "out", "needle"),
    [
        ("short", "keyring.backup", "at least 12 characters"),
        (PASSPHRASE, "nowhere/keyring.backup", "no directory"),
    ],
    ids=["short-passphrase", "missing-directory"],
)
def test_a_backup_that_cannot_be_made_is_refused_in_one_line(
    cli: Cli, passphrase: str, out: str, needle: str
) -> None:
    """A too short passphrase or a missing directory: exit 2 and one line, no traceback."""
    cli.ok("init")
    cli.setenv("SUBSTREG_BACKUP_PASSPHRASE", passphrase)
    assert needle in cli.refused("keys", "backup", "--out", str(cli.tmp / out))
    assert not (cli.tmp / out).exists()
    assert cli.audit("keys.backup") == []


# -- retention ---------------------------------------------------------------------------------


def _without_audit(tables: Tables) -> Tables:
    return {k: v for k, v in tables.items() if k not in ("audit_log", "audit_checkpoint")}


def _ten_years_on(cli: Cli) -> None:
    """The demo synced, then, ten years on, synced again with Reuter's treatment going on
    (his take-home prescriptions of the years between): every other treatment has ended,
    and retention may count from the day of that sync (D-82)."""
    cli.synced()
    cli.set_clock(IN_2036)
    goes_on = reuter_goes_on(cli.tmp, IN_2036.date())
    cli.ok("sync", str(DEMO), str(goes_on), "--config", str(CONFIG), "--as-of", "2036-12-31")


def test_a_retention_dry_run_reports_what_it_would_shred_and_changes_nothing(cli: Cli) -> None:
    """`--dry-run` names the count the real run shreds; only the audit log grows."""
    _ten_years_on(cli)
    before = cli.tables()
    dry = SHREDDED.search(cli.ok(*RETENTION, "--dry-run"))
    assert dry is not None
    assert dry.group(2) == "would be shredded"
    assert _without_audit(cli.tables()) == _without_audit(before)
    real = SHREDDED.search(cli.ok(*RETENTION))
    assert real is not None
    assert (real.group(1), real.group(2)) == (dry.group(1), "shredded")
    assert int(real.group(1)) >= len(ENDED)


def test_retention_shreds_the_ended_treatments_and_nothing_else(cli: Cli) -> None:
    """After ten years: the reports of every treatment that ended (Wolf, Münch, Vogt …) are
    shredded, lookup no longer finds them, Reuter's stay readable, and the audit chain
    verifies."""
    _ten_years_on(cli)
    by_code = cli.ledger_by_code()
    assert set(ENDED) < set(by_code)
    cli.ok(*RETENTION)
    for code, ledger_ids in by_code.items():
        for ledger_id in ledger_ids:
            shown = cli.json("reports", "show", ledger_id)
            assert shown["shredded"] is (code != REUTER), code
            assert (shown["payload"] is None) is (code != REUTER), code
    for code in ENDED:
        found = cli.ok("lookup", "--code", code, "--purpose", PURPOSE)
        assert "No local patient was reported under this code." in found
    assert _finds_reuter(cli)
    assert "OK: the chain is whole" in cli.ok("audit", "verify")


def test_a_sync_after_retention_does_not_report_the_shredded_treatments_again(cli: Cli) -> None:
    """The same export synced again after shredding records nothing: those reports were made."""
    _ten_years_on(cli)
    cli.ok(*RETENTION)
    goes_on = cli.tmp / "reuter-goes-on.json"
    again = cli.json(
        "sync",
        str(DEMO),
        str(goes_on),
        "--config",
        str(CONFIG),
        "--as-of",
        "2036-12-31",
        "--format",
        "json",
    )
    assert again["recorded"] == []
    assert not [f for f in again["findings"] if "retention" in f["message"]]
    for code in ENDED:
        found = cli.ok("lookup", "--code", code, "--purpose", PURPOSE)
        assert "No local patient was reported under this code." in found


def test_retention_destroys_a_duplicate_notice_of_a_letter_before_the_cutoff(cli: Cli) -> None:
    """D-240: a notice of 2026-01-05 on Reuter's code (his treatment goes on) is past the
    ten years counted from 2036-12-31 by its own day: the plan names it by id, retention
    destroys its key and row, `duplicate list` is empty, and the audit entry holds neither
    the code nor the reference; the chain verifies."""
    _ten_years_on(cli)
    letter = {
        "format": "substreg-duplicate-notice/1",
        "reference": "Az. 2026-0042",
        "letter_date": "2026-01-05",
        "doctor_btm_number": "3990101",
        "patient_code": REUTER,
        "other_doctors": [
            {
                "name": "Dr. Anna Beispiel",
                "btm_number": "7654321",
                "contact": "Hauptstr. 1, 10115 Berlin",
                "first_use": "2025-11-03",
            }
        ],
    }
    path = cli.tmp / "notice.json"
    path.write_text(json.dumps(letter), encoding="utf-8")
    cli.ok("duplicate", "import", str(path))
    [kept] = cli.json("duplicate", "list", "--format", "json")["notices"]
    shown = cli.ok(*RETENTION)
    assert f"  notice {kept['notice_id']}  of 2026-01-05  (letter before the cutoff)" in shown
    assert f"Duplicate notices destroyed: 1 ({kept['notice_id']})." in shown
    assert cli.json("duplicate", "list", "--format", "json")["notices"] == []
    assert cli.tables()["duplicate_notice"] == []
    audited = cli.ok("audit", "list", "--action", "retention.notice", "--format", "json")
    assert kept["notice_id"] in audited
    assert REUTER not in audited and "Az. 2026" not in audited
    assert "OK: the chain is whole" in cli.ok("audit", "verify")


def test_a_retention_period_under_a_year_is_refused(cli: Cli) -> None:
    """`--years 0`: exit 2, one line, nothing shredded or audited."""
    cli.synced()
    cli.set_clock(IN_2036)
    before = cli.tables()
    assert "at least one year" in cli.refused(*RETENTION, "--years", "0")
    assert cli.tables() == before


# -- the stolen database --------------------------------------------------------------------------


@dataclass(frozen=True)
class Needle:
    what: str
    text: str
    word: bool = False  # a bare id: found only as a whole word


@dataclass(frozen=True)
class Haystack:
    where: str
    text: str
    noise: bool  # decoded ciphertext or hex, where short needles occur by chance


FORMS = ("utf-8", "latin-1")
MIN_BITS_IN_NOISE = 48  # a 4-byte needle turns up by chance in ~1 of 9000 runs over 500 kB


def identity_needles() -> list[Needle]:
    """Names, birth dates, EHR ids of the demo's Patients, and the demo's codes."""
    needles = [Needle(f"patient code {code}", code) for code in demo_codes()]
    for patient in demo_patients():
        ref = f"Patient/{patient['id']}"
        needles += [Needle(ref, ref), Needle(f"bare id of {ref}", patient["id"], word=True)]
        year, month, day = patient["birthDate"].split("-")
        for form in (f"{year}-{month}-{day}", f"{day}.{month}.{year}", f"{year}{month}{day}"):
            needles.append(Needle(f"birth date of {ref}", form))
        for name in patient["name"]:
            given, family = " ".join(name["given"]), name["family"]
            own = [e["valueString"] for e in name.get("_family", {}).get("extension", [])]
            parts = {*name["given"], family, *own, f"{given} {family}", f"{family}, {given}"}
            needles += [Needle(f"name of {ref}", part) for part in sorted(parts)]
    return needles


def haystacks(tables: Tables, columns: dict[str, list[str]]) -> list[Haystack]:
    """Each column of each table as text: clear values as they are, bytes as UTF-8,
    latin-1 and hex (one haystack per column and form, values apart by NUL)."""
    found = []
    for table, rows in tables.items():
        for i, column in enumerate(columns[table]):
            values = [row[i] for row in rows if row[i] is not None]
            blobs = [bytes(v) for v in values if isinstance(v, bytes | memoryview)]
            texts = [str(v) for v in values if not isinstance(v, bytes | memoryview)]
            # A sealed text (`sealed:v1:<key>:<nonce>:<ciphertext>`, base64) is ciphertext:
            # short needles ("von") occur in it by chance, as in bytes.
            clear = [t for t in texts if not t.startswith("sealed:")]
            sealed = [t for t in texts if t.startswith("sealed:")]
            where = f"{table}.{column}"
            found.append(Haystack(where, "\0".join(clear), noise=False))
            found.append(Haystack(f"{where} (sealed)", "\0".join(sealed), noise=True))
            for form in FORMS:
                text = "\0".join(b.decode(form, errors="replace") for b in blobs)
                found.append(Haystack(f"{where} ({form})", text, noise=True))
            found.append(Haystack(f"{where} (hex)", "\0".join(b.hex() for b in blobs), noise=True))
    return found


def leaks(needles: Iterable[Needle], stacks: Iterable[Haystack]) -> list[str]:
    """Every needle (or its hex spelling) found in a haystack, as "what in where"."""
    found = []
    for stack in stacks:
        text = stack.text if stack.noise else stack.text.casefold()
        hexadecimal = stack.where.endswith("(hex)")
        for needle in needles:
            for form in (needle.text, needle.text.encode("utf-8").hex()):
                bits = len(form) * 4 if hexadecimal else len(form.encode("utf-8")) * 8
                if stack.noise and (needle.word or bits < MIN_BITS_IN_NOISE):
                    continue  # not distinctive here: chance would find it in random bytes
                target = form if stack.noise else form.casefold()
                if needle.word:
                    hit = re.search(rf"(?<![\w-]){re.escape(target)}(?![\w-])", text)
                else:
                    hit = target in text  # a plain substring: no pattern to build a million times
                if hit:
                    found.append(f"{needle.what} ({form!r}) in {stack.where}")
    return found


def _use_the_ledger(cli: Cli) -> None:
    """Show, approve, reject with a reason, export, look up; and a few refusals on stderr."""
    ids = cli.ledger_ids()
    cli.ok("reports", "show", ids[0])
    cli.ok("reports", "approve", ids[0])
    cli.refused("reports", "approve", ids[0])
    cli.ok("reports", "reject", ids[1], "--reason", "Nina Sommer, born 09.01.1988, is THREM249?")
    for fmt in ("csv", "pdf"):
        cli.ok("ledger", "export", "--from", "2025-01-01", "--to", AS_OF, "--format", fmt,
               "--out", f"ledger.{fmt}", "--purpose", PURPOSE)  # fmt: skip
    assert _finds_reuter(cli)
    cli.refused("lookup", "--code", REUTER, "--purpose", "dup")
    cli.refused("reports", "show", "00000000-0000-0000-0000-000000000000")
    cli.ok(*SYNC)


def test_a_stolen_database_holds_no_patient_identity(cli: Cli) -> None:
    """Every table read raw, and all stderr: no name, birth date, EHR id or code (T1, T2)."""
    cli.synced()
    _use_the_ledger(cli)
    needles = identity_needles()
    export = (cli.tmp / "ledger.csv").read_text(encoding="utf-8-sig")
    in_export = leaks(needles, [Haystack("export", export, noise=False)])  # the scan can fail
    assert [c for c in demo_codes() if not any(f"code {c} " in f for f in in_export)] == []
    tables = cli.tables()
    assert len(tables["report"]) == 16
    stacks = haystacks(tables, {name: cli.columns(name) for name in tables})
    stacks.append(Haystack("stderr", "".join(cli.stderr), noise=False))
    if cli.url.startswith("sqlite:///"):
        for path in Path(cli.url[10:]).parent.glob("substreg.db*"):
            raw = path.read_bytes()  # free pages and the WAL too
            stacks += [Haystack(path.name, raw.decode(f, "replace"), True) for f in FORMS]
    assert leaks(needles, stacks) == []
