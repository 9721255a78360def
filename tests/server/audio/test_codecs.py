"""Round trips and refusals of the audio codec layer."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import soundfile as sf

from server.audio import AudioFormat, decode_audio, encode_audio, resample
from server.errors import InvalidAudio

RATE = 22_050


def _tone(seconds: float = 1.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)


@pytest.mark.parametrize("fmt", [AudioFormat.WAV, AudioFormat.FLAC, AudioFormat.OGG_OPUS, AudioFormat.MP3])
def test_encoded_audio_decodes_back_to_the_same_length_and_energy(fmt: AudioFormat) -> None:
    tone = _tone()
    data, rate = encode_audio(tone, RATE, fmt)
    decoded = decode_audio(data)
    assert decoded.sample_rate == rate
    expected = len(tone) * rate / RATE
    assert abs(len(decoded.samples) - expected) / expected < 0.1
    rms_in = float(np.sqrt(np.mean(tone**2)))
    rms_out = float(np.sqrt(np.mean(decoded.samples**2)))
    assert rms_out == pytest.approx(rms_in, rel=0.15)


def test_lossless_formats_are_sample_exact_at_16_bit() -> None:
    tone = _tone()
    for fmt in (AudioFormat.WAV, AudioFormat.FLAC):
        decoded = decode_audio(encode_audio(tone, RATE, fmt)[0])
        assert np.max(np.abs(decoded.samples - tone)) < 1.0 / 32767 + 1e-6


def test_pcm16_is_little_endian_int16() -> None:
    data, rate = encode_audio(np.array([0.0, 0.5, -1.0], dtype=np.float32), RATE, AudioFormat.PCM16)
    assert rate == RATE
    assert np.frombuffer(data, "<i2").tolist() == [0, 16384, -32767]


def test_stereo_is_mixed_to_mono() -> None:
    stereo = np.stack([_tone(), np.zeros(RATE, dtype=np.float32)], axis=1)
    buffer = io.BytesIO()
    sf.write(buffer, stereo, RATE, format="WAV")
    decoded = decode_audio(buffer.getvalue())
    assert decoded.samples.ndim == 1
    assert np.allclose(decoded.samples, _tone() / 2, atol=1e-3)


@pytest.mark.parametrize("data", [b"", b"not audio at all" * 50, b"RIFF\x00\x00"])
def test_garbage_empty_and_truncated_headers_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidAudio):
        decode_audio(data)


def test_nan_samples_are_refused() -> None:
    samples = _tone()
    samples[100] = np.nan
    buffer = io.BytesIO()
    sf.write(buffer, samples, RATE, format="WAV", subtype="FLOAT")
    with pytest.raises(InvalidAudio, match="NaN"):
        decode_audio(buffer.getvalue())


@pytest.mark.parametrize("fmt", [AudioFormat.WAV, AudioFormat.MP3])
def test_over_long_audio_is_refused_with_the_limit(fmt: AudioFormat) -> None:
    data, _ = encode_audio(_tone(3.0), RATE, fmt)
    with pytest.raises(InvalidAudio, match="limit of 2 s"):
        decode_audio(data, max_seconds=2.0)
    assert decode_audio(data, max_seconds=4.0).duration_seconds == pytest.approx(3.0, abs=0.1)


def test_a_tiny_file_claiming_hours_is_refused_without_expanding_it() -> None:
    # Ten minutes of 48 kHz silence compress to a few tens of kilobytes of FLAC.
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(600 * 48_000, dtype=np.int16), 48_000, format="FLAC")
    data = buffer.getvalue()
    assert len(data) < 200_000
    started = time.perf_counter()
    with pytest.raises(InvalidAudio, match="limit of 60 s"):
        decode_audio(data, max_seconds=60.0)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    ("channels", "rate", "message"),
    [(6, RATE, "6 channels; send mono or stereo"), (1, 96_000, "96000 Hz is not supported")],
)
def test_surround_and_high_rate_uploads_are_refused(channels: int, rate: int, message: str) -> None:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros((rate // 10, channels), dtype=np.float32), rate, format="WAV")
    with pytest.raises(InvalidAudio, match=message):
        decode_audio(buffer.getvalue())


def test_resample_keeps_duration_and_pitch() -> None:
    out = resample(_tone(1.0, 48_000), 48_000, 16_000)
    assert len(out) == 16_000
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(int(np.argmax(spectrum)) - 220) <= 1
