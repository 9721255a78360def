"""Embedding: one-piece :func:`embed` and chunk-by-chunk :class:`StreamingEmbedder`.

Both run the same per-frame code: each 40 ms frame's 500-3300 Hz bins are scaled by
``exp(+-depth)`` following the key's pattern at that frame's position in the 3 s period
(with the change of strong bins capped, see ``PEAK_CAP``, and the depth chosen per frame
so that the mark sits ``MARK_BELOW_FRAME_DB`` below the frame, see :func:`frame_depths`),
only the *difference* is synthesised (windowed inverse FFT, overlap-add) and added to the
untouched input. A frame's change depends on that frame alone, so the streaming embedder
holds back at most two hops (40 ms of audio) and its output is sample-identical to
:func:`embed` on the concatenated input.
"""

from __future__ import annotations

import numpy as np

from server.errors import InvalidArgument, InvalidAudio
from server.watermark.coding import PAYLOAD_BYTES, bytes_to_bits, encode, tag
from server.watermark.framing import check_samples, frame_matrix, frames_needed, hop_for, window
from server.watermark.keys import Keyring, WatermarkKey
from server.watermark.scheme import (
    DEPTH,
    DEPTH_RANGE,
    HIGH_BIN,
    LOW_BIN,
    MARK_BELOW_FRAME_DB,
    PEAK_CAP,
    PERIOD_FRAMES,
    layout_for,
)

#: Shortest clip that can carry any of the mark (one full frame).
MIN_EMBED_SECONDS = 0.04


def check_payload(payload: bytes) -> bytes:
    """Return ``payload`` if it is exactly 8 bytes; raise :class:`InvalidArgument` otherwise."""
    if not isinstance(payload, bytes | bytearray):
        raise InvalidArgument(f"watermark payload must be {PAYLOAD_BYTES} bytes, not {type(payload).__name__}")
    if len(payload) != PAYLOAD_BYTES:
        raise InvalidArgument(
            f"watermark payload must be exactly {PAYLOAD_BYTES} bytes (a 64-bit generation id), "
            f"got {len(payload)}"
        )
    return bytes(payload)


def modulation_for(key: WatermarkKey, payload: bytes) -> np.ndarray:
    """The +-1 cell pattern of one period that marks ``payload`` with ``key``."""
    info = bytes_to_bits(payload + tag(key.derive("tag"), payload))
    return layout_for(key.derive("pattern")).modulation(encode(info))


def _mark_frames(frames: np.ndarray, first_index: int, modulation: np.ndarray) -> np.ndarray:
    """Windowed synthesis frames of the mark for consecutive windowed ``frames``."""
    frame_length = frames.shape[1]
    spectrum = np.fft.rfft(frames, axis=1)
    positions = (first_index + np.arange(frames.shape[0])) % PERIOD_FRAMES
    band = spectrum[:, LOW_BIN:HIGH_BIN]
    magnitude = np.abs(band)
    # Strong bins (spectral peaks) get the same absolute change as a bin at PEAK_CAP times
    # the frame's band RMS: peaks hold most of the energy, so this keeps the mark's power
    # (the SNR) low, while weaker bins, masked by those peaks, carry the full relative depth.
    reference = PEAK_CAP * np.sqrt(np.mean(magnitude**2, axis=1, keepdims=True))
    cap = np.minimum(1.0, reference / np.maximum(magnitude, 1e-30))
    gain = np.expm1(frame_depths(spectrum, magnitude, cap) * modulation[positions]) * cap
    change = np.zeros_like(spectrum)
    change[:, LOW_BIN:HIGH_BIN] = band * gain
    return np.fft.irfft(change, n=frame_length, axis=1) * window(frame_length)


def frame_depths(spectrum: np.ndarray, band_magnitude: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Per-frame depth (column vector) that puts each frame's mark MARK_BELOW_FRAME_DB below it.

    The mark's energy at depth ``d`` is close to ``(d / DEPTH) ** 2`` times its energy at
    ``DEPTH``, so one probe at ``DEPTH`` gives the depth that spends the frame's share of
    the SNR budget. Loud frames with most of their energy in the band get a shallower
    mark, quiet frames and frames whose energy lies outside the band a deeper one, within
    ``DEPTH_RANGE`` times ``DEPTH``.
    """
    probe = np.sum((band_magnitude * np.expm1(DEPTH) * cap) ** 2, axis=1, keepdims=True)
    frame_energy = np.sum(np.abs(spectrum) ** 2, axis=1, keepdims=True)
    allowed = frame_energy * 10.0 ** (-MARK_BELOW_FRAME_DB / 10.0)
    scale = np.sqrt(allowed / np.maximum(probe, 1e-30))
    return DEPTH * np.clip(scale, *DEPTH_RANGE)


def _overlap_add(delta_frames: np.ndarray, hop: int) -> np.ndarray:
    """Overlap-add ``n`` frames of length ``2 * hop``; returns ``(n + 1) * hop`` samples."""
    count = delta_frames.shape[0]
    halves = delta_frames.reshape(count, 2, hop)
    out = np.zeros((count + 1, hop))
    out[:count] += halves[:, 0]
    out[1:] += halves[:, 1]
    return out.reshape(-1)


def embed(samples: np.ndarray, sample_rate: int, payload: bytes, keyring: Keyring) -> np.ndarray:
    """Mark mono audio with ``payload`` under the keyring's primary key.

    Returns float32 samples of the same length. Raises :class:`InvalidAudio` for empty,
    too short (< 40 ms) or non-finite audio and unsupported rates, and
    :class:`InvalidArgument` for a payload that is not 8 bytes.
    """
    embedder = StreamingEmbedder(keyring, payload, sample_rate)
    audio = check_samples(samples, sample_rate, MIN_EMBED_SECONDS, "watermarking")
    head = embedder.push(audio)
    return np.concatenate([head, embedder.finish()])


class StreamingEmbedder:
    """Marks audio chunk by chunk; the concatenated output equals :func:`embed` exactly.

    ``push`` returns the marked samples that are final so far (all but the last 20-40 ms
    it has received); ``finish`` returns the rest. Chunks may have any length, including 0.
    """

    def __init__(self, keyring: Keyring, payload: bytes, sample_rate: int) -> None:
        if not isinstance(keyring, Keyring):
            raise InvalidArgument("a watermark keyring is required to embed")
        self._hop = hop_for(sample_rate)
        self._sample_rate = int(sample_rate)
        self._modulation = modulation_for(keyring.primary, check_payload(payload))
        # Zero-padded input from the start of the next unprocessed frame onward.
        self._buffer = np.zeros(self._hop, dtype=np.float32)
        self._next_frame = 0
        self._tail = np.zeros(self._hop)
        self._received = 0
        self._finished = False

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Add input samples; returns the marked samples that are now final (float32)."""
        if self._finished:
            raise InvalidArgument("this streaming embedder is finished; start a new one")
        array = np.asarray(chunk)
        if array.size == 0:
            return np.zeros(0, dtype=np.float32)
        audio = check_samples(array, self._sample_rate, 0.0, "watermarking")
        self._received += audio.size
        self._buffer = np.concatenate([self._buffer, audio])
        return self._process(final=False)

    def finish(self) -> np.ndarray:
        """Mark and return the held-back end of the stream; the embedder cannot be reused."""
        if self._finished:
            raise InvalidArgument("this streaming embedder is already finished")
        self._finished = True
        seconds = self._received / self._sample_rate
        if seconds < MIN_EMBED_SECONDS:
            raise InvalidAudio(
                f"audio is {seconds:.3f} s long; watermarking needs at least {MIN_EMBED_SECONDS:g} s"
            )
        total_frames = frames_needed(self._received, self._hop)
        padded_end = (total_frames + 1) * self._hop - self._next_frame * self._hop
        self._buffer = np.concatenate(
            [self._buffer, np.zeros(padded_end - self._buffer.size, dtype=np.float32)]
        )
        return self._process(final=True)

    def _process(self, *, final: bool) -> np.ndarray:
        hop = self._hop
        count = (self._buffer.size - 2 * hop) // hop + 1 if self._buffer.size >= 2 * hop else 0
        if count <= 0:
            return np.zeros(0, dtype=np.float32)
        frames = frame_matrix(self._buffer.astype(np.float64), hop, count)
        mark = _overlap_add(_mark_frames(frames, self._next_frame, self._modulation), hop)
        mark[:hop] += self._tail
        ready = count * hop
        start = self._next_frame * hop - hop  # clip position of the first ready sample
        marked = (self._buffer[:ready].astype(np.float64) + mark[:ready]).astype(np.float32)
        self._tail = mark[ready:].copy()
        self._buffer = self._buffer[ready:]
        self._next_frame += count
        lo = max(0, -start)
        hi = min(ready, self._received - start)
        if final:
            self._buffer = np.zeros(0, dtype=np.float32)
        return marked[lo:hi] if hi > lo else np.zeros(0, dtype=np.float32)
