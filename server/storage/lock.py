"""An advisory lock on the data directory: servers share it, key rotation needs it alone.

A running server holds the master keyring in memory. Rotating the key file under it
would leave that server wrapping new tenant keys under a key the rotation then retires,
so ``voxguard admin rotate-master-key`` takes the lock exclusively and refuses while any
server on this data directory holds it (``flock`` locks vanish with their process, so a
crashed server never blocks a rotation).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from server.errors import FailedPrecondition

LOCK_FILE = "server.lock"


class DataDirLock:
    """``flock`` on ``DATA_DIR/server.lock``: shared for servers, exclusive for rotation."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire_shared(self) -> None:
        """Mark this process as a server using the data directory (blocks only during a rotation)."""
        self._lock(fcntl.LOCK_SH)

    def acquire_exclusive(self, purpose: str) -> None:
        """Take the directory alone, or fail at once if a server is running on it."""
        try:
            self._lock(fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.release()
            raise FailedPrecondition(
                f"a voxguard server is running on {self._path.parent}; stop it before {purpose}"
            ) from None

    def release(self) -> None:
        """Drop the lock (also dropped when the process exits)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _lock(self, operation: int) -> None:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, operation)
