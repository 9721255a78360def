"""Key hierarchy: every wrapped key and blob opens only for its own tenant, object, purpose."""

from __future__ import annotations

import itertools
import pickle

import pytest

from server.crypto.envelope import (
    PURPOSE_CONSENT_RECORDING,
    PURPOSE_VOICE_MODEL,
    KeyHierarchy,
    open_blob,
    seal_blob,
)
from server.crypto.master import MasterKeyring
from server.errors import DecryptionError
from tests.server.crypto.conftest import CountingRandom


@pytest.fixture
def hierarchy() -> KeyHierarchy:
    return KeyHierarchy(MasterKeyring.generate())


def test_full_hierarchy_round_trip_through_stored_wrapped_keys(hierarchy: KeyHierarchy) -> None:
    issued_tenant = hierarchy.new_tenant_key("tenant-a")
    issued_voice = hierarchy.new_object_key(issued_tenant.key, "voice-1")
    sealed = seal_blob(issued_voice.key, PURPOSE_VOICE_MODEL, b"model weights")

    tenant = hierarchy.open_tenant_key("tenant-a", issued_tenant.wrapped)
    voice = hierarchy.open_object_key(tenant, "voice-1", issued_voice.wrapped)
    assert open_blob(voice, PURPOSE_VOICE_MODEL, sealed) == b"model weights"
    assert (voice.tenant_id, voice.object_id) == ("tenant-a", "voice-1")


def test_copies_across_tenants_objects_and_purposes_never_open(hierarchy: KeyHierarchy) -> None:
    tenants = {t: hierarchy.new_tenant_key(t) for t in ("ta", "tb")}
    objects = {
        (t, o): hierarchy.new_object_key(tenants[t].key, o) for t in tenants for o in ("v1", "v2")
    }
    purposes = (PURPOSE_VOICE_MODEL, PURPOSE_CONSENT_RECORDING)
    blobs = {(t, o, p): seal_blob(objects[t, o].key, p, f"{t}/{o}/{p}".encode())
             for (t, o), p in itertools.product(objects, purposes)}

    for (t, o, p), sealed in blobs.items():
        for (t2, o2, p2) in blobs:
            key = objects[t2, o2].key
            if (t, o, p) == (t2, o2, p2):
                assert open_blob(key, p2, sealed) == f"{t}/{o}/{p}".encode()
            else:
                with pytest.raises(DecryptionError):
                    open_blob(key, p2, sealed)

    for (t, o), issued in objects.items():
        for (t2, o2) in objects:
            if (t, o) != (t2, o2):
                with pytest.raises(DecryptionError):
                    hierarchy.open_object_key(tenants[t2].key, o2, issued.wrapped)
    with pytest.raises(DecryptionError):
        hierarchy.open_tenant_key("tb", tenants["ta"].wrapped)


def test_a_wrapped_object_key_is_not_a_blob_and_vice_versa(hierarchy: KeyHierarchy) -> None:
    tenant = hierarchy.new_tenant_key("t").key
    issued = hierarchy.new_object_key(tenant, "o")
    with pytest.raises(DecryptionError):
        open_blob(issued.key, PURPOSE_VOICE_MODEL, issued.wrapped)
    with pytest.raises(DecryptionError):
        hierarchy.open_tenant_key("t", issued.wrapped)


def test_tampered_or_truncated_blobs_give_the_opaque_error(hierarchy: KeyHierarchy) -> None:
    key = hierarchy.new_object_key(hierarchy.new_tenant_key("t").key, "o").key
    sealed = seal_blob(key, PURPOSE_VOICE_MODEL, b"x" * 100)
    for candidate in (sealed[:-1], sealed[:30], sealed + b"\x00",
                      sealed[:50] + bytes([sealed[50] ^ 0x80]) + sealed[51:]):
        with pytest.raises(DecryptionError):
            open_blob(key, PURPOSE_VOICE_MODEL, candidate)


def test_deleting_the_wrapped_object_key_shreds_the_blob(hierarchy: KeyHierarchy) -> None:
    tenant = hierarchy.new_tenant_key("t").key
    sealed = seal_blob(hierarchy.new_object_key(tenant, "voice").key, PURPOSE_VOICE_MODEL, b"m")
    replacement = hierarchy.new_object_key(tenant, "voice")  # same ids, new random key
    with pytest.raises(DecryptionError):
        open_blob(replacement.key, PURPOSE_VOICE_MODEL, sealed)


def test_master_rotation_rewraps_tenant_keys_and_old_data_stays_readable() -> None:
    old = KeyHierarchy(MasterKeyring.generate())
    issued = old.new_tenant_key("t")
    voice = old.new_object_key(issued.key, "v")
    sealed = seal_blob(voice.key, PURPOSE_VOICE_MODEL, b"model")

    rotated = KeyHierarchy(old.master.rotate())
    assert rotated.tenant_key_needs_rewrap(issued.wrapped)
    rewrapped = rotated.rewrap_tenant_key("t", issued.wrapped)
    assert not rotated.tenant_key_needs_rewrap(rewrapped)
    final = KeyHierarchy(rotated.master.retire(old.master.primary_key_id))
    tenant = final.open_tenant_key("t", rewrapped)
    data_key = final.open_object_key(tenant, "v", voice.wrapped)
    assert open_blob(data_key, PURPOSE_VOICE_MODEL, sealed) == b"model"
    with pytest.raises(DecryptionError):
        final.open_tenant_key("t", issued.wrapped)


def test_seeded_randomness_gives_identical_outputs() -> None:
    def run() -> tuple[bytes, bytes, bytes]:
        h = KeyHierarchy(MasterKeyring.generate(random=CountingRandom()),
                         random=CountingRandom(b"h"))
        t = h.new_tenant_key("t")
        o = h.new_object_key(t.key, "o")
        return t.wrapped, o.wrapped, seal_blob(o.key, PURPOSE_VOICE_MODEL, b"m")

    assert run() == run()


def test_keys_hide_their_bytes_and_refuse_pickling(hierarchy: KeyHierarchy) -> None:
    issued_tenant = hierarchy.new_tenant_key("t")
    issued = hierarchy.new_object_key(issued_tenant.key, "o")
    text = repr(issued) + repr(issued_tenant) + str(issued.key)
    assert "key_id=" in text and "'o'" in text
    for key in (issued.key, issued_tenant.key):
        with pytest.raises(TypeError):
            pickle.dumps(key)


@pytest.mark.parametrize("purpose", ["", "Voice", "a/b", "x" * 65, "tenant key"])
def test_bad_purposes_and_ids_are_refused(hierarchy: KeyHierarchy, purpose: str) -> None:
    key = hierarchy.new_object_key(hierarchy.new_tenant_key("t").key, "o").key
    with pytest.raises(ValueError):
        seal_blob(key, purpose, b"x")
    with pytest.raises(ValueError):
        hierarchy.new_tenant_key("")
