"""Master keyring: key file creation and permissions, operator keys, rotation and retirement."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.crypto.aead import associated_data
from server.crypto.keyfile import KeyFileError
from server.crypto.master import MasterKeyring
from server.errors import DecryptionError
from tests.server.crypto.conftest import CountingRandom

AAD = associated_data("voxguard/tenant-key", tenant="t1")
FIXED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_load_or_create_makes_a_private_file_and_reloads_the_same_keys(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys" / "master.keyring"
    ring = MasterKeyring.load_or_create(path, clock=lambda: FIXED)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700 and _mode(path.parent.parent) == 0o700
    again = MasterKeyring.load_or_create(path)
    assert again.key_ids == ring.key_ids
    assert again.describe()[0].created_at == FIXED
    wrapped = ring.wrap(b"k" * 32, AAD)
    assert again.unwrap(wrapped, AAD) == b"k" * 32
    assert not list(path.parent.glob(".tmp-*"))


def test_an_existing_file_is_never_overwritten_by_load_or_create(tmp_path: Path) -> None:
    path = tmp_path / "master.keyring"
    first = MasterKeyring.generate()
    first.save(path)
    assert MasterKeyring.load_or_create(path).key_ids == first.key_ids


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o620])
def test_group_or_world_accessible_key_files_are_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.keyring"
    MasterKeyring.generate().save(path)
    os.chmod(path, mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        MasterKeyring.load_or_create(path)


def test_symlinked_and_malformed_key_files_are_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.keyring"
    MasterKeyring.generate().save(real)
    link = tmp_path / "link.keyring"
    link.symlink_to(real)
    with pytest.raises(KeyFileError, match="symbolic link"):
        MasterKeyring.load(link)
    bad = tmp_path / "bad.keyring"
    for content in (b"not json", b"{}", json.dumps({"format": "voxguard-master-keyring",
                                                   "version": 1, "keys": []}).encode()):
        bad.write_bytes(content)
        os.chmod(bad, 0o600)
        with pytest.raises(KeyFileError):
            MasterKeyring.load(bad)
    document = json.loads(real.read_bytes())
    document["keys"][0]["id"] = "00" * 8
    bad.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="does not match its id"):
        MasterKeyring.load(bad)


def test_rotation_keeps_old_wraps_readable_then_rewrap_allows_retirement(tmp_path: Path) -> None:
    path = tmp_path / "master.keyring"
    old = MasterKeyring.load_or_create(path, random=CountingRandom(b"a"))
    wrapped = [old.wrap(bytes([i]) * 32, associated_data("voxguard/tenant-key", tenant=f"t{i}"))
               for i in range(3)]
    rotated = old.rotate()
    rotated.save(path)
    ring = MasterKeyring.load(path)
    assert ring.key_ids == (rotated.primary_key_id, old.primary_key_id)
    assert ring.primary_key_id != old.primary_key_id
    rewrapped = []
    for i, token in enumerate(wrapped):
        aad = associated_data("voxguard/tenant-key", tenant=f"t{i}")
        assert ring.needs_rewrap(token)
        assert ring.key_id_of(token) == old.primary_key_id
        assert ring.unwrap(token, aad) == bytes([i]) * 32
        new = ring.rewrap(token, aad)
        assert not ring.needs_rewrap(new)
        rewrapped.append(new)
    retired = ring.retire(old.primary_key_id)
    retired.save(path)
    final = MasterKeyring.load(path)
    assert final.key_ids == (rotated.primary_key_id,)
    for i, token in enumerate(rewrapped):
        aad = associated_data("voxguard/tenant-key", tenant=f"t{i}")
        assert final.unwrap(token, aad) == bytes([i]) * 32
        with pytest.raises(DecryptionError):
            final.unwrap(wrapped[i], aad)


def test_primary_and_unknown_keys_cannot_be_retired() -> None:
    ring = MasterKeyring.generate()
    with pytest.raises(ValueError, match="primary"):
        ring.retire(ring.primary_key_id)
    with pytest.raises(ValueError, match="no master key"):
        ring.rotate().retire("ffffffffffffffff")


def test_operator_keys_round_trip_and_match_file_key_ids(tmp_path: Path) -> None:
    primary = MasterKeyring.generate_operator_key()
    ring = MasterKeyring.generate().rotate()
    exported = ring.export_operator_key()
    from_settings = MasterKeyring.from_operator_key(exported)
    assert from_settings.key_ids == ring.key_ids
    token = ring.wrap(b"x" * 32, AAD)
    assert from_settings.unwrap(token, AAD) == b"x" * 32
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(primary)).decode().rstrip("=")
    assert (MasterKeyring.from_operator_key(urlsafe).key_ids
            == MasterKeyring.from_operator_key(f" {primary} ,").key_ids)


@pytest.mark.parametrize("value", ["", " , ", "not base64!", base64.b64encode(b"short").decode()])
def test_bad_operator_keys_are_refused_with_a_reason(value: str) -> None:
    with pytest.raises(ValueError):
        MasterKeyring.from_operator_key(value)


def test_wrong_aad_unknown_key_and_garbage_are_the_same_opaque_error() -> None:
    ring = MasterKeyring.generate()
    token = ring.wrap(b"k" * 32, AAD)
    other_aad = associated_data("voxguard/tenant-key", tenant="t2")
    for candidate, aad, opener in [(token, other_aad, ring), (token, AAD, MasterKeyring.generate()),
                                   (b"garbage", AAD, ring), (token[:-1], AAD, ring)]:
        with pytest.raises(DecryptionError):
            opener.unwrap(candidate, aad)


def test_repr_shows_ids_but_no_key_material() -> None:
    ring = MasterKeyring.generate()
    secret = base64.b64decode(ring.export_operator_key())
    text = repr(ring) + str(ring) + repr(ring.describe())
    assert ring.primary_key_id in text
    assert secret.hex() not in text and base64.b64encode(secret).decode() not in text


def test_injected_randomness_is_deterministic() -> None:
    a = MasterKeyring.generate(random=CountingRandom(b"s"))
    b = MasterKeyring.generate(random=CountingRandom(b"s"))
    assert a.key_ids == b.key_ids
    assert a.wrap(b"k" * 32, AAD) == b.wrap(b"k" * 32, AAD)
