"""Reference clip choice on real speech, and finding its words in a transcript."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.engines.gpt_sovits.reference import (
    MAX_CLIP_SECONDS,
    MIN_CLIP_SECONDS,
    choose_clip,
    locate_in_transcript,
    proportional_text,
)
from server.errors import InvalidAudio

SPEECH = Path(__file__).resolve().parents[3] / "fixtures" / "speech"


@pytest.fixture(scope="module")
def enrollment() -> np.ndarray:
    samples, rate = sf.read(SPEECH / "enrollment_1998.flac", dtype="float32")
    assert rate == 16_000
    return samples


def test_the_clip_is_3_to_10_seconds_of_whole_phrases(enrollment: np.ndarray) -> None:
    choice = choose_clip(enrollment)
    assert MIN_CLIP_SECONDS <= choice.seconds <= MAX_CLIP_SECONDS
    clip = enrollment[choice.start : choice.end]
    edge = 800  # 50 ms at each end lies inside a pause, so no word is cut
    loud = np.sqrt(np.mean(clip**2))
    assert np.sqrt(np.mean(clip[:edge] ** 2)) < loud / 4
    assert np.sqrt(np.mean(clip[-edge:] ** 2)) < loud / 4
    assert 0 < choice.speech_seconds_inside <= choice.seconds
    assert choice.speech_seconds_before + choice.speech_seconds_inside <= choice.total_speech_seconds + 1e-6


def test_from_start_keeps_the_first_phrase(enrollment: np.ndarray) -> None:
    choice = choose_clip(enrollment, from_start=True)
    assert choice.speech_seconds_before == 0.0
    assert choice.start <= int(choice.speech_start_seconds * 16_000)


def test_audio_without_pauses_or_speech_is_refused() -> None:
    with pytest.raises(InvalidAudio, match="no speech"):
        choose_clip(np.zeros(16_000 * 20, dtype=np.float32))


def test_recognised_words_locate_the_transcript_span() -> None:
    transcript = ("Call me Ishmael. Some years ago, never mind how long precisely, having little "
                  "or no money in my purse, I thought I would sail about a little.")
    heard = "some years ago never mind how long precisely having"
    assert locate_in_transcript(heard, transcript) == (
        "Some years ago, never mind how long precisely, having")
    # a recogniser error inside the span does not matter; the transcript's spelling wins
    assert locate_in_transcript("some ears ago never mind how long", transcript) == (
        "Some years ago, never mind how long")
    assert locate_in_transcript("completely different words here today", transcript) is None
    assert locate_in_transcript("", transcript) is None


def test_proportional_text_takes_whole_leading_sentences(enrollment: np.ndarray) -> None:
    choice = choose_clip(enrollment, from_start=True)
    share = choice.speech_seconds_inside / choice.total_speech_seconds
    sentences = ["今天天气很好。", "我们一起去公园散步吧。", "明天可能会下雨，", "记得带伞。"] * 4
    text = proportional_text("".join(sentences), choice)
    assert text.startswith("今天天气很好。") and text.endswith(("。", "，"))
    assert abs(len(text) / len("".join(sentences)) - share) < 0.2
