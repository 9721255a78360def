"""Fuzzing the audio decoder: any bytes either decode or raise InvalidAudio, nothing else.

Bounded in time (a few hundred examples, no deadline per example) so it runs in CI; the
corpus of inputs that once failed lives in tests/fixtures/audio_corpus.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.audio import Audio
from server.audio.codecs import decode_audio
from server.errors import InvalidAudio

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "audio_corpus"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decodes_or_refuses(data: bytes) -> None:
    try:
        audio = decode_audio(data, max_seconds=5.0)
    except InvalidAudio as error:
        assert error.message and "Traceback" not in error.message
        return
    assert isinstance(audio, Audio) and np.isfinite(audio.samples).all()


def _wav(tag: int, channels: int, rate: int, bits: int, fmt_extra: bytes, data: bytes,
         fmt_size: int | None) -> bytes:
    block = max(1, channels * max(bits, 8) // 8)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF,
                      bits) + fmt_extra
    size = len(fmt) if fmt_size is None else fmt_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", size) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.wav")), ids=lambda p: p.stem)
def test_corpus_inputs_are_refused_cleanly(path: Path) -> None:
    with pytest.raises(InvalidAudio):
        decode_audio(path.read_bytes())


@FUZZ
@given(
    tag=st.sampled_from([0, 1, 2, 3, 6, 7, 0x11, 0x55, 0xFFFE, 0x1234]) | st.integers(0, 0xFFFF),
    channels=st.integers(0, 9),
    rate=st.sampled_from([0, 1, 8000, 16000, 44100, 48000, 96000, 2**31]),
    bits=st.sampled_from([0, 1, 4, 8, 12, 16, 20, 24, 32, 64]),
    fmt_extra=st.binary(max_size=40),
    data=st.binary(max_size=4000),
    fmt_size=st.none() | st.integers(0, 80),
)
def test_wav_headers_of_any_shape(tag: int, channels: int, rate: int, bits: int, fmt_extra: bytes,
                                  data: bytes, fmt_size: int | None) -> None:
    _decodes_or_refuses(_wav(tag, channels, rate, bits, fmt_extra, data, fmt_size))


def _valid_file(fmt: str) -> bytes:
    buffer = io.BytesIO()
    tone = (0.3 * np.sin(np.arange(8000) * 0.05)).astype(np.float32)
    sf.write(buffer, tone, 16000, format=fmt)
    return buffer.getvalue()


VALID = {fmt: _valid_file(fmt) for fmt in ("WAV", "FLAC", "OGG")}


@FUZZ
@given(fmt=st.sampled_from(sorted(VALID)), flips=st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=12),
    cut=st.none() | st.integers(0, 10_000))
def test_mutated_real_files(fmt: str, flips: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(VALID[fmt])
    for position, value in flips:
        data[position % len(data)] = value
    _decodes_or_refuses(bytes(data[:cut] if cut is not None else data))


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    _decodes_or_refuses(data)
