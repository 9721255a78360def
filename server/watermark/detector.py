"""Detection: find the key's pattern in a clip cut anywhere and decode the payload.

The clip is resampled to 8 kHz and analysed on several sub-hop frame grids (2.5 ms
apart). Because the pattern repeats every 3 s, all frames are folded onto one period;
the keyed sync cells then give a z-score for every possible period phase (a circular
correlation), and the best few (grid, phase) candidates are decoded with the Viterbi
decoder. A decode counts only if its 32-bit keyed tag matches, which bounds the chance
that unmarked audio yields an id (see :attr:`Detection.false_positive_bound`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from server.audio import resample
from server.errors import InvalidArgument, InvalidAudio
from server.watermark.coding import (
    CODED_BITS,
    PAYLOAD_BYTES,
    TAG_BYTES,
    bits_to_bytes,
    encode,
    tag,
    viterbi,
)
from server.watermark.features import DETECT_HOP, OFFSET_STEP, cell_features
from server.watermark.framing import MAX_RATE, MIN_RATE, check_samples
from server.watermark.keys import Keyring, WatermarkKey
from server.watermark.scheme import (
    DETECT_RATE,
    FRAMES_PER_SECOND,
    PERIOD_FRAMES,
    Layout,
    layout_for,
)

#: Shortest clip the detector accepts; see docs/watermark.md for what decodes reliably.
MIN_DETECT_SECONDS = 1.0
#: Decoding attempts per key (best sync candidates); enters the false-positive bound.
DECODE_ATTEMPTS = 2
#: Per-second z-score above which a stretch of audio counts as carrying the found mark.
REGION_Z = 3.0
COARSE_SPEEDS = tuple(round(0.94 + 0.005 * i, 4) for i in range(25))
COARSE_SECONDS = 4
COARSE_KEEP = 2
FINE_STEPS = (-0.003, -0.002, -0.001, 0.0, 0.001, 0.002, 0.003)
#: The speed search of :func:`detect_any_speed` looks at most at this much of a clip.
SPEED_SEARCH_MAX_SECONDS = 60.0


@dataclass(frozen=True)
class Detection:
    """Result of :func:`detect`.

    ``payload`` is the 8-byte generation id when ``detected``. ``confidence`` in [0, 1] is
    how cleanly the coded bits came through (0: no evidence, 1: every coded bit agrees
    with the decoded id). ``start_seconds``/``end_seconds`` bound the part of the clip
    where the mark was found. ``sync_z`` is the sync correlation's z-score of the best
    candidate; ``false_positive_bound`` is the probability bound that unmarked audio would
    produce any valid decode in this call (decoding attempts times 2**-32).
    """

    detected: bool
    payload: bytes | None
    key_id: str | None
    confidence: float
    start_seconds: float | None
    end_seconds: float | None
    sync_z: float
    false_positive_bound: float
    speed: float = 1.0

    @property
    def payload_hex(self) -> str | None:
        """The payload as 16 lowercase hex digits (the generation id), or ``None``."""
        return self.payload.hex() if self.payload is not None else None


@dataclass(frozen=True)
class _Candidate:
    z: float
    offset: int
    phase: int
    folded: np.ndarray


def detect(
    samples: np.ndarray, sample_rate: int, keyring: Keyring, *, speed_search: bool = False
) -> Detection:
    """Look for a voxguard watermark of any key in ``keyring`` and decode its payload.

    Accepts mono audio at any integer rate from 8 to 192 kHz, at least 1 s long. With
    ``speed_search`` it also tries replay speeds from 0.94 to 1.06 (resampled playback),
    which costs roughly 20 times the plain detection time. Raises :class:`InvalidAudio` for
    empty, too short, or non-finite audio.
    """
    if not isinstance(keyring, Keyring):
        raise InvalidArgument("a watermark keyring is required to detect")
    rate = _check_rate(sample_rate)
    audio = check_samples(samples, rate, MIN_DETECT_SECONDS, "watermark detection")
    audio_8k = resample(audio, rate, DETECT_RATE).astype(np.float64)
    plain = (1.0, _grids(audio_8k, OFFSET_STEP))
    bound = DECODE_ATTEMPTS * len(keyring.keys) * 2.0 ** (-8 * TAG_BYTES)
    best_z = -np.inf
    for key in keyring.keys:
        layout = layout_for(key.derive("pattern"))
        analyses = [plain, *(_speed_analyses(audio_8k, layout) if speed_search else [])]
        ranked = sorted(
            ((candidate, speed, grids) for speed, grids in analyses for candidate in _sync_candidates(grids, layout)),
            key=lambda item: item[0].z,
            reverse=True,
        )
        if ranked:
            best_z = max(best_z, ranked[0][0].z)
        for candidate, speed, grids in ranked[:DECODE_ATTEMPTS]:
            found = _decode(candidate, layout, key)
            if found is not None:
                payload, confidence, modulation = found
                start, end = _region(grids, candidate, modulation)
                return Detection(
                    True, payload, key.id, confidence, start / speed, end / speed, candidate.z, bound, speed
                )
    z = float(best_z) if np.isfinite(best_z) else 0.0
    return Detection(False, None, None, 0.0, None, None, z, bound)


def detect_any_speed(samples: np.ndarray, sample_rate: int, keyring: Keyring) -> Detection:
    """:func:`detect`, then the replay-speed search only if the plain pass finds nothing.

    Marked clips at their original speed cost one plain pass; a clip played back 0.94-1.06
    times as fast (or unmarked audio) also pays for the search, on at most the loudest
    ``SPEED_SEARCH_MAX_SECONDS`` of the clip, which bounds its cost for long uploads. The
    returned ``false_positive_bound`` counts the decoding attempts of both passes.
    """
    plain = detect(samples, sample_rate, keyring)
    if plain.detected:
        return plain
    audio, rate = np.asarray(samples), _check_rate(sample_rate)
    length = int(SPEED_SEARCH_MAX_SECONDS * rate)
    start = _loudest_start(audio, rate, length)
    searched = detect(audio[start : start + length], rate, keyring, speed_search=True)
    offset = start / rate
    return replace(
        searched,
        false_positive_bound=plain.false_positive_bound + searched.false_positive_bound,
        start_seconds=None if searched.start_seconds is None else searched.start_seconds + offset,
        end_seconds=None if searched.end_seconds is None else searched.end_seconds + offset,
    )


def _grids(audio_8k: np.ndarray, step: int) -> list[tuple[int, np.ndarray]]:
    return [(offset, cell_features(audio_8k, offset)) for offset in range(0, DETECT_HOP, step)]


def _stretch(audio_8k: np.ndarray, speed: float) -> np.ndarray:
    """Undo playback at ``speed``: resample so the clip lasts ``speed`` times as long."""
    ratio = Fraction(speed).limit_denominator(1000)
    return resample(audio_8k, ratio.denominator, ratio.numerator).astype(np.float64)


def _speed_analyses(audio_8k: np.ndarray, layout: Layout) -> list[tuple[float, list[tuple[int, np.ndarray]]]]:
    """Analyses at the replay speeds most likely to undo a speed change.

    A coarse pass scores every 0.5 % step on the loudest 4 s (where drift stays under a
    frame); the best coarse speeds are then refined in 0.1 % steps on the whole clip.
    """
    segment = _loudest(audio_8k, COARSE_SECONDS * DETECT_RATE)
    coarse = []
    for speed in COARSE_SPEEDS:
        if abs(speed - 1.0) < 1e-9:
            continue
        candidates = _sync_candidates(_grids(_stretch(segment, speed), 2 * OFFSET_STEP), layout)
        coarse.append((candidates[0].z if candidates else -np.inf, speed))
    coarse.sort(reverse=True)
    analyses = []
    for _, centre in coarse[:COARSE_KEEP]:
        for step in FINE_STEPS:
            speed = round(centre + step, 4)
            if abs(speed - 1.0) > 1e-9:
                analyses.append((speed, _grids(_stretch(audio_8k, speed), 2 * OFFSET_STEP)))
    return analyses


def _loudest(audio: np.ndarray, length: int) -> np.ndarray:
    start = _loudest_start(audio, DETECT_RATE, length)
    return audio[start : start + length]


def _loudest_start(audio: np.ndarray, rate: int, length: int) -> int:
    """Start (a multiple of 0.25 s) of the ``length`` samples with the most energy."""
    block = max(1, rate // 4)
    blocks = audio.size // block
    if audio.size <= length or blocks == 0:
        return 0
    energy = np.square(audio[: blocks * block], dtype=np.float64).reshape(blocks, block).sum(axis=1)
    window = max(1, min(blocks, length // block))
    totals = np.convolve(energy, np.ones(window), mode="valid")
    return int(np.argmax(totals)) * block


def _check_rate(sample_rate: int) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise InvalidArgument(f"sample rate must be an integer number of Hz, not {sample_rate!r}")
    if not MIN_RATE <= int(sample_rate) <= MAX_RATE:
        raise InvalidAudio(
            f"sample rate {sample_rate} Hz is not supported; use {MIN_RATE}-{MAX_RATE} Hz"
        )
    return int(sample_rate)


def _fold(values: np.ndarray) -> np.ndarray:
    """Sum frames that share a period position: ``folded[r] = sum(values[t], t % P == r)``."""
    frames = values.shape[0]
    padded = np.zeros((-(-frames // PERIOD_FRAMES) * PERIOD_FRAMES, values.shape[1]))
    padded[:frames] = values
    return padded.reshape(-1, PERIOD_FRAMES, values.shape[1]).sum(axis=0)


def _circular_diagonals(matrix: np.ndarray) -> np.ndarray:
    """``out[phase] = sum_r matrix[r, (r + phase) % P]``."""
    rows = np.arange(PERIOD_FRAMES)
    columns = (rows[:, None] + rows[None, :]) % PERIOD_FRAMES
    return matrix[rows[:, None], columns].sum(axis=0)


def _sync_candidates(grids: list[tuple[int, np.ndarray]], layout: Layout) -> list[_Candidate]:
    """(grid, phase) candidates ordered by sync z-score, best first."""
    sync_sign = np.where(layout.sync_mask, layout.sign, 0.0)
    sync_mask = layout.sync_mask.astype(np.float64)
    candidates: list[_Candidate] = []
    for offset, values in grids:
        if values.shape[0] == 0:
            continue
        folded = _fold(values)
        score = _circular_diagonals(folded @ sync_sign.T)
        energy = _circular_diagonals(_fold(values**2) @ sync_mask.T)
        z = score / np.sqrt(np.maximum(energy, 1e-12))
        for phase in np.argsort(z)[::-1][:DECODE_ATTEMPTS]:
            candidates.append(_Candidate(float(z[phase]), offset, int(phase), folded))
    candidates.sort(key=lambda candidate: candidate.z, reverse=True)
    return candidates


def _decode(candidate: _Candidate, layout: Layout, key: WatermarkKey) -> tuple[bytes, float, np.ndarray] | None:
    aligned = np.roll(candidate.folded, candidate.phase, axis=0)
    data = layout.role >= 0
    soft = np.bincount(
        layout.role[data], weights=(layout.sign * aligned)[data], minlength=CODED_BITS
    )
    info = viterbi(soft)
    payload = bits_to_bytes(info[: 8 * PAYLOAD_BYTES])
    if bits_to_bytes(info[8 * PAYLOAD_BYTES :]) != tag(key.derive("tag"), payload):
        return None
    coded_signs = 2.0 * encode(info).astype(np.float64) - 1.0
    observed = soft != 0
    agreement = float(np.mean(np.sign(soft[observed]) == coded_signs[observed])) if observed.any() else 0.0
    modulation = layout.modulation(encode(info))
    return payload, max(0.0, 2.0 * agreement - 1.0), modulation


def _region(
    grids: list[tuple[int, np.ndarray]], candidate: _Candidate, modulation: np.ndarray
) -> tuple[float, float]:
    """Start and end (seconds) of the one-second stretches where the found mark is clear."""
    values = dict(grids)[candidate.offset]
    positions = (np.arange(values.shape[0]) + candidate.phase) % PERIOD_FRAMES
    score = np.sum(values * modulation[positions], axis=1)
    energy = np.sum(values**2, axis=1)
    block = FRAMES_PER_SECOND
    edges = np.arange(0, values.shape[0], block)
    z = np.add.reduceat(score, edges) / np.sqrt(np.maximum(np.add.reduceat(energy, edges), 1e-12))
    frame_seconds = DETECT_HOP / DETECT_RATE
    origin = candidate.offset / DETECT_RATE
    marked = np.flatnonzero(z > REGION_Z)
    if marked.size == 0:
        return origin, origin + (values.shape[0] + 1) * frame_seconds
    first, last = edges[marked[0]], min(edges[marked[-1]] + block, values.shape[0])
    return origin + first * frame_seconds, origin + (last + 1) * frame_seconds
