"""One embedded-neural engine and two enrolled voices per test session (real speech)."""

from __future__ import annotations

import numpy as np
import pytest

from server.engines import VoiceModel, create_engine
from server.engines.neural.engine import EmbeddedNeuralEngine


@pytest.fixture(scope="session")
def neural() -> EmbeddedNeuralEngine:
    built = create_engine("embedded-neural")
    assert isinstance(built, EmbeddedNeuralEngine)
    return built


@pytest.fixture(scope="session")
def male_voice(neural: EmbeddedNeuralEngine, male_clip: tuple[np.ndarray, int]) -> VoiceModel:
    return neural.enroll(*male_clip)


@pytest.fixture(scope="session")
def female_voice(neural: EmbeddedNeuralEngine, female_clip: tuple[np.ndarray, int]) -> VoiceModel:
    return neural.enroll(*female_clip)
