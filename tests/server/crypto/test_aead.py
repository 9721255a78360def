"""AES-GCM tokens: round trips, canonical associated data, and one opaque failure mode."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from server.crypto.aead import (
    NONCE_SIZE,
    TOKEN_OVERHEAD,
    TOKEN_VERSION,
    SealingKey,
    associated_data,
    token_key_id,
)
from server.errors import DecryptionError
from tests.server.crypto.conftest import CountingRandom

AAD = associated_data("blob", tenant="t1", object="o1")


def _key(seed: bytes = b"k") -> SealingKey:
    return SealingKey.generate(random=CountingRandom(seed))[0]


def test_round_trip_and_token_layout() -> None:
    key = _key()
    token = key.seal(b"voice model bytes", AAD)
    assert len(token) == TOKEN_OVERHEAD + len(b"voice model bytes")
    assert token[0] == TOKEN_VERSION
    assert token_key_id(token) == key.key_id
    assert key.open(token, AAD) == b"voice model bytes"
    assert key.open(key.seal(b"", AAD), AAD) == b""


def test_injected_randomness_makes_tokens_reproducible_and_default_nonces_differ() -> None:
    material = os.urandom(32)
    first = SealingKey(material, random=CountingRandom()).seal(b"x", AAD)
    second = SealingKey(material, random=CountingRandom()).seal(b"x", AAD)
    assert first == second
    real = SealingKey(material)
    a, b = real.seal(b"x", AAD), real.seal(b"x", AAD)
    assert a[9 : 9 + NONCE_SIZE] != b[9 : 9 + NONCE_SIZE]


def _failures(key: SealingKey, token: bytes) -> list[tuple[SealingKey, bytes, object]]:
    flipped = [bytes(token[:i]) + bytes([token[i] ^ 0x01]) + token[i + 1 :]
               for i in range(len(token))]
    return (
        [(key, t, AAD) for t in flipped]
        + [(key, token[:cut], AAD) for cut in (0, 1, 9, 21, TOKEN_OVERHEAD - 1, len(token) - 1)]
        + [(key, token + b"\x00", AAD)]
        + [(_key(b"other"), token, AAD)]
        + [(key, token, associated_data("blob", tenant="t2", object="o1"))]
        + [(key, token, associated_data("blob", tenant="t1", object="o2"))]
        + [(key, token, associated_data("other", tenant="t1", object="o1"))]
        + [(key, token, associated_data("blob", tenant="t1"))]
    )


def test_every_failure_is_the_same_opaque_error() -> None:
    key = _key()
    token = key.seal(b"secret payload", AAD)
    messages = set()
    for opener, candidate, aad in _failures(key, token):
        with pytest.raises(DecryptionError) as caught:
            opener.open(candidate, aad)
        messages.add(str(caught.value))
    assert len(messages) == 1
    assert "tag" not in messages.pop().lower()


def test_associated_data_is_canonical_and_unambiguous() -> None:
    assert associated_data("p", a="1", b="2") == associated_data("p", b="2", a="1")
    encodings = {
        associated_data("p", tenant="a", object="bc").encoded,
        associated_data("p", tenant="ab", object="c").encoded,
        associated_data("p", tenant="abc").encoded,
        associated_data("pt", enant="abc").encoded,
        associated_data("p", tenant="a", objec="tbc").encoded,
    }
    assert len(encodings) == 5


@pytest.mark.parametrize(
    "build",
    [lambda: associated_data(""), lambda: associated_data("p", tenant=""),
     lambda: associated_data("p", tenant=None)],  # type: ignore[arg-type]
)
def test_associated_data_refuses_empty_or_non_string_parts(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        build()


def test_associated_data_is_required_and_must_be_canonical() -> None:
    key = _key()
    with pytest.raises(TypeError):
        key.seal(b"x", b"raw bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        key.seal(b"x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        key.open(key.seal(b"x", AAD), AAD.encoded)  # type: ignore[arg-type]


def test_key_bytes_never_appear_in_repr_and_keys_are_not_picklable() -> None:
    import pickle

    material = bytes(range(32))
    key = SealingKey(material)
    text = repr(key) + str(key)
    assert material.hex() not in text and repr(material) not in text
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_bad_key_sizes_and_short_random_sources_are_refused() -> None:
    with pytest.raises(ValueError):
        SealingKey(b"short")
    with pytest.raises(ValueError):
        SealingKey(os.urandom(32), random=lambda n: b"\x00" * (n - 1)).seal(b"x", AAD)


def test_a_field_may_itself_be_called_purpose() -> None:
    with_field = associated_data("blob", purpose="voice-model")
    assert with_field != associated_data("voice-model")
    assert with_field.purpose == "blob"
