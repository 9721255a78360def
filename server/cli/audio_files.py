"""Audio files on the client side: enrollment uploads and streamed synthesis output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from server.cli.rpc import file_chunks

ENROLL_CHUNK_BYTES = 256 * 1024


def enrollment_payload(paths: list[Path]) -> Iterator[bytes]:
    """The enrollment audio in chunks: one file as is, several joined into one FLAC."""
    if len(paths) == 1:
        yield from file_chunks(paths[0], ENROLL_CHUNK_BYTES)
        return
    data = join_as_flac(paths)
    for start in range(0, len(data), ENROLL_CHUNK_BYTES):
        yield data[start:start + ENROLL_CHUNK_BYTES]


def join_as_flac(paths: list[Path]) -> bytes:
    """Decode every file, bring them to the highest of their rates, and encode one FLAC."""
    from server.audio import AudioFormat, decode_audio, encode_audio, resample

    clips = [decode_audio(path.read_bytes()) for path in paths]
    rate = max(clip.sample_rate for clip in clips)
    joined = np.concatenate([resample(c.samples, c.sample_rate, rate) if c.sample_rate != rate
                             else c.samples for c in clips])
    return encode_audio(joined, rate, AudioFormat.FLAC)[0]


def pcm16_to_format(pcm: bytes, rate: int, fmt: str) -> tuple[bytes, int]:
    """Streamed PCM16 chunks joined into the requested format."""
    if fmt == "pcm16":
        return pcm, rate
    from server.audio import AudioFormat, encode_audio

    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    return encode_audio(samples, rate, AudioFormat(fmt))
