"""Tests for the torchaudio-compatible sinc resampler and the official reference-audio chain."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from server.engines.gpt_sovits.resample import (
    prepare_reference_audio,
    resample,
    resampled_length,
    sinc_kernel,
)
from server.errors import InvalidArgument

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gpt_sovits"
RATE_PAIRS = [
    (16000, 32000),
    (32000, 16000),
    (44100, 32000),
    (22050, 16000),
    (24000, 32000),
    (48000, 16000),
]


def direct_windowed_sinc(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Reference: evaluate the Hann-windowed sinc interpolation sum sample by sample, float64.

    Output ``n`` lies at ``n / sr_out`` seconds. With the cut-off ``fc = 0.99 * min(sr_in,
    sr_out)`` (a fraction of the sample rate, i.e. half of it is the band edge) and
    ``u = fc * (i / sr_in - n / sr_out)``, input ``i`` contributes
    ``x[i] * fc / sr_in * sinc(u) * cos(pi u / 12)^2`` while ``|u| <= 6``.
    """
    fc = 0.99 * min(sr_in, sr_out)
    n_out = math.ceil(len(x) * sr_out / sr_in)
    i = np.arange(len(x), dtype=np.float64)
    y = np.zeros(n_out)
    for n in range(n_out):
        u = fc * (i / sr_in - n / sr_out)
        inside = np.abs(u) <= 6
        w = np.sinc(u[inside]) * np.cos(np.pi * u[inside] / 12) ** 2 * (fc / sr_in)
        y[n] = np.dot(x[inside], w)
    return y


@pytest.mark.parametrize(("sr_in", "sr_out"), RATE_PAIRS)
def test_matches_frozen_torchaudio_output(sr_in: int, sr_out: int) -> None:
    data = np.load(FIXTURES / "resample_torchaudio.npz")
    x = torch.from_numpy(data[f"in_{sr_in}_{sr_out}"])
    expected = data[f"out_{sr_in}_{sr_out}"]
    got = resample(x, sr_in, sr_out).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize(("sr_in", "sr_out"), [(16000, 32000), (32000, 16000), (44100, 32000)])
def test_agrees_with_direct_float64_formula(sr_in: int, sr_out: int) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal(300)
    expected = direct_windowed_sinc(x, sr_in, sr_out)
    got64 = resample(torch.from_numpy(x), sr_in, sr_out).numpy()
    np.testing.assert_allclose(got64, expected, rtol=0, atol=1e-10)
    # float32 rounds the taps and, like torchaudio, the phase offsets j/new (not exact for
    # 44100 -> 32000, whose 320 phases are multiples of 1/320).
    got32 = resample(torch.from_numpy(x.astype(np.float32)), sr_in, sr_out).numpy()
    np.testing.assert_allclose(got32, expected, rtol=0, atol=1e-4)


def test_sine_keeps_frequency_and_amplitude() -> None:
    sr_in, sr_out, freq = 16000, 32000, 1000.0
    t_in = np.arange(16000) / sr_in
    x = torch.from_numpy((0.5 * np.sin(2 * np.pi * freq * t_in)).astype(np.float32))
    y = resample(x, sr_in, sr_out).numpy()
    assert y.shape == (32000,)
    t_out = np.arange(len(y)) / sr_out
    interior = slice(200, -200)  # away from the zero-padded edges
    ideal = 0.5 * np.sin(2 * np.pi * freq * t_out)
    assert np.max(np.abs(y[interior] - ideal[interior])) < 5e-3
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) * sr_out / len(y) == pytest.approx(freq)


def test_downsampling_removes_content_above_new_nyquist() -> None:
    t = np.arange(32000) / 32000
    # The Hann-windowed filter has a transition band just above the 7.92 kHz cut-off.
    for freq, bound in ((10000, 0.01), (14000, 1e-4)):
        tone = torch.from_numpy(np.sin(2 * np.pi * freq * t).astype(np.float32))
        y = resample(tone, 32000, 16000).numpy()
        assert np.max(np.abs(y[200:-200])) < bound


@pytest.mark.parametrize("length", [1, 2, 3, 999, 1000, 1001])
@pytest.mark.parametrize(("sr_in", "sr_out"), RATE_PAIRS)
def test_length_is_ceil_of_scaled_length(length: int, sr_in: int, sr_out: int) -> None:
    y = resample(torch.zeros(length), sr_in, sr_out)
    assert y.shape == (math.ceil(length * sr_out / sr_in),)
    assert resampled_length(length, sr_in, sr_out) == y.shape[0]


def test_equal_rates_return_input_unchanged() -> None:
    x = torch.randn(2, 100)
    assert resample(x, 16000, 16000) is x


def test_batch_dimensions_are_kept_and_independent() -> None:
    x = torch.randn(2, 3, 500, generator=torch.Generator().manual_seed(0))
    y = resample(x, 16000, 32000)
    assert y.shape == (2, 3, 1000)
    torch.testing.assert_close(y[1, 2], resample(x[1, 2], 16000, 32000), rtol=0, atol=1e-6)


def test_kernel_shape_and_dc_gain() -> None:
    kernel, width = sinc_kernel(16000, 32000)
    assert width == 7
    assert kernel.shape == (2, 1, 2 * width + 1)
    # A constant signal keeps (almost) its level in every output phase.
    np.testing.assert_allclose(kernel.sum(dim=-1).numpy().ravel(), [1.0, 1.0], atol=1e-2)
    kernel, width = sinc_kernel(32000, 16000)
    assert kernel.shape == (1, 1, 2 * width + 2) and width == 13


def test_rejects_bad_input() -> None:
    with pytest.raises(InvalidArgument):
        resample(torch.zeros(10, dtype=torch.int16), 16000, 32000)
    with pytest.raises(InvalidArgument):
        resample(torch.zeros(10), 0, 32000)


def test_reference_chain_matches_frozen_official_chain() -> None:
    data = np.load(FIXTURES / "resample_torchaudio.npz")
    prepared = prepare_reference_audio(torch.from_numpy(data["chain_in_16k"]), 16000)
    np.testing.assert_allclose(prepared.wav32k[0].numpy(), data["chain_out_32k"], atol=2e-6)
    assert prepared.wav16k_sv is not None
    np.testing.assert_allclose(prepared.wav16k_sv[0].numpy(), data["chain_out_16k"], atol=2e-6)


def test_reference_chain_peak_rule_and_channels() -> None:
    t = np.arange(3200) / 32000
    tone = np.sin(2 * np.pi * 500 * t).astype(np.float32)
    quiet = prepare_reference_audio(torch.from_numpy(0.5 * tone), 32000, with_sv_input=False)
    assert quiet.wav16k_sv is None
    np.testing.assert_allclose(quiet.wav32k[0].numpy(), 0.5 * tone)  # 32 kHz: no resampling
    loud = prepare_reference_audio(torch.from_numpy(1.5 * tone), 32000)
    assert loud.wav32k.abs().max().item() == pytest.approx(1.0)
    very_loud = prepare_reference_audio(torch.from_numpy(3.0 * tone), 32000)
    assert very_loud.wav32k.abs().max().item() == pytest.approx(1.5)  # divided by at most 2
    stereo = torch.from_numpy(np.stack([0.2 * tone, 0.4 * tone]))
    mixed = prepare_reference_audio(stereo, 32000)
    np.testing.assert_allclose(mixed.wav32k[0].numpy(), 0.3 * tone, atol=1e-7)
    assert mixed.wav16k_sv is not None and mixed.wav16k_sv.shape == (1, 1600)
