"""Durable, private file primitives: atomic replace, exclusive create, directory fsync.

A file written here is never observed half-written: data goes to a temporary file in the
same directory (mode 0600, created exclusively), is fsynced, then renamed over (or linked
to) its final name, and the directory entry is fsynced too so the rename survives a crash.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
TEMP_PREFIX = ".tmp-"


def fsync_directory(path: Path) -> None:
    """Flush a directory's entries (creations, renames, unlinks) to stable storage."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700 (existing ones are untouched).

    ``os.makedirs`` applies the umask to the mode, so each directory created here is
    chmod-ed explicitly.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, PRIVATE_DIR_MODE)
        fsync_directory(directory.parent)


def _write_temp(directory: Path, data: bytes, mode: int) -> Path:
    """Write ``data`` to a fresh temporary file in ``directory``, fsynced; return its path."""
    temp = directory / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return temp


def write_file_atomic(path: Path, data: bytes, *, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace (or create) ``path`` with ``data`` atomically and durably."""
    temp = _write_temp(path.parent, data, mode)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def create_file_exclusive(path: Path, data: bytes, *, mode: int = PRIVATE_FILE_MODE) -> None:
    """Create ``path`` with ``data`` atomically; raise ``FileExistsError`` if it exists.

    Hard-linking the finished temporary file to the final name fails when the name is
    taken, so two processes racing to create the same key file cannot clobber each other
    and nobody ever reads a partly written file.
    """
    temp = _write_temp(path.parent, data, mode)
    try:
        os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_directory(path.parent)
