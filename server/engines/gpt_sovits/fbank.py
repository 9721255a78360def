"""Kaldi-compatible log-mel filterbank features, as the GPT-SoVITS speaker-verification input.

The official SV path computes ``fbank(wav, num_mel_bins=80, sample_frequency=16000, dither=0)``
with a vendored copy of ``torchaudio.compliance.kaldi``; every other option keeps Kaldi's
``compute-fbank-feats`` default. Those defaults are fixed here rather than exposed, because
the ERes2NetV2 weights were trained on exactly these features:

- 25 ms frames every 10 ms (400 / 160 samples at 16 kHz), only frames that fit entirely
  ("snip edges"), so ``1 + (N - 400) // 160`` frames;
- per frame: DC offset removed, pre-emphasis 0.97 (the first sample pre-emphasises itself),
  Povey window (symmetric Hann to the power 0.85), zero-padded to 512 for the FFT;
- power spectrum, 80 triangular filters equally spaced on Kaldi's mel scale
  ``1127 ln(1 + f / 700)`` from 20 Hz to Nyquist (the Nyquist bin gets no weight);
- natural log, floored at float32 epsilon. No energy column, no mean normalisation.

Everything is computed in the waveform's dtype in the same order as the reference, so float32
results agree to the last bit or so; the filter bank is cached per (bins, rate, device, dtype).
"""

from __future__ import annotations

import math
import threading

import torch
import torch.nn.functional as F

from server.errors import InvalidArgument

FRAME_LENGTH_MS = 25.0
FRAME_SHIFT_MS = 10.0
PREEMPHASIS = 0.97
POVEY_EXPONENT = 0.85
LOW_FREQ_HZ = 20.0

_bank_cache: dict[tuple[int, int, str, torch.dtype], torch.Tensor] = {}
_window_cache: dict[tuple[int, str, torch.dtype], torch.Tensor] = {}
_cache_lock = threading.Lock()


def frame_geometry(sample_rate: int) -> tuple[int, int, int]:
    """``(frame_length, frame_shift, fft_size)`` in samples for ``sample_rate``."""
    length = int(sample_rate * FRAME_LENGTH_MS * 0.001)
    shift = int(sample_rate * FRAME_SHIFT_MS * 0.001)
    fft_size = 1 << (length - 1).bit_length()
    return length, shift, fft_size


def num_frames(num_samples: int, sample_rate: int = 16000) -> int:
    """Frames produced for ``num_samples`` samples (0 when shorter than one frame)."""
    length, shift, _ = frame_geometry(sample_rate)
    return 0 if num_samples < length else 1 + (num_samples - length) // shift


def kaldi_mel_scale(freq: torch.Tensor) -> torch.Tensor:
    """Kaldi's mel scale, ``1127 * ln(1 + f / 700)``."""
    return 1127.0 * (1.0 + freq / 700.0).log()


def mel_filterbank(
    num_mel_bins: int,
    sample_rate: int,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The ``(num_mel_bins, fft_size // 2 + 1)`` triangular filter matrix (last column zero).

    Filter ``b`` rises linearly in mel from edge ``b`` to edge ``b + 1`` and falls to edge
    ``b + 2``, with ``num_mel_bins + 2`` edges equally spaced between the mel values of 20 Hz
    and Nyquist. FFT bin ``k`` sits at ``k * sample_rate / fft_size`` Hz.
    """
    if num_mel_bins <= 3:
        raise InvalidArgument("fbank needs more than 3 mel bins")
    key = (num_mel_bins, sample_rate, str(device), dtype)
    with _cache_lock:
        cached = _bank_cache.get(key)
    if cached is not None:
        return cached

    _, _, fft_size = frame_geometry(sample_rate)
    low_mel = 1127.0 * math.log(1.0 + LOW_FREQ_HZ / 700.0)
    high_mel = 1127.0 * math.log(1.0 + (0.5 * sample_rate) / 700.0)
    step = (high_mel - low_mel) / (num_mel_bins + 1)

    # Edges in float32 like the reference: an integer ramp times a Python float.
    ramp = torch.arange(num_mel_bins)[:, None]
    left = low_mel + ramp * step
    centre = low_mel + (ramp + 1.0) * step
    right = low_mel + (ramp + 2.0) * step
    bin_hz = (sample_rate / fft_size) * torch.arange(fft_size // 2, dtype=torch.float32)
    mel = kaldi_mel_scale(bin_hz)[None, :]

    rising = (mel - left) / (centre - left)
    falling = (right - mel) / (right - centre)
    bank = torch.clamp(torch.minimum(rising, falling), min=0.0)
    bank = F.pad(bank, (0, 1)).to(device=device, dtype=dtype)
    with _cache_lock:
        _bank_cache[key] = bank
    return bank


def povey_window(length: int, device: torch.device | str, dtype: torch.dtype) -> torch.Tensor:
    """Kaldi's Povey window: a symmetric Hann window raised to the power 0.85."""
    key = (length, str(device), dtype)
    with _cache_lock:
        window = _window_cache.get(key)
        if window is None:
            hann = torch.hann_window(length, periodic=False, device=device, dtype=dtype)
            window = hann.pow(POVEY_EXPONENT)
            _window_cache[key] = window
    return window


def fbank(wav: torch.Tensor, num_mel_bins: int = 80, sample_rate: int = 16000) -> torch.Tensor:
    """Log-mel filterbank of a mono waveform ``(N,)`` or ``(1, N)`` -> ``(frames, num_mel_bins)``.

    The waveform is float audio in [-1, 1] (not int16-scaled). Raises ``InvalidArgument`` when
    it is shorter than one 25 ms frame.
    """
    if wav.dim() == 2 and wav.shape[0] == 1:
        wav = wav[0]
    if wav.dim() != 1:
        raise InvalidArgument(f"fbank expects a mono waveform, got shape {tuple(wav.shape)}")
    if not wav.is_floating_point():
        raise InvalidArgument(f"fbank expects a floating-point waveform, got {wav.dtype}")
    length, shift, fft_size = frame_geometry(sample_rate)
    if wav.shape[0] < length:
        raise InvalidArgument(
            f"audio too short for speaker features: {wav.shape[0]} samples, need {length}"
        )

    frames = wav.unfold(0, length, shift)  # (m, length), a view
    frames = frames - frames.mean(dim=1, keepdim=True)
    previous = torch.cat((frames[:, :1], frames[:, :-1]), dim=1)
    frames = frames - PREEMPHASIS * previous
    frames = frames * povey_window(length, wav.device, wav.dtype)[None, :]
    frames = F.pad(frames, (0, fft_size - length))

    power = torch.fft.rfft(frames).abs().pow(2.0)  # (m, fft_size // 2 + 1)
    bank = mel_filterbank(num_mel_bins, sample_rate, wav.device, wav.dtype)
    energies = torch.mm(power, bank.T)
    floor = torch.tensor(torch.finfo(torch.float32).eps, device=wav.device, dtype=wav.dtype)
    return torch.maximum(energies, floor).log()
