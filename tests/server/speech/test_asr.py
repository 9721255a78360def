"""The bundled Whisper tiny.en recognizer on real speech and on eSpeak-read statements."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from server.audio import Audio, resample
from server.errors import FailedPrecondition
from server.speech.asr import Transcriber, bundled_model_path
from server.speech.espeak import synthesize_espeak
from server.speech.statement import (
    build_statement,
    check_statement,
    make_one_time_phrase,
    normalize_words,
)


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber()


def test_bundled_model_ships_with_the_package() -> None:
    path = bundled_model_path()
    assert (path / "model.bin").is_file()
    assert (path / "config.json").is_file()


def test_real_speech_is_transcribed(transcriber: Transcriber, consent_audio: Audio) -> None:
    words = normalize_words(transcriber.transcribe(consent_audio))
    assert {"best", "amount", "hand"} <= set(words)


def test_other_sample_rates_are_resampled(transcriber: Transcriber, consent_audio: Audio) -> None:
    at_8k = Audio(resample(consent_audio.samples, 16_000, 8_000), 8_000)
    assert "amount" in normalize_words(transcriber.transcribe(at_8k))


def test_read_statement_matches_and_another_phrase_does_not(transcriber: Transcriber) -> None:
    rng = random.Random(3)
    phrase, other = make_one_time_phrase(rng), make_one_time_phrase(rng)
    statement = build_statement("Emily Carter", "Northwind Audio", phrase)
    reading = synthesize_espeak(statement)
    check = check_statement(transcriber.transcribe(reading), statement, phrase)
    assert check.matched, check
    wrong = synthesize_espeak(build_statement("Emily Carter", "Northwind Audio", other))
    check = check_statement(transcriber.transcribe(wrong), statement, phrase)
    assert not check.matched and not check.phrase_found


def test_missing_model_fails_clearly_without_downloading(
    tmp_path: Path, consent_audio: Audio
) -> None:
    with pytest.raises(FailedPrecondition, match="model is missing"):
        Transcriber(tmp_path / "nothing-here").transcribe(consent_audio)


def test_transcribing_leaves_torchs_thread_count_alone(consent_audio: Audio) -> None:
    """CTranslate2 sets the process-wide OpenMP count to its own; torch's must come back."""
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        Transcriber().transcribe(consent_audio)  # a fresh model: load and transcribe
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
