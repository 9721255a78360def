"""Tests for the Kaldi-compatible log-mel filterbank used by GPT-SoVITS speaker verification."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from server.engines.gpt_sovits.fbank import fbank, mel_filterbank, num_frames
from server.errors import InvalidArgument

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gpt_sovits"


def numpy_fbank(x: np.ndarray, sr: int = 16000, bins: int = 80) -> np.ndarray:
    """Straightforward float64 Kaldi fbank (snip edges, DC removal, pre-emphasis, Povey)."""
    flen, fshift, nfft = 400, 160, 512
    count = 1 + (len(x) - flen) // fshift
    frames = np.stack([x[i * fshift : i * fshift + flen] for i in range(count)]).astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    shifted = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    frames = frames - 0.97 * shifted
    n = np.arange(flen)
    frames *= (0.5 - 0.5 * np.cos(2 * np.pi * n / (flen - 1))) ** 0.85
    power = np.abs(np.fft.rfft(frames, n=nfft)) ** 2

    def mel(f: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log(1.0 + np.asarray(f) / 700.0)

    edges = np.linspace(mel(20.0), mel(sr / 2), bins + 2)
    fft_mel = mel(np.arange(nfft // 2 + 1) * sr / nfft)
    weights = np.zeros((bins, nfft // 2 + 1))
    for b in range(bins):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        tri = np.minimum((fft_mel - lo) / (mid - lo), (hi - fft_mel) / (hi - mid))
        weights[b] = np.clip(tri, 0.0, None)
    weights[:, -1] = 0.0  # Kaldi gives the Nyquist bin no weight
    return np.log(np.maximum(power @ weights.T, np.finfo(np.float32).eps))


def test_matches_frozen_reference_values() -> None:
    data = np.load(FIXTURES / "fbank_kaldi.npz")
    got = fbank(torch.from_numpy(data["wav"])).numpy()
    assert got.shape == data["fbank"].shape == (23, 80)
    # float32 FFT sums differ in the last bits between CPU kernels and thread counts
    # (seen: 2e-5 relative on a loaded machine); a wrong window or filter bank is off by >1e-2.
    np.testing.assert_allclose(got, data["fbank"], rtol=1e-4, atol=1e-5)


def test_matches_independent_float64_implementation() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(3000) / 16000
    x = 0.3 * np.sin(2 * np.pi * 700 * t) + 0.05 * rng.standard_normal(3000)
    expected = numpy_fbank(x)
    # The filter bank itself is built in float32, as in the reference, even for float64 audio.
    np.testing.assert_allclose(fbank(torch.from_numpy(x)).numpy(), expected, atol=1e-4)
    got32 = fbank(torch.from_numpy(x.astype(np.float32))).numpy()
    np.testing.assert_allclose(got32, expected, atol=5e-4)


@pytest.mark.parametrize(("samples", "frames"), [(400, 1), (559, 1), (560, 2), (16000, 98)])
def test_frame_count_snips_edges(samples: int, frames: int) -> None:
    assert num_frames(samples) == frames
    out = fbank(torch.full((1, samples), 0.1) + torch.linspace(0, 0.1, samples))
    assert out.shape == (frames, 80)


def test_silence_hits_the_epsilon_floor() -> None:
    out = fbank(torch.zeros(800))
    np.testing.assert_allclose(out.numpy(), np.log(np.finfo(np.float32).eps), rtol=1e-6)


def test_filterbank_shape_and_triangles() -> None:
    bank = mel_filterbank(80, 16000)
    assert bank.shape == (80, 257)
    assert torch.all(bank >= 0) and torch.all(bank <= 1)
    assert torch.all(bank[:, -1] == 0)
    # Every filter has a non-empty support, and the supports move up in frequency.
    peaks = bank.argmax(dim=1)
    assert torch.all(bank.sum(dim=1) > 0) and torch.all(peaks[1:] >= peaks[:-1])


def test_rejects_short_or_multichannel_audio() -> None:
    with pytest.raises(InvalidArgument):
        fbank(torch.zeros(399))
    with pytest.raises(InvalidArgument):
        fbank(torch.zeros(2, 1000))
    with pytest.raises(InvalidArgument):
        fbank(torch.zeros(1000, dtype=torch.int16))
