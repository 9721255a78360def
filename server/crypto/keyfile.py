"""Reading and writing secret key files: private permissions enforced, atomic writes.

Decision: a key file that group or others can read or write is refused, not merely
warned about (like OpenSSH with private keys). A key that may already have leaked is not
something to start a server with silently; the error says exactly which ``chmod`` fixes
it. Files are created with mode 0600 inside a directory created 0700.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from server.errors import FailedPrecondition
from server.storage.files import create_file_exclusive, make_private_dirs, write_file_atomic


class KeyFileError(FailedPrecondition):
    """A key file is missing, unreadable, malformed or has unsafe permissions.

    Raised at start-up or by operator commands only; its message names the file, so it
    must not be relayed to API callers.
    """


def read_key_file(path: Path) -> bytes:
    """Contents of a key file after checking it is a regular file only its owner can use."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise KeyFileError(
                f"key file {path} is a symbolic link; configure the path of the real file"
            ) from None
        raise KeyFileError(f"cannot open key file {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"key file {path} is not a regular file")
        loose = stat.S_IMODE(info.st_mode) & 0o077
        if loose:
            raise KeyFileError(
                f"key file {path} has mode {stat.S_IMODE(info.st_mode):04o}: group or others "
                f"can access it. Run `chmod 600 {path}` (and rotate the key if other users "
                "may have read it)."
            )
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def create_key_file(path: Path, data: bytes) -> None:
    """Create a new key file (mode 0600, parents 0700); ``FileExistsError`` if it exists."""
    make_private_dirs(path.parent)
    create_file_exclusive(path, data)


def replace_key_file(path: Path, data: bytes) -> None:
    """Atomically replace (or create) a key file with mode 0600, parents 0700."""
    make_private_dirs(path.parent)
    write_file_atomic(path, data)
