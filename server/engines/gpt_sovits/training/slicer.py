"""The official GPT-SoVITS slicer: long recordings cut into utterances at silences.

The recording's RMS is measured on windows of ``min(min_interval, 4 * hop)`` samples every
``hop`` samples (zero-padded by half a window on each side). A run of frames below the
threshold becomes a cut when it is long enough (``min_interval``) and the clip before it is
long enough (``min_length``), or when it is the recording's leading silence; at most
``max_sil_kept`` of silence stays on each side, cuts land on the quietest frame, and a
trailing silence is cut off. A recording no longer than ``min_length`` stays whole. This
reproduces the official ``Slicer.slice`` decision for decision (the same frames, so the
same sample ranges); the web UI's defaults are the defaults here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The official web UI's slicing defaults.
THRESHOLD_DB = -34.0
MIN_LENGTH_MS = 4000
MIN_INTERVAL_MS = 300
HOP_MS = 10
MAX_SILENCE_KEPT_MS = 500


@dataclass(frozen=True)
class Chunk:
    """One utterance: ``samples[start:end]`` of the recording. ``end`` is the official one,
    which may pass the recording's end by less than a hop (the slice stops at the end)."""

    start: int
    end: int


def frame_rms(samples: np.ndarray, window: int, hop: int) -> np.ndarray:
    """RMS of ``window``-sample frames every ``hop`` samples, the signal zero-padded by half a
    window on each side (the official ``get_rms``)."""
    half = window // 2
    padded = np.pad(samples, (half, half))
    # (window, frames) with the same strides as the reference's view, so that numpy sums in
    # the same order and the float32 values (compared with a threshold) are the same.
    frames = np.lib.stride_tricks.sliding_window_view(padded, window)[::hop].T
    return np.sqrt(np.mean(np.abs(frames) ** 2, axis=0))


class Slicer:
    """Silence-based slicing at ``rate`` Hz with the official parameters (milliseconds)."""

    def __init__(self, rate: int, threshold_db: float = THRESHOLD_DB,
                 min_length_ms: int = MIN_LENGTH_MS, min_interval_ms: int = MIN_INTERVAL_MS,
                 hop_ms: int = HOP_MS, max_silence_kept_ms: int = MAX_SILENCE_KEPT_MS) -> None:
        if not min_length_ms >= min_interval_ms >= hop_ms:
            raise ValueError("need min_length >= min_interval >= hop")
        if max_silence_kept_ms < hop_ms:
            raise ValueError("need max_silence_kept >= hop")
        interval = rate * min_interval_ms / 1000
        self.threshold = 10 ** (threshold_db / 20.0)
        self.hop = round(rate * hop_ms / 1000)
        self.window = min(round(interval), 4 * self.hop)
        self.min_length = round(rate * min_length_ms / 1000 / self.hop)
        self.min_interval = round(interval / self.hop)
        self.max_kept = round(rate * max_silence_kept_ms / 1000 / self.hop)

    def slice(self, samples: np.ndarray) -> list[Chunk]:
        """The utterances of a mono recording, in order."""
        if samples.shape[0] <= self.min_length:
            return [Chunk(0, samples.shape[0])]
        rms = frame_rms(samples, self.window, self.hop)
        cuts = self._cuts(rms)
        total = rms.shape[0]
        if not cuts:
            return [Chunk(0, total * self.hop)]
        bounds: list[tuple[int, int]] = []
        if cuts[0][0] > 0:
            bounds.append((0, cuts[0][0]))
        bounds += [(cuts[i][1], cuts[i + 1][0]) for i in range(len(cuts) - 1)]
        if cuts[-1][1] < total:
            bounds.append((cuts[-1][1], total))
        return [Chunk(b * self.hop, e * self.hop) for b, e in bounds]

    def _cuts(self, rms: np.ndarray) -> list[tuple[int, int]]:
        """Silent spans to cut out, as ``(first frame, last frame)``, in order."""
        cuts: list[tuple[int, int]] = []
        silence_start: int | None = None
        clip_start = 0
        kept = self.max_kept
        for i, value in enumerate(rms):
            if value < self.threshold:
                if silence_start is None:
                    silence_start = i
                continue
            if silence_start is None:
                continue
            leading = silence_start == 0 and i > kept
            middle = i - silence_start >= self.min_interval and i - clip_start >= self.min_length
            if not leading and not middle:
                silence_start = None
                continue
            if i - silence_start <= kept:
                pos = int(rms[silence_start:i + 1].argmin()) + silence_start
                cuts.append((0, pos) if silence_start == 0 else (pos, pos))
                clip_start = pos
            elif i - silence_start <= 2 * kept:
                pos = int(rms[i - kept:silence_start + kept + 1].argmin()) + i - kept
                left = int(rms[silence_start:silence_start + kept + 1].argmin()) + silence_start
                right = int(rms[i - kept:i + 1].argmin()) + i - kept
                if silence_start == 0:
                    cuts.append((0, right))
                    clip_start = right
                else:
                    cuts.append((min(left, pos), max(right, pos)))
                    clip_start = max(right, pos)
            else:
                left = int(rms[silence_start:silence_start + kept + 1].argmin()) + silence_start
                right = int(rms[i - kept:i + 1].argmin()) + i - kept
                cuts.append((0, right) if silence_start == 0 else (left, right))
                clip_start = right
            silence_start = None
        total = rms.shape[0]
        if silence_start is not None and total - silence_start >= self.min_interval:
            end = min(total, silence_start + kept)
            pos = int(rms[silence_start:end + 1].argmin()) + silence_start
            cuts.append((pos, total + 1))
        return cuts
