"""Local blob store: safe keys, private permissions, atomic writes, deletion leaves nothing."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from server.crypto.envelope import PURPOSE_VOICE_MODEL, KeyHierarchy, open_blob, seal_blob
from server.crypto.master import MasterKeyring
from server.errors import DecryptionError, NotFound
from server.storage.blobs import (
    BlobNotFound,
    BlobStore,
    InvalidBlobKey,
    LocalBlobStore,
    blob_key,
)

MODEL = "tenants/t1/voices/v1/model"


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if not p.is_dir()]


def test_round_trip_overwrite_and_protocol(store: LocalBlobStore) -> None:
    assert isinstance(store, BlobStore)
    store.put(MODEL, b"first")
    assert store.get(MODEL) == b"first" and store.exists(MODEL)
    store.put(MODEL, b"second")
    assert store.get(MODEL) == b"second"
    store.put("tenants/t1/consents/c1/recording", b"")
    assert store.get("tenants/t1/consents/c1/recording") == b""


def test_files_are_0600_and_directories_0700(store: LocalBlobStore) -> None:
    store.put(MODEL, b"x")
    assert _mode(store.root) == 0o700
    path = store.root / MODEL
    assert _mode(path) == 0o600
    for parent in path.parents:
        if parent == store.root:
            break
        assert _mode(parent) == 0o700
    assert not [p for p in _all_files(store.root) if p.name.startswith(".tmp-")]


@pytest.mark.parametrize(
    "key",
    ["../escape", "tenants/../../etc/passwd", "/etc/passwd", "tenants//v", "tenants/./v",
     "tenants/v/", "a\\b", "a/.hidden", "a/-flag", "a b", "tenants/t1/\x00", "é", "",
     "x" * 129, "/".join(["a"] * 17), ".tmp-abc", "tenants/.."],
)
def test_unsafe_keys_are_refused_everywhere(store: LocalBlobStore, key: str) -> None:
    for call in (lambda: store.put(key, b"x"), lambda: store.get(key),
                 lambda: store.exists(key), lambda: store.delete(key)):
        with pytest.raises(InvalidBlobKey):
            call()
    assert _all_files(store.root) == []


def test_keys_cannot_nest_under_other_keys(store: LocalBlobStore) -> None:
    store.put("a/b", b"x")
    with pytest.raises(InvalidBlobKey):
        store.put("a/b/c", b"y")
    with pytest.raises(InvalidBlobKey):
        store.put("a", b"y")
    assert store.get("a/b") == b"x"


def test_missing_blobs_raise_not_found(store: LocalBlobStore) -> None:
    with pytest.raises(BlobNotFound) as caught:
        store.get(MODEL)
    assert isinstance(caught.value, NotFound)
    assert "t1" not in str(caught.value)
    store.put(MODEL, b"x")
    with pytest.raises(BlobNotFound):
        store.get("tenants/t1/voices")
    with pytest.raises(BlobNotFound):
        store.get(MODEL + "/deeper")
    assert not store.exists("tenants/t1") and not store.delete("tenants/t2/none")


def test_symlinks_inside_the_store_are_not_followed(store: LocalBlobStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"do not read or shred me")
    (store.root / "tenants").mkdir()
    (store.root / "tenants" / "link").symlink_to(outside)
    with pytest.raises(OSError):
        store.get("tenants/link")
    assert not store.exists("tenants/link")
    assert list(store.iter_keys()) == []
    assert store.delete_prefix("tenants") == 0
    assert outside.read_bytes() == b"do not read or shred me"


def test_delete_overwrites_unlinks_and_prunes_empty_directories(store: LocalBlobStore) -> None:
    store.put(MODEL, b"secret" * 1000)
    store.put("tenants/t1/voices/v2/model", b"other")
    path = store.root / MODEL
    inode_before = path.stat().st_ino
    observed: list[bytes] = []
    real_unlink = os.unlink

    def spy_unlink(target: os.PathLike[str] | str, *args: object, **kwargs: object) -> None:
        if Path(target) == path:
            observed.append(Path(target).read_bytes())
        real_unlink(target, *args, **kwargs)  # type: ignore[arg-type]

    os.unlink = spy_unlink  # type: ignore[assignment]
    try:
        assert store.delete(MODEL) is True
    finally:
        os.unlink = real_unlink
    assert observed == [bytes(6000)], "content is zeroed before the file is unlinked"
    assert inode_before and not path.exists() and not path.parent.exists()
    assert (store.root / "tenants/t1/voices/v2").is_dir()
    assert store.delete(MODEL) is False


def test_delete_prefix_is_segment_aligned_and_leaves_nothing(store: LocalBlobStore) -> None:
    keys = ["tenants/t1/voices/v1/model", "tenants/t1/consents/c1/recording",
            "tenants/t10/voices/v9/model", "tenants/t2/voices/v1/model"]
    for key in keys:
        store.put(key, key.encode())
    (store.root / "tenants/t1/voices/v1/.tmp-leftover").write_bytes(b"partial")
    assert list(store.iter_keys("tenants/t1")) == sorted(keys[:2])
    assert store.delete_prefix("tenants/t1/") == 2
    assert not (store.root / "tenants/t1").exists()
    assert list(store.iter_keys()) == sorted(keys[2:])
    assert store.delete_prefix("tenants/t1") == 0
    assert store.delete_prefix("tenants/t10/voices/v9/model") == 1
    assert list(store.iter_keys()) == ["tenants/t2/voices/v1/model"]
    with pytest.raises(InvalidBlobKey):
        store.delete_prefix("")
    with pytest.raises(InvalidBlobKey):
        store.delete_prefix("/")
    assert store.delete_prefix("tenants") == 1
    assert _all_files(store.root) == [] and list(store.root.iterdir()) == []


def test_iter_keys_of_a_single_key_and_of_nothing(store: LocalBlobStore) -> None:
    store.put(MODEL, b"x")
    assert list(store.iter_keys(MODEL)) == [MODEL]
    assert list(store.iter_keys("tenants/nobody")) == []
    assert list(store.iter_keys("")) == [MODEL]


def test_blob_key_helper_validates(store: LocalBlobStore) -> None:
    assert blob_key("tenants", "t1", "voices", "v1", "model") == MODEL
    with pytest.raises(InvalidBlobKey):
        blob_key("tenants", "../t2")


def test_concurrent_puts_and_deletes_in_one_tenant_do_not_fail(store: LocalBlobStore) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(30):
                key = f"tenants/t1/voices/w{n}-{i}/model"
                store.put(key, b"x")
                assert store.delete(key)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(store.iter_keys()) == []


def test_sealed_blob_copied_to_another_voice_path_does_not_open(store: LocalBlobStore) -> None:
    hierarchy = KeyHierarchy(MasterKeyring.generate())
    tenant = hierarchy.new_tenant_key("t1").key
    v1, v2 = (hierarchy.new_object_key(tenant, v).key for v in ("v1", "v2"))
    store.put(blob_key("tenants", "t1", "voices", "v1", "model"),
              seal_blob(v1, PURPOSE_VOICE_MODEL, b"voice one"))
    store.put(blob_key("tenants", "t1", "voices", "v2", "model"),
              store.get("tenants/t1/voices/v1/model"))
    with pytest.raises(DecryptionError):
        open_blob(v2, PURPOSE_VOICE_MODEL, store.get("tenants/t1/voices/v2/model"))
    assert open_blob(v1, PURPOSE_VOICE_MODEL, store.get("tenants/t1/voices/v1/model")) == (
        b"voice one"
    )


def test_modified_at_reports_the_write_time(store: LocalBlobStore) -> None:
    before = time.time()
    store.put("t/a", b"x")
    assert before - 1 <= store.modified_at("t/a") <= time.time() + 1
    with pytest.raises(BlobNotFound):
        store.modified_at("t/missing")
