"""Decoding uploaded audio bytes and encoding output audio.

libsndfile (through ``soundfile``) reads and writes WAV, FLAC, Ogg (Vorbis, Opus) and MP3
without any system package; PyAV (FFmpeg inside its wheel) is the fallback reader for
anything else a client may send (AAC/M4A, WebM). Both are deliberate: hand-written
container parsing is where audio services usually break.
"""

from __future__ import annotations

import enum
import io
from typing import BinaryIO

import av
import numpy as np
import soundfile as sf

from server.audio.signal import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Audio, resample, to_mono_float32
from server.errors import InvalidAudio

OPUS_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)


class AudioFormat(enum.Enum):
    """Output container/codec choices offered by the API."""

    WAV = "wav"
    PCM16 = "pcm16"
    FLAC = "flac"
    OGG_OPUS = "ogg_opus"
    MP3 = "mp3"


#: Longest audio decoded for a caller that sets no tighter limit.
DEFAULT_MAX_SECONDS = 3600.0
#: Uploads are mono or stereo; more channels are refused before decoding.
MAX_CHANNELS = 2


def decode_audio(data: bytes, *, max_seconds: float | None = None) -> Audio:
    """Decode WAV/FLAC/Ogg/MP3 (or anything FFmpeg reads) bytes into mono float32 audio.

    Raises :class:`InvalidAudio` with a caller-facing message for empty, undecodable,
    truncated, over-long or non-finite input, for more than two channels and for sample
    rates outside 8-48 kHz. Rate, channels and length are checked while decoding, so a
    small file that claims hours of audio is refused without being expanded in memory.
    """
    if not data:
        raise InvalidAudio("audio is empty; send WAV, FLAC, Ogg or MP3 bytes")
    limit = DEFAULT_MAX_SECONDS if max_seconds is None else float(max_seconds)
    try:
        samples, rate = _decode_with_soundfile(data, limit)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        samples, rate = _decode_with_pyav(data, limit)
    mono = to_mono_float32(samples)
    if mono.size == 0:
        raise InvalidAudio("audio has no samples; send at least a few seconds of sound")
    return Audio(samples=mono, sample_rate=int(rate))


def _check_stream(rate: int, channels: int) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise InvalidAudio(
            f"sample rate {rate} Hz is not supported; use {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )
    if channels > MAX_CHANNELS:
        raise InvalidAudio(f"audio has {channels} channels; send mono or stereo")


def _too_long(limit: float) -> InvalidAudio:
    return InvalidAudio(f"audio is longer than the limit of {limit:.0f} s; send a shorter clip")


def _decode_with_soundfile(data: bytes, limit: float) -> tuple[np.ndarray, int]:
    with sf.SoundFile(io.BytesIO(data)) as handle:
        rate = int(handle.samplerate)
        _check_stream(rate, handle.channels)
        allowed = int(limit * rate)
        # One frame more than allowed tells an over-long file from one exactly at the limit,
        # whatever length its header claims.
        samples = handle.read(frames=allowed + 1, dtype="float32", always_2d=True)
    if len(samples) > allowed:
        raise _too_long(limit)
    return samples, rate


def _decode_with_pyav(data: bytes, limit: float) -> tuple[np.ndarray, int]:
    return decode_with_ffmpeg(io.BytesIO(data), max_seconds=limit)


def decode_with_ffmpeg(source: BinaryIO | str, *, sample_rate: int | None = None,
                       max_seconds: float = DEFAULT_MAX_SECONDS) -> tuple[np.ndarray, int]:
    """Decode with FFmpeg (PyAV): mono float32 at ``sample_rate`` (default: the file's rate).

    The down-mix and resampling are FFmpeg's defaults (libswresample), so the samples equal
    what ``ffmpeg -i FILE -ac 1 -ar RATE -f f32le -`` prints, which is how the official
    GPT-SoVITS data preparation loads its audio. Same checks and errors as
    :func:`decode_audio`; ``max_seconds`` is counted in output samples.
    """
    try:
        with av.open(source, mode="r") as container:
            streams = container.streams.audio
            if not streams:
                raise InvalidAudio("the file has no audio stream")
            stream = streams[0]
            if stream.codec_context is None:  # FFmpeg found no decoder for this stream
                raise InvalidAudio(
                    "audio uses an unknown or malformed encoding; send PCM WAV, FLAC, Ogg or MP3"
                )
            rate = int(stream.codec_context.sample_rate or 0)
            _check_stream(rate, int(stream.codec_context.channels or 1))
            out_rate = int(sample_rate or rate)
            allowed = int(max_seconds * out_rate)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=out_rate)
            parts: list[np.ndarray] = []
            decoded = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1))
                    decoded += parts[-1].size
                if decoded > allowed:
                    raise _too_long(max_seconds)
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1))
    except InvalidAudio:
        raise
    except Exception as exc:  # untrusted bytes: any decoder failure means bad input
        raise InvalidAudio(
            "audio could not be decoded; send a complete WAV, FLAC, Ogg or MP3 file"
        ) from exc
    if not parts:
        raise InvalidAudio("audio could not be decoded; the file holds no audio frames")
    samples = np.concatenate(parts)
    if samples.size > allowed:
        raise _too_long(max_seconds)
    return samples, out_rate


def encode_audio(samples: np.ndarray, sample_rate: int, fmt: AudioFormat) -> tuple[bytes, int]:
    """Encode mono float32 samples; returns the bytes and the sample rate they carry.

    Ogg Opus supports only 8/12/16/24/48 kHz, so other rates are resampled up to the
    next supported rate (the returned rate says which).
    """
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    if fmt is AudioFormat.PCM16:
        return (clipped * 32767.0).round().astype("<i2").tobytes(), sample_rate
    if fmt is AudioFormat.OGG_OPUS and sample_rate not in OPUS_RATES:
        target = next((rate for rate in OPUS_RATES if rate >= sample_rate), 48_000)
        clipped = resample(clipped, sample_rate, target)
        sample_rate = target
    container, subtype = _SOUNDFILE_FORMATS[fmt]
    buffer = io.BytesIO()
    sf.write(buffer, clipped, sample_rate, format=container, subtype=subtype)
    return buffer.getvalue(), sample_rate


_SOUNDFILE_FORMATS: dict[AudioFormat, tuple[str, str]] = {
    AudioFormat.WAV: ("WAV", "PCM_16"),
    AudioFormat.FLAC: ("FLAC", "PCM_16"),
    AudioFormat.OGG_OPUS: ("OGG", "OPUS"),
    AudioFormat.MP3: ("MP3", "MPEG_LAYER_III"),
}
