"""The GPT-SoVITS voice model's byte format."""

from __future__ import annotations

import io

import numpy as np
import pytest

from server.engines.gpt_sovits.voice import VoicePrompt
from server.errors import FailedPrecondition


def _voice(with_embedding: bool) -> VoicePrompt:
    rng = np.random.default_rng(1)
    return VoicePrompt(
        language="zh", text="今天天气很好。", reference=rng.standard_normal(60_000).astype(np.float32),
        phone_ids=(1, 2, 3), prompt_codes=rng.integers(0, 1024, 180),
        sv_embedding=rng.standard_normal(20480).astype(np.float32) if with_embedding else None,
        variant="v2Pro" if with_embedding else "v2", fingerprint="abc",
    )


@pytest.mark.parametrize("with_embedding", [False, True])
def test_round_trip_keeps_every_field_exactly(with_embedding: bool) -> None:
    voice = _voice(with_embedding)
    back = VoicePrompt.from_bytes(voice.to_bytes())
    assert (back.language, back.text, back.phone_ids, back.variant, back.fingerprint) == (
        voice.language, voice.text, voice.phone_ids, voice.variant, voice.fingerprint)
    np.testing.assert_array_equal(back.reference, voice.reference)
    np.testing.assert_array_equal(back.prompt_codes, voice.prompt_codes)
    if with_embedding:
        np.testing.assert_array_equal(back.sv_embedding, voice.sv_embedding)
    else:
        assert back.sv_embedding is None
    assert back.matches("v2Pro" if with_embedding else "v2", "abc")
    assert not back.matches(back.variant, "other models")


def test_garbage_and_pickles_are_refused() -> None:
    with pytest.raises(FailedPrecondition, match="corrupt"):
        VoicePrompt.from_bytes(b"not an archive")
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array([{"format": 1}], dtype=object))  # needs pickle to read
    with pytest.raises(FailedPrecondition, match="corrupt"):
        VoicePrompt.from_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(buffer, header=np.frombuffer(b'{"format": 99}', dtype=np.uint8))
    with pytest.raises(FailedPrecondition, match="format 99"):
        VoicePrompt.from_bytes(buffer.getvalue())
