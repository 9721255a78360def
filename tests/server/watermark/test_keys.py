"""Keys and keyrings: generation, rotation, the key file and its permissions."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.errors import InvalidArgument
from server.watermark import Keyring, WatermarkKey
from tests.server.watermark.conftest import counter_bytes


def test_generation_uses_the_injected_random_source_and_clock() -> None:
    key = WatermarkKey.generate(random_bytes=counter_bytes(1), now=lambda: datetime(2026, 1, 2, tzinfo=UTC))
    assert key.secret == bytes(range(1, 33))
    assert key.created == "2026-01-02T00:00:00Z"
    assert len(key.id) == 12 and key.id == WatermarkKey(secret=bytes(range(1, 33))).id
    assert key.secret.hex() not in repr(key)


def test_save_writes_mode_0600_and_loads_back(tmp_path: Path) -> None:
    keyring = Keyring.generate().rotate()
    path = tmp_path / "wm.key"
    keyring.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = Keyring.load(path)
    assert loaded == keyring
    assert loaded.primary.id == keyring.ids[0]
    assert list(tmp_path.iterdir()) == [path]


def test_rotate_puts_a_new_primary_first_and_keeps_old_keys() -> None:
    first = Keyring.generate(random_bytes=counter_bytes(0))
    rotated = first.rotate(random_bytes=counter_bytes(100))
    assert rotated.primary.id != first.primary.id
    assert rotated.keys[1:] == first.keys
    assert rotated.find(first.primary.id) == first.primary


def test_damaged_key_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "wm.key"
    Keyring.generate().save(path)
    document = json.loads(path.read_text())
    document["keys"][0]["id"] = "000000000000"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidArgument, match="does not match"):
        Keyring.load(path)
    for text in ("not json", json.dumps({"format": "other"}), json.dumps({"format": "voxguard-watermark-keyring", "version": 1, "keys": []})):
        path.write_text(text)
        with pytest.raises(InvalidArgument):
            Keyring.load(path)
    with pytest.raises(InvalidArgument, match="does not exist"):
        Keyring.load(tmp_path / "missing.key")


def test_keys_must_be_32_bytes_and_unique() -> None:
    with pytest.raises(InvalidArgument, match="32 bytes"):
        WatermarkKey(secret=b"short")
    key = WatermarkKey(secret=bytes(32))
    with pytest.raises(InvalidArgument, match="twice"):
        Keyring(keys=(key, key))
