"""`substreg init` on a fresh machine: it makes the folders its database and keyring need
(mode 0700), and it is the only command that does (issue 8: `make run` on a fresh clone)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapter.settings.files import make_private_dirs
from tests.cli_helpers import Cli, one_line, substreg


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def strict_umask() -> Iterator[None]:
    """A umask that takes the owner's write bit off: mkdir's mode alone would give 0500."""
    old = os.umask(0o277)
    try:
        yield
    finally:
        os.umask(old)


def test_every_missing_folder_is_made_0700(tmp_path: Path, strict_umask: None) -> None:
    """Each missing folder on the way is made 0700 (Path.mkdir(parents=True) gives 0755)."""
    folder = tmp_path / "a" / "b" / "c"
    make_private_dirs(folder)
    assert [_mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", folder)] == [0o700] * 3


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    """A folder that exists is the owner's business: only the new one below it is made."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    make_private_dirs(shared / "substreg")
    assert (_mode(shared), _mode(shared / "substreg")) == (0o755, 0o700)
    make_private_dirs(shared / "substreg")  # a second time changes nothing
    assert _mode(shared / "substreg") == 0o700


def test_a_file_in_the_way_raises(tmp_path: Path) -> None:
    """A file where a folder must go: OSError, nothing replaced."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OSError, match="exists"):
        make_private_dirs(tmp_path / "file" / "dir")
    assert (tmp_path / "file").read_text(encoding="utf-8") == "x"


def test_init_makes_the_folders_of_a_new_sqlite_url(tmp_path: Path) -> None:
    """SUBSTREG_DATABASE_URL=sqlite:////new/dir/x.db: init makes new/ and dir/ with 0700."""
    database = tmp_path / "new" / "dir" / "x.db"
    env = {
        "SUBSTREG_HOME": str(tmp_path / "home"),
        "SUBSTREG_DATABASE_URL": f"sqlite:///{database}",
    }
    result = substreg(["init"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert _mode(tmp_path / "new") == _mode(database.parent) == 0o700
    assert _mode(database) == 0o600
    assert _mode(tmp_path / "home") == 0o700


def test_init_makes_the_default_home_when_local_share_is_missing(tmp_path: Path) -> None:
    """No SUBSTREG_HOME and a HOME without ~/.local/share: init makes each folder 0700."""
    home = tmp_path / "user"
    env = {"HOME": str(home), "SUBSTREG_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = substreg(["init"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    made = [
        home,
        home / ".local",
        home / ".local" / "share",
        home / ".local" / "share" / "substreg",
    ]
    assert [_mode(p) for p in made] == [0o700] * 4
    assert _mode(made[-1] / "keyring.json") == 0o600


def test_init_twice_on_a_new_folder_succeeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The second init finds the folders, the database and the keyring, and keeps them.
    (In this process: the installed command's init runs in the tests above, D-119.)"""
    cli = Cli(monkeypatch, capsys, tmp_path, f"sqlite:///{tmp_path / 'run' / 'substreg.db'}")
    cli.setenv("SUBSTREG_HOME", str(tmp_path / "run" / "home"))
    cli.ok("init")
    assert "Keyring kept (it existed)" in cli.ok("init")


@pytest.mark.parametrize(
    ("argv", "child"),
    [(["reports", "list"], True), (["audit", "verify"], False), (["keys", "status"], False)],
    ids=["reports-list", "audit-verify", "keys-status"],
)
def test_other_commands_make_no_folder_and_ask_for_init(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
    child: bool,
) -> None:
    """Only init creates a database: another command on a missing folder says to run it.
    The installed command in a child once; the others in this process (D-119)."""
    database = tmp_path / "new" / "x.db"
    if child:
        env = {
            "SUBSTREG_HOME": str(tmp_path / "home"),
            "SUBSTREG_DATABASE_URL": f"sqlite:///{database}",
        }
        result = substreg(argv, env, tmp_path)
        status, err = result.returncode, result.stderr
    else:
        run = Cli(monkeypatch, capsys, tmp_path, f"sqlite:///{database}").run(*argv)
        status, err = run.status, run.err
    assert status == 2
    assert "substreg init" in one_line(err)
    assert not (tmp_path / "new").exists()


def test_init_that_cannot_make_the_folder_says_which(tmp_path: Path) -> None:
    """A file where the database's folder must go: exit 2, one line naming the folder."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    database = tmp_path / "file" / "dir" / "x.db"
    env = {
        "SUBSTREG_HOME": str(tmp_path / "home"),
        "SUBSTREG_DATABASE_URL": f"sqlite:///{database}",
    }
    result = substreg(["init"], env, tmp_path)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert f"Cannot create the folder {database.parent} for the database" in line
    assert not (tmp_path / "home").exists()  # no keyring for a database that was never made


@pytest.mark.parametrize("argv", [["init"], ["reports", "list"], ["audit", "verify"]])
def test_a_file_that_is_not_a_database_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
) -> None:
    """SUBSTREG_DATABASE_URL naming a text file: what the driver refuses is a
    DatabaseError in the store (D-67), one line and exit 2, and the file is untouched."""
    text = tmp_path / "x.db"
    text.write_text("not a database\n")
    cli = Cli(monkeypatch, capsys, tmp_path, f"sqlite:///{text}")
    line = cli.refused(*argv)
    assert "database" in line
    assert text.read_text() == "not a database\n"
