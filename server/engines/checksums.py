"""SHA-256 of model files, read once per file version per process.

Engines name derived files (exported or quantised graphs) by the checkpoint they came
from; checkpoints are tens to hundreds of MB, so the hash is remembered per (path, size,
modification time) and a start-up check and a model load share one read.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file at ``path`` (cached while its size and mtime stay the same)."""
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file (the size and time only key the cache)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
