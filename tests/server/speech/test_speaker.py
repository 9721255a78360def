"""Speaker embeddings and verification with the real resemblyzer encoder on real speech."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from server.audio import Audio, resample
from server.errors import FailedPrecondition, InvalidAudio
from server.speech.speaker import DEFAULT_THRESHOLD, SpeakerEncoder, SpeakerVerifier


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    return SpeakerEncoder(num_threads=1)


@pytest.fixture(scope="module")
def enrollment_embedding(encoder: SpeakerEncoder, enrollment_audio: Audio) -> np.ndarray:
    return encoder.embed(enrollment_audio)


def test_embedding_is_unit_length(enrollment_embedding: np.ndarray) -> None:
    assert enrollment_embedding.shape == (256,)
    assert enrollment_embedding.dtype == np.float32
    assert np.linalg.norm(enrollment_embedding) == pytest.approx(1.0, abs=1e-5)


def test_same_speaker_is_accepted(
    encoder: SpeakerEncoder, enrollment_embedding: np.ndarray, consent_audio: Audio
) -> None:
    match = SpeakerVerifier(encoder).verify(enrollment_embedding, consent_audio)
    assert match.accepted
    assert match.threshold == DEFAULT_THRESHOLD
    assert match.score > DEFAULT_THRESHOLD + 0.03


def test_other_speaker_is_rejected_with_the_score(
    encoder: SpeakerEncoder, enrollment_embedding: np.ndarray, impostor_audio: Audio
) -> None:
    verifier = SpeakerVerifier(encoder)
    match = verifier.verify(enrollment_embedding, impostor_audio)
    assert not match.accepted
    assert match.score < DEFAULT_THRESHOLD - 0.15
    with pytest.raises(FailedPrecondition, match="does not match") as exc:
        verifier.require_same_speaker(enrollment_embedding, impostor_audio)
    assert exc.value.details["speaker_match"] == pytest.approx(match.score, abs=1e-3)


def test_reference_may_be_audio_and_any_rate(
    encoder: SpeakerEncoder, enrollment_audio: Audio, consent_audio: Audio
) -> None:
    at_44k = Audio(resample(consent_audio.samples, 16_000, 44_100), 44_100)
    direct = SpeakerVerifier(encoder).require_same_speaker(enrollment_audio, at_44k)
    assert direct.accepted


def test_silence_cannot_be_embedded(encoder: SpeakerEncoder) -> None:
    with pytest.raises(InvalidAudio, match="silent"):
        encoder.embed(Audio(np.zeros(16_000 * 5, dtype=np.float32), 16_000))


def test_similarity_is_symmetric_cosine(enrollment_embedding: np.ndarray) -> None:
    other = np.roll(enrollment_embedding, 1)
    assert SpeakerEncoder.similarity(enrollment_embedding, enrollment_embedding) == pytest.approx(
        1.0
    )
    assert SpeakerEncoder.similarity(enrollment_embedding, other) == pytest.approx(
        SpeakerEncoder.similarity(other, enrollment_embedding)
    )
    with pytest.raises(ValueError):
        SpeakerEncoder.similarity(enrollment_embedding, np.zeros(256, dtype=np.float32))


def test_concurrent_use_loads_once_and_agrees(
    encoder: SpeakerEncoder, consent_audio: Audio
) -> None:
    fresh = SpeakerEncoder(num_threads=1)
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(fresh.embed(consent_audio)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3
    for result in results:
        np.testing.assert_allclose(result, encoder.embed(consent_audio), atol=1e-5)


def test_threshold_is_validated(encoder: SpeakerEncoder) -> None:
    with pytest.raises(ValueError):
        SpeakerVerifier(encoder, threshold=1.5)
