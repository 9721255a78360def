"""One key-file format for every keyring: master and watermark files look alike."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from server.crypto.keyring_file import KeyringFormatError, decode_keyring
from server.crypto.master import MasterKeyring
from server.errors import InvalidArgument
from server.watermark import Keyring


def test_master_and_watermark_files_share_one_layout(tmp_path: Path) -> None:
    master_path, watermark_path = tmp_path / "master.key", tmp_path / "watermark.key"
    MasterKeyring.load_or_create(master_path)
    Keyring.generate().rotate().save(watermark_path)
    master = json.loads(master_path.read_text())
    watermark = json.loads(watermark_path.read_text())
    assert set(master) == set(watermark) == {"format", "version", "keys"}
    assert master["version"] == watermark["version"] == 1
    assert {tuple(sorted(k)) for k in master["keys"] + watermark["keys"]} == {
        ("created_at", "id", "key")}
    assert master["format"] == "voxguard-master-keyring"
    assert watermark["format"] == "voxguard-watermark-keyring"


def test_older_watermark_files_are_read_and_rewritten_in_the_common_format(
        tmp_path: Path) -> None:
    current = Keyring.generate()
    old = {"format": "voxguard-watermark-keyring", "version": 1, "keys": [
        {"id": current.primary.id, "secret": base64.b64encode(current.primary.secret).decode(),
         "created": current.primary.created}]}
    path = tmp_path / "watermark.key"
    path.write_text(json.dumps(old))
    os.chmod(path, 0o600)
    loaded = Keyring.load(path)
    assert loaded == current
    loaded.save(path)
    assert set(json.loads(path.read_text())["keys"][0]) == {"id", "key", "created_at"}
    assert Keyring.load(path) == current


def test_a_watermark_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "watermark.key"
    Keyring.generate().save(path)
    os.chmod(path, 0o644)
    with pytest.raises(InvalidArgument, match="chmod"):
        Keyring.load(path)


def test_a_keyring_of_the_other_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    MasterKeyring.load_or_create(path)
    with pytest.raises(KeyringFormatError, match="watermark"):
        decode_keyring(path.read_bytes(), "voxguard-watermark-keyring", "watermark")
    os.chmod(path, 0o600)
    with pytest.raises(InvalidArgument, match="not a voxguard watermark keyring"):
        Keyring.load(path)
