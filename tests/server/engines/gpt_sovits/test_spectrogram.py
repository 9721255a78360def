"""The reference spectrogram against a direct numpy evaluation of its definition."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from server.engines.gpt_sovits.spectrogram import reference_spectrogram
from server.errors import InvalidArgument


def _numpy_spectrogram(wav: np.ndarray, n_fft: int = 2048, hop: int = 640) -> np.ndarray:
    """Reflect-pad (n_fft - hop) / 2, frame without centring, periodic Hann, |FFT| + eps."""
    pad = (n_fft - hop) // 2
    x = np.pad(wav.astype(np.float64), (pad, pad), mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = [x[i:i + n_fft] * window for i in range(0, len(x) - n_fft + 1, hop)]
    spectrum = np.fft.rfft(np.stack(frames), axis=1)
    return np.sqrt(spectrum.real**2 + spectrum.imag**2 + 1e-8).T


@pytest.mark.parametrize("n_samples", [2048, 9000, 32000])
def test_matches_the_direct_formula(n_samples: int) -> None:
    rng = np.random.default_rng(n_samples)
    wav = (0.3 * rng.standard_normal(n_samples)).astype(np.float32)
    spec = reference_spectrogram(torch.from_numpy(wav)[None])
    expected = _numpy_spectrogram(wav)
    frames = (n_samples + 1408 - 2048) // 640 + 1
    assert spec.shape == (1, 1025, frames) == (1, *expected.shape)
    assert spec.dtype == torch.float32
    np.testing.assert_allclose(spec[0].numpy(), expected, rtol=1e-4, atol=2e-4)


def test_a_sine_peaks_at_its_bin_and_silence_gives_the_epsilon_floor() -> None:
    t = np.arange(16000) / 32000
    wav = torch.from_numpy(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    spec = reference_spectrogram(wav)  # 1-D input is accepted
    assert int(spec[0, :, 5].argmax()) == 64  # 1000 Hz * 2048 / 32000
    silent = reference_spectrogram(torch.zeros(1, 4000))
    assert torch.allclose(silent, torch.full_like(silent, 1e-4))


def test_rows_are_independent_and_short_clips_are_refused() -> None:
    wav = torch.randn(2, 5000, generator=torch.Generator().manual_seed(0))
    both = reference_spectrogram(wav)
    assert torch.equal(both[1:], reference_spectrogram(wav[1:]))
    with pytest.raises(InvalidArgument):
        reference_spectrogram(torch.zeros(1, 600))
    with pytest.raises(InvalidArgument):
        reference_spectrogram(torch.zeros(1, 1, 5000))
