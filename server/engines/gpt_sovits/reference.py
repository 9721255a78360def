"""Choosing the reference clip GPT-SoVITS is prompted with, and the words it says.

GPT-SoVITS conditions on one 3-10 s clip of the speaker and its transcript (the official
code refuses a reference outside 48,000-160,000 samples at 16 kHz). Enrollment audio is
about a minute, so enrollment picks the best whole-phrase clip:

- **Phrases.** WebRTC VAD speech flags (the platform's calibrated settings); a pause of at
  least ``MIN_PAUSE_SECONDS`` separates phrases, and clips start and end in the middle of
  such pauses, so no word is cut.
- **Score.** Among the clips of ``MIN_CLIP_SECONDS``-``MAX_CLIP_SECONDS``, prefer a length
  near ``TARGET_SECONDS``, little silence inside, no clipped samples and a steady level.

The words come from the caller's transcript when there is one, else from speech
recognition of the clip (English only, the bundled recogniser). With both, the recognised
words locate the clip inside the caller's transcript, whose spelling and punctuation win.
For languages the recogniser cannot hear, the clip's share of the transcript is estimated
from speaking time (see :func:`proportional_text`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from server.errors import InvalidAudio
from server.speech.quality import ANALYSIS_RATE, AnalysisSettings, detect_speech_frames

MIN_CLIP_SECONDS = 3.2
MAX_CLIP_SECONDS = 9.6
TARGET_SECONDS = 7.0
MIN_PAUSE_SECONDS = 0.21
_FRAME_SECONDS = 0.03
_WORD = re.compile(r"[\w']+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[。！？!?.；;，,])")


@dataclass(frozen=True)
class ClipChoice:
    """A reference clip inside the enrollment audio (16 kHz sample indices)."""

    start: int
    end: int
    speech_start_seconds: float
    speech_seconds_before: float
    speech_seconds_inside: float
    total_speech_seconds: float

    @property
    def seconds(self) -> float:
        """Length of the clip in seconds."""
        return (self.end - self.start) / ANALYSIS_RATE


def choose_clip(samples16k: np.ndarray, *, from_start: bool = False) -> ClipChoice:
    """The best whole-phrase clip of 3.2-9.6 s in 16 kHz mono ``samples16k``.

    ``from_start`` keeps only clips that begin with the first phrase (used when the words
    must be found in a transcript without a recogniser: the transcript's start is known).
    Raises :class:`InvalidAudio` when no run of phrases fits (e.g. one unbroken minute).
    """
    samples = np.asarray(samples16k, dtype=np.float32)
    flags = detect_speech_frames(samples, AnalysisSettings())
    if not flags.any():
        raise InvalidAudio("no speech found in the enrollment audio")
    cuts = _pause_centres(flags)
    frame = int(ANALYSIS_RATE * _FRAME_SECONDS)
    speech_cum = np.concatenate([[0], np.cumsum(flags)]) * _FRAME_SECONDS
    total_speech = float(speech_cum[-1])
    best: tuple[float, int, int] | None = None
    starts = cuts[:1] if from_start else cuts
    for i, start in enumerate(starts):
        for end in cuts[i + 1 :]:
            seconds = (end - start) * _FRAME_SECONDS
            if seconds > MAX_CLIP_SECONDS:
                break
            if seconds < MIN_CLIP_SECONDS:
                continue
            score = _score(samples[start * frame : end * frame], flags[start:end], seconds)
            if best is None or score > best[0]:
                best = (score, start, end)
    if best is None:
        raise InvalidAudio(
            "the enrollment audio has no 3-10 second stretch of whole phrases; record natural "
            "speech with short pauses between sentences"
        )
    _, start, end = best
    first_speech = int(np.argmax(flags))
    return ClipChoice(
        start=start * frame,
        end=min(end * frame, len(samples)),
        speech_start_seconds=first_speech * _FRAME_SECONDS,
        speech_seconds_before=float(speech_cum[start]),
        speech_seconds_inside=float(speech_cum[end] - speech_cum[start]),
        total_speech_seconds=total_speech,
    )


def _pause_centres(flags: np.ndarray) -> list[int]:
    """Frame indices in the middle of every pause long enough to cut at (and both ends)."""
    min_pause = round(MIN_PAUSE_SECONDS / _FRAME_SECONDS)
    cuts: list[int] = []
    run_start: int | None = None
    padded = np.concatenate([[False], flags, [True]])  # a pause at the end closes there
    for index in range(1, len(padded)):
        silent = not padded[index]
        if silent and run_start is None:
            run_start = index - 1
        elif not silent and run_start is not None:
            run_end = index - 1
            at_edge = run_start == 0 or run_end == len(flags)
            if at_edge or run_end - run_start >= min_pause:
                # Keep a little of the pause around the speech at the recording's edges.
                if run_start == 0:
                    cuts.append(max(0, run_end - min_pause // 2))
                elif run_end == len(flags):
                    cuts.append(min(len(flags), run_start + min_pause // 2))
                else:
                    cuts.append((run_start + run_end) // 2)
            run_start = None
    if flags[0]:
        cuts.append(0)  # speech from the first frame: the recording's start is the cut
    if flags[-1]:
        cuts.append(len(flags))
    return sorted(set(cuts))


def _score(clip: np.ndarray, flags: np.ndarray, seconds: float) -> float:
    """Higher is better: near the target length, mostly speech, unclipped, steady level."""
    length_penalty = abs(seconds - TARGET_SECONDS) / TARGET_SECONDS
    speech_ratio = float(flags.mean()) if flags.size else 0.0
    clipped = float(np.mean(np.abs(clip) >= 0.99)) if clip.size else 1.0
    block = ANALYSIS_RATE // 10
    blocks = clip[: len(clip) // block * block].reshape(-1, block)
    levels = 10 * np.log10(np.mean(blocks.astype(np.float64) ** 2, axis=1) + 1e-10)
    voiced = levels[levels > levels.max() - 30] if levels.size else levels
    steadiness = float(np.std(voiced)) / 10 if voiced.size else 1.0
    return speech_ratio - length_penalty - 50 * clipped - 0.2 * steadiness


def locate_in_transcript(recognised: str, transcript: str) -> str | None:
    """The words of ``transcript`` that the recognised clip text lines up with.

    Slides windows of about the recognised length over the transcript's words and keeps the
    one that matches best (word-level ``difflib`` ratio). Returns None when the best window
    matches under half of the words, so a transcript of other audio is not trusted.
    """
    spoken = [w.lower() for w in _WORD.findall(recognised)]
    tokens = list(re.finditer(r"\S+", transcript))
    keys = [" ".join(_WORD.findall(t.group().lower())) for t in tokens]
    if not spoken or not tokens:
        return None
    n = len(spoken)
    best: tuple[float, int, int] = (0.0, 0, 0)
    for size in sorted({max(1, n - n // 5), n, n + n // 5 + 1}):
        for first in range(max(1, len(keys) - size + 1)):
            window = keys[first : first + size]
            ratio = difflib.SequenceMatcher(a=spoken, b=window, autojunk=False).ratio()
            if ratio > best[0]:
                best = (ratio, first, min(len(keys), first + size))
    ratio, first, last = best
    if ratio < 0.5:
        return None
    # Trim window words the recogniser did not hear at either edge.
    matcher = difflib.SequenceMatcher(a=spoken, b=keys[first:last], autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    lead = blocks[0].b - min(blocks[0].a, blocks[0].b)
    tail = (last - first) - (blocks[-1].b + blocks[-1].size)
    tail -= min(tail, n - blocks[-1].a - blocks[-1].size)
    first, last = first + lead, last - tail
    return transcript[tokens[first].start() : tokens[last - 1].end()].strip()


def proportional_text(transcript: str, choice: ClipChoice) -> str:
    """The run of whole sentences of ``transcript`` best matching the clip's speaking time.

    For languages without a recogniser: sentences are placed along the recording by their
    share of the transcript's characters, which assumes an even speaking rate. The clip is
    chosen at pauses, and sentences end at punctuation, so the estimate snaps to both.
    """
    pieces = [p.strip() for p in _SENTENCE_END.split(transcript) if p.strip()]
    if not pieces:
        return transcript.strip()
    weights = np.array([max(1, len(re.sub(r"[\W_]", "", p))) for p in pieces], dtype=np.float64)
    bounds = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    total = max(choice.total_speech_seconds, 1e-6)
    start_fraction = choice.speech_seconds_before / total
    end_fraction = (choice.speech_seconds_before + choice.speech_seconds_inside) / total
    first = int(np.argmin(np.abs(bounds[:-1] - start_fraction)))
    last = int(np.argmin(np.abs(bounds[1:] - end_fraction)))
    last = max(last, first)
    return "".join(
        piece if piece[-1] in "。！？，；" or not piece else piece + " "
        for piece in pieces[first : last + 1]
    ).strip()
