"""Blob storage: a small interface and the local-filesystem implementation.

Keys are hierarchical, ``/``-separated paths such as ``tenants/<tid>/voices/<vid>/model``.
Each segment is 1-128 characters of ``A-Z a-z 0-9 . _ -`` and does not start with ``.``
or ``-``; at most 16 segments and 1024 characters. That refuses traversal (``..``),
absolute paths, hidden and temporary names and anything a shell or filesystem might
interpret, so a key always maps to exactly one file under the store's root.

Prefix operations (:meth:`BlobStore.delete_prefix`, :meth:`BlobStore.iter_keys`) work on
whole segments: prefix ``tenants/t1`` covers ``tenants/t1`` and ``tenants/t1/...`` but not
``tenants/t10/...``.

Deletion overwrites a file with zeros before unlinking it. That is best effort only:
journaling and copy-on-write filesystems, SSD wear levelling, snapshots and backups can
keep old blocks. The real guarantee is cryptographic: blobs are sealed with per-object
keys (``server.crypto.envelope``), and destroying the wrapped key makes every surviving
copy unreadable.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from server.errors import NotFound
from server.storage.files import (
    TEMP_PREFIX,
    fsync_directory,
    make_private_dirs,
    write_file_atomic,
)

_SEGMENT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
MAX_KEY_LENGTH = 1024
MAX_KEY_DEPTH = 16
_SHRED_CHUNK = 1 << 20
_PUT_ATTEMPTS = 3


class BlobNotFound(NotFound):
    """No blob is stored under the requested key."""


class InvalidBlobKey(ValueError):
    """A key or prefix is not in the safe key syntax (a programming error, not user input)."""


def validate_key(key: str) -> str:
    """Return ``key`` if it is a valid blob key, else raise :class:`InvalidBlobKey`."""
    if not isinstance(key, str) or not key:
        raise InvalidBlobKey("a blob key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidBlobKey(f"blob key is {len(key)} chars; at most {MAX_KEY_LENGTH} allowed")
    segments = key.split("/")
    if len(segments) > MAX_KEY_DEPTH:
        raise InvalidBlobKey(f"blob key has {len(segments)} segments; at most {MAX_KEY_DEPTH}")
    for segment in segments:
        if not _SEGMENT_RE.fullmatch(segment):
            raise InvalidBlobKey(
                f"blob key segment {segment!r} must be 1-128 chars of A-Z a-z 0-9 . _ - "
                "not starting with '.' or '-'"
            )
    return key


def blob_key(*segments: str) -> str:
    """Join segments into a validated key: ``blob_key("tenants", tid, "voices", vid, "model")``."""
    return validate_key("/".join(segments))


@runtime_checkable
class BlobStore(Protocol):
    """Where sealed blobs live. Implementations store opaque bytes under validated keys."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, atomically replacing any previous blob."""
        ...

    def get(self, key: str) -> bytes:
        """The blob under ``key``; :class:`BlobNotFound` if there is none."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""
        ...

    def modified_at(self, key: str) -> float:
        """When the blob under ``key`` was last written (Unix time); BlobNotFound if none."""
        ...

    def delete(self, key: str) -> bool:
        """Delete the blob under ``key``; ``True`` if there was one."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob at or below ``prefix`` (whole segments); return how many."""
        ...

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys at or below ``prefix`` (all keys for ``""``), in sorted order."""
        ...


class LocalBlobStore:
    """Blobs as files under ``root``: directories 0700, files 0600, atomic durable writes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        make_private_dirs(self.root)
        # Serialises directory creation against pruning of empty directories within this
        # process; other processes are covered by put's retry.
        self._tree_lock = threading.RLock()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def _prefix_path(self, prefix: str) -> Path:
        return self._path(prefix.rstrip("/"))

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (temp file, fsync, rename, directory fsync)."""
        path = self._path(key)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("blob data must be bytes")
        for attempt in range(_PUT_ATTEMPTS):
            try:
                with self._tree_lock:
                    make_private_dirs(path.parent)
                    if path.is_dir():
                        raise InvalidBlobKey(f"blob key {key!r} is a prefix of other keys")
                    write_file_atomic(path, bytes(data))
                return
            except FileNotFoundError:
                # A concurrent delete pruned a directory we had just created; try again.
                if attempt == _PUT_ATTEMPTS - 1:
                    raise
            except (NotADirectoryError, FileExistsError):
                raise InvalidBlobKey(
                    f"blob key {key!r} runs through an existing blob; keys cannot nest under keys"
                ) from None

    def get(self, key: str) -> bytes:
        """The blob under ``key``; :class:`BlobNotFound` if there is none."""
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            raise BlobNotFound("no stored data for this object") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise BlobNotFound("no stored data for this object")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read()
        finally:
            os.close(fd)

    def exists(self, key: str) -> bool:
        """Whether a regular file is stored under ``key``."""
        try:
            return stat.S_ISREG(os.lstat(self._path(key)).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False

    def modified_at(self, key: str) -> float:
        """The blob file's modification time (Unix time)."""
        try:
            return os.lstat(self._path(key)).st_mtime
        except (FileNotFoundError, NotADirectoryError):
            raise BlobNotFound(f"no blob {key!r}") from None

    def delete(self, key: str) -> bool:
        """Overwrite, unlink and fsync the blob's file, then prune empty directories."""
        path = self._path(key)
        if not self.exists(key):
            return False
        removed = _shred_and_unlink(path)
        self._prune(path.parent)
        return removed

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob at or below ``prefix``; leftover temp files go too (uncounted).

        An empty prefix is refused: wiping the whole store must be deliberate
        (delete the root directory instead).
        """
        if not prefix.strip("/"):
            raise InvalidBlobKey("delete_prefix needs a non-empty prefix")
        top = self._prefix_path(prefix)
        with self._tree_lock:
            count = self._delete_tree(prefix.rstrip("/"), top)
            self._prune(top.parent)
        return count

    def _delete_tree(self, prefix: str, top: Path) -> int:
        count = 0
        if self.exists(prefix):
            count += int(_shred_and_unlink(top))
        elif top.is_dir() and not top.is_symlink():
            for directory, dirnames, filenames in os.walk(top, topdown=False):
                here = Path(directory)
                for name in filenames:
                    removed = _shred_and_unlink(here / name)
                    count += int(removed and not name.startswith(TEMP_PREFIX))
                for name in dirnames:
                    if (here / name).is_symlink():
                        (here / name).unlink()
                    else:
                        _remove_empty_dir(here / name)
            _remove_empty_dir(top)
        return count

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys at or below ``prefix`` in sorted order (temporary files are skipped)."""
        if not prefix.strip("/"):
            top = self.root
        else:
            top = self._prefix_path(prefix)
            if self.exists(prefix.rstrip("/")):
                yield prefix.rstrip("/")
                return
        if not top.is_dir() or top.is_symlink():
            return
        yield from self._walk(top)

    def _walk(self, directory: Path) -> Iterator[str]:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            if entry.name.startswith(".") or entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                yield Path(entry.path).relative_to(self.root).as_posix()

    def _prune(self, directory: Path) -> None:
        """Remove empty directories from ``directory`` up to (not including) the root."""
        with self._tree_lock:
            while directory != self.root and self.root in directory.parents:
                if not _remove_empty_dir(directory):
                    return
                directory = directory.parent


def _remove_empty_dir(directory: Path) -> bool:
    try:
        os.rmdir(directory)
    except FileNotFoundError:
        return True
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise
    try:
        fsync_directory(directory.parent)
    except FileNotFoundError:
        pass  # another process pruned the parent as well
    return True


def _shred_and_unlink(path: Path) -> bool:
    """Overwrite a regular file with zeros, fsync, unlink, fsync its directory.

    Returns whether a regular file was removed; a stray symbolic link is unlinked without
    touching its target and reported as ``False``.
    """
    if path.is_symlink():
        path.unlink(missing_ok=True)
        return False
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        size = os.fstat(fd).st_size
        zeros = bytes(min(size, _SHRED_CHUNK))
        written = 0
        while written < size:
            written += os.write(fd, zeros[: size - written])
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    fsync_directory(path.parent)
    return True

