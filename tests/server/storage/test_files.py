"""Atomic private file primitives."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from server.storage.files import create_file_exclusive, make_private_dirs, write_file_atomic


def test_atomic_write_replaces_content_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old")
    path.chmod(0o644)
    write_file_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_exclusive_create_never_clobbers(tmp_path: Path) -> None:
    path = tmp_path / "f"
    create_file_exclusive(path, b"first")
    with pytest.raises(FileExistsError):
        create_file_exclusive(path, b"second")
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_private_dirs_are_0700_despite_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0o000)
    try:
        make_private_dirs(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(old)
    for name in ("a", "a/b", "a/b/c"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o700
