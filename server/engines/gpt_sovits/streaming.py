"""Streaming a segment while T2S still generates it: overlapping decode windows, cross-faded.

Decoding a whole segment before sending anything makes the first audio wait for every token
of the first segment. With streaming on, a segment's tokens are decoded in windows as they
arrive: the first window after ``first_chunk_tokens`` tokens (the first audio leaves early),
then one every ``chunk_tokens``. Each window is decoded with ``context_tokens`` tokens of left
context (the decoder's attention and convolutions need them to continue smoothly), and the
last ``fade_tokens`` of audio of every chunk are held back and cross-faded with the start of
the next one, so no seam is audible. A segment that ends before its first window is decoded
whole, exactly as without streaming. This is the idea of the official streaming mode (chunks
with overlap and a cross-fade), written for our batch; it is an approximation of decoding the
segment in one piece, which stays the default (``stream_chunk_tokens=0``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StreamPlan:
    """Window sizes in semantic tokens (25 per second of speech)."""

    chunk_tokens: int = 40
    first_chunk_tokens: int = 12
    context_tokens: int = 8
    fade_tokens: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.first_chunk_tokens <= self.chunk_tokens:
            raise ValueError("first_chunk_tokens must lie in 1..chunk_tokens")
        if self.fade_tokens < 1 or self.context_tokens < self.fade_tokens:
            raise ValueError("need fade_tokens >= 1 and context_tokens >= fade_tokens")


class SegmentStreamer:
    """One segment's windows: which tokens are due, and their cross-faded audio."""

    def __init__(self, plan: StreamPlan, decode: Callable[[Sequence[int]], np.ndarray]) -> None:
        self.plan = plan
        self._decode = decode  # tokens -> their audio (32 kHz float32)
        self.emitted = 0  # tokens whose audio has been sent (but for the held tail)
        self._tail: np.ndarray | None = None

    @property
    def started(self) -> bool:
        """True once a window has been sent for this segment."""
        return self.emitted > 0

    def due(self, n_tokens: int) -> bool:
        """True when the tokens generated so far complete the next window."""
        size = self.plan.chunk_tokens if self.started else self.plan.first_chunk_tokens
        return n_tokens - self.emitted >= size

    def chunk(self, tokens: Sequence[int], *, final: bool) -> np.ndarray:
        """Audio for ``tokens[emitted:]`` (all tokens so far are given), cross-faded."""
        end, start = len(tokens), self.emitted
        if end == start:  # nothing new: only the held tail is left to send
            tail, self._tail = self._tail, None
            return tail if tail is not None else np.zeros(0, np.float32)
        left = max(0, start - self.plan.context_tokens)
        audio = np.asarray(self._decode(tokens[left:end]), dtype=np.float32)
        per_token = len(audio) / (end - left)
        held = self._tail if self._tail is not None else np.zeros(0, np.float32)
        cut = max(0, round((start - left) * per_token) - len(held))
        piece = audio[cut:].copy()
        fade = min(len(held), len(piece))
        if fade:
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            piece[:fade] = held[:fade] * (1.0 - ramp) + piece[:fade] * ramp
        self.emitted = end
        if final:
            self._tail = None
            return piece
        hold = min(len(piece), round(self.plan.fade_tokens * per_token))
        self._tail = piece[len(piece) - hold:].copy()
        return piece[: len(piece) - hold]
