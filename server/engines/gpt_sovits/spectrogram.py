"""The linear magnitude spectrogram of a 32 kHz reference clip (SoVITS ``refer`` input).

Matches the official ``spectrogram_torch`` as ``TTS._get_ref_spec`` calls it: the waveform is
reflect-padded by ``(n_fft - hop) / 2`` samples on each side, framed without centring
(``center=False``) with a periodic Hann window of ``n_fft`` samples, and each bin's
magnitude is ``sqrt(re^2 + im^2 + 1e-8)`` (the epsilon keeps silent bins finite for the
reference encoder). With the released settings (2048 / 640) a clip of ``N`` samples gives
``(N + 1408 - 2048) // 640 + 1`` frames of 1025 bins.

Resampling to 32 kHz and the peak rule come before this (``resample.prepare_reference_audio``).
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F

from server.errors import InvalidArgument

N_FFT = 2048
HOP_LENGTH = 640
WIN_LENGTH = 2048
_MAGNITUDE_EPS = 1e-8

_windows: dict[tuple[int, torch.dtype, str], torch.Tensor] = {}
_windows_lock = threading.Lock()


def _hann(length: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    key = (length, dtype, str(device))
    with _windows_lock:
        window = _windows.get(key)
        if window is None:
            # Built in float32 and then cast, as the reference does. Never an inference
            # tensor, even when first asked for under inference mode: training (which saves
            # the window for the backward pass) shares this cache.
            with torch.inference_mode(False):
                window = torch.hann_window(length).to(dtype=dtype, device=device)
            _windows[key] = window
    return window


def reference_spectrogram(
    wav32k: torch.Tensor,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
    win_length: int = WIN_LENGTH,
) -> torch.Tensor:
    """``(1, N)`` (or ``(N,)``) waveform -> ``(1, n_fft // 2 + 1, frames)`` magnitudes.

    Raises ``InvalidArgument`` when the clip is too short to be reflect-padded and framed.
    """
    if wav32k.dim() == 1:
        wav32k = wav32k[None]
    if wav32k.dim() != 2:
        raise InvalidArgument(f"waveform must be (B, N) or (N,), got {tuple(wav32k.shape)}")
    pad = (n_fft - hop_length) // 2
    if wav32k.shape[-1] <= pad or wav32k.shape[-1] + 2 * pad < n_fft:
        raise InvalidArgument(
            f"reference clip of {wav32k.shape[-1]} samples is too short for a spectrogram"
        )
    padded = F.pad(wav32k[:, None], (pad, pad), mode="reflect")[:, 0]
    window = _hann(win_length, wav32k.dtype, wav32k.device)
    spec = torch.stft(
        padded, n_fft, hop_length=hop_length, win_length=win_length, window=window,
        center=False, normalized=False, onesided=True, return_complex=True,
    )
    return torch.sqrt(torch.view_as_real(spec).pow(2).sum(-1) + _MAGNITUDE_EPS)
