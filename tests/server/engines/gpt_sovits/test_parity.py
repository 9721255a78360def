"""Parity with the official GPT-SoVITS inference, proven in CI without the official code.

The model folders are regenerated here from a seed (bit-identical to the ones the official
code ran on; their sha256 are pinned by ``test_model_factory``); the expected outputs in
``tests/fixtures/gpt_sovits/parity`` were recorded from the official inference on them by
``tools/gpt_sovits_parity.py fixtures``. Greedy decoding, decoder noise 0: phones, prompt
codes and tokens must be identical, and the audio at least 40 dB above the difference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from server.engines.gpt_sovits.layout import resolve_model_files
from server.engines.gpt_sovits.models import GptSovitsModels, InferenceOptions
from server.engines.gpt_sovits.voice import VoicePrompt
from tests.server.engines.gpt_sovits.model_factory import generate_models

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
PARITY = FIXTURES / "gpt_sovits" / "parity"
CASES = sorted(p.stem for p in PARITY.glob("*.json"))
MIN_SNR_DB = 40.0


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    samples, rate = sf.read(FIXTURES / "speech" / "2033-164914-0001.flac", dtype="float32")
    assert rate == 16_000
    return samples


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {}


def _models(folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, variant: str,
            seed: int) -> Path:
    if variant not in folders:
        folder = tmp_path_factory.mktemp(f"micro-{variant}")
        generate_models(variant, "micro", seed, folder)
        folders[variant] = folder
    return folders[variant]


def _snr_db(expected: np.ndarray, actual: np.ndarray) -> float:
    noise = float(np.sum((expected.astype(np.float64) - actual.astype(np.float64)) ** 2))
    signal = float(np.sum(expected.astype(np.float64) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)


@pytest.mark.parametrize("case", CASES)
def test_matches_the_official_inference(case: str, reference: np.ndarray, folders: dict[str, Path],
                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    expected: dict[str, Any] = json.loads((PARITY / f"{case}.json").read_text())
    expected_audio = np.load(PARITY / f"{case}.npz")["audio"].astype(np.float32)
    models = GptSovitsModels.load(resolve_model_files(
        _models(folders, tmp_path_factory, expected["variant"], expected["seed"]),
        variant=expected["variant"]))

    prompt = models.frontend.prompt(expected["ref_text"], expected["ref_lang"])
    assert list(prompt.phone_ids) == expected["prompt_phones"]
    codes = models.prompt_codes(reference)
    assert [int(c) for c in codes] == expected["prompt_codes"]

    voice = VoicePrompt(language=expected["ref_lang"], text=expected["ref_text"],
                        reference=reference, phone_ids=tuple(prompt.phone_ids), prompt_codes=codes,
                        sv_embedding=models.speaker_embedding(reference), variant=models.variant,
                        fingerprint=models.fingerprint)
    segments = models.segments(expected["text"], expected["lang"], expected["text_split"])
    assert [list(s.phone_ids) for s in segments] == expected["segment_phones"]

    options = InferenceOptions(top_k=1, noise_scale=0.0, max_new_tokens=expected["max_tokens"])
    pieces = list(models.synthesize(models.prepare(voice), segments, options))
    assert [[int(t) for t in p.tokens] for p in pieces] == expected["segments"]
    audio = np.concatenate([p.audio for p in pieces])
    assert audio.shape == expected_audio.shape
    # the expected audio is stored as float16 (about 66 dB of headroom below the signal)
    assert _snr_db(expected_audio, audio) >= MIN_SNR_DB
