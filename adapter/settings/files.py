"""Files and folders only their owner may read: a file written whole or not at all (keyring,
exports, backups), one written in pieces (a download), an empty one made before SQLite
opens it (the service's registry), and the folders the database and the keyring live in."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO


def write_private(path: Path, data: bytes) -> None:
    """`data` to `path`, mode 0600 from the start; OSError when it cannot be written.

    A temporary file in the same directory, then os.replace: a reader sees the old file or
    the new one, never half of one, and a crash leaves the old one intact.
    """
    temp = _written_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _sync_folder(path.parent)


def write_private_together(files: Mapping[Path, bytes]) -> None:
    """New files (mode 0600) written all or none: each to a temporary file beside it,
    renamed into place only once all are complete. A failure or an interrupt (Ctrl-C)
    removes the temporary files and those already renamed, so it leaves none of them."""
    temps: dict[Path, Path] = {}
    placed: list[Path] = []
    try:
        for path, data in files.items():
            temps[path] = _written_temp(path, data)
        for path, temp in temps.items():
            os.replace(temp, path)
            placed.append(path)
    except BaseException:
        for left in [*temps.values(), *placed]:
            with contextlib.suppress(OSError):
                left.unlink()
        raise
    for folder in {path.parent for path in files}:
        _sync_folder(folder)


def _written_temp(path: Path, data: bytes) -> Path:
    """`data` in a new temporary file (mode 0600, synced) in `path`'s folder; none left
    behind when it cannot be written."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return temp


def _sync_folder(folder: Path) -> None:
    """Make the renames in `folder` durable; some file systems refuse to fsync a directory."""
    with contextlib.suppress(OSError):
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def open_private(path: Path) -> BinaryIO:
    """`path` opened for writing from its start, mode 0600 whether it is new or not (a
    file streamed in pieces: a download); OSError when it cannot be opened."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # an older file keeps its mode through os.open
    except BaseException:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "wb")


def make_private_file(path: Path) -> None:
    """An empty file at `path` unless one is there, and mode 0600 either way: a SQLite
    database made before SQLite opens it (SQLite gives its journals the file's mode)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    path.chmod(0o600)


def make_private_dirs(folder: Path) -> None:
    """Create `folder` and every missing folder above it, each with mode 0700.

    Folders that exist are left as they are (their modes are the owner's choice). Unlike
    `Path.mkdir(parents=True)`, which gives the parents the umask's default (often 0755),
    every folder made here is its owner's only. OSError when one cannot be made.
    """
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:  # made by a parallel run: theirs to set up
            if not path.is_dir():
                raise
            continue
        path.chmod(0o700)  # mkdir's mode passes through the umask, which may take bits off
