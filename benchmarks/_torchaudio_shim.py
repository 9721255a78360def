"""A minimal stand-in for ``torchaudio.transforms``, used only to run ``resemble-perth``.

PerTh imports ``Spectrogram``, ``InverseSpectrogram`` and ``TimeStretch`` from torchaudio,
but no torchaudio build matches the pinned torch here. Its inference path needs only the
two spectrogram transforms, which are thin wrappers of ``torch.stft``/``torch.istft``
(centred, reflect padding, one-sided, complex output); this module provides exactly that
and registers itself as ``torchaudio.transforms`` when torchaudio is missing.
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable

import torch
from torch import nn


class Spectrogram(nn.Module):
    """Complex STFT (``power=None``), as torchaudio computes it with its defaults."""

    def __init__(self, n_fft: int, win_length: int, hop_length: int, window_fn: Callable[..., torch.Tensor],
                 power: float | None = None, normalized: bool = False) -> None:
        super().__init__()
        if power is not None or normalized:
            raise NotImplementedError("only the complex, unnormalised spectrogram is provided")
        self.n_fft, self.win_length, self.hop_length = n_fft, win_length, hop_length
        self.register_buffer("window", window_fn(win_length))

    def forward(self, signal: torch.Tensor) -> torch.Tensor:
        return torch.stft(signal, self.n_fft, self.hop_length, self.win_length, self.window,
                          center=True, pad_mode="reflect", onesided=True, return_complex=True)


class InverseSpectrogram(nn.Module):
    """Inverse of :class:`Spectrogram` (overlap-add with the same window)."""

    def __init__(self, n_fft: int, win_length: int, hop_length: int, window_fn: Callable[..., torch.Tensor],
                 normalized: bool = False) -> None:
        super().__init__()
        self.n_fft, self.win_length, self.hop_length = n_fft, win_length, hop_length
        self.register_buffer("window", window_fn(win_length))

    def forward(self, spectrum: torch.Tensor, length: int | None = None) -> torch.Tensor:
        return torch.istft(spectrum, self.n_fft, self.hop_length, self.win_length, self.window,
                           center=True, onesided=True, length=length)


class TimeStretch(nn.Module):
    """Constructed by PerTh but not used for watermarking or detection."""

    def __init__(self, n_freq: int, hop_length: int) -> None:
        super().__init__()
        # Same buffer as torchaudio, so PerTh's checkpoint loads strictly.
        self.register_buffer("phase_advance", torch.linspace(0, math.pi * hop_length, n_freq)[..., None])

    def forward(self, spectrum: torch.Tensor, rate: float) -> torch.Tensor:
        raise NotImplementedError("TimeStretch is not provided by this shim")


def install() -> None:
    """Register this module as ``torchaudio.transforms`` if torchaudio is not installed."""
    try:
        import torchaudio  # noqa: F401
    except ImportError:
        package = types.ModuleType("torchaudio")
        package.transforms = sys.modules[__name__]  # type: ignore[attr-defined]
        sys.modules["torchaudio"] = package
        sys.modules["torchaudio.transforms"] = sys.modules[__name__]
