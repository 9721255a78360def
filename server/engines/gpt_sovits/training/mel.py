"""Log-mel spectrograms for the SoVITS reconstruction loss (the official ``mel_processing``).

Both sides of the loss use the same 128-band Slaney mel filterbank (librosa's, 32 kHz, 2048-
point FFT, 0 Hz to Nyquist) on the linear magnitude spectrogram of
:func:`~server.engines.gpt_sovits.spectrogram.reference_spectrogram`, then ``log(max(x,
1e-5))``: the target from the clip's stored spectrogram, the prediction from the generated
waveform.
"""

from __future__ import annotations

import functools

import librosa
import torch

from server.engines.gpt_sovits.spectrogram import N_FFT, reference_spectrogram

SAMPLE_RATE = 32_000
N_MELS = 128
LOG_FLOOR = 1e-5


@functools.lru_cache(maxsize=4)
def _basis(device: str) -> torch.Tensor:
    basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0, fmax=None)
    with torch.inference_mode(False):  # cached: must be usable by autograd whoever asks first
        return torch.from_numpy(basis).to(device=device, dtype=torch.float32)


def spec_to_mel(spec: torch.Tensor) -> torch.Tensor:
    """``(B, 1025, T)`` magnitudes -> ``(B, 128, T)`` log-mel."""
    mel = torch.matmul(_basis(str(spec.device)).to(spec.dtype), spec)
    return torch.log(torch.clamp(mel, min=LOG_FLOOR))


def waveform_mel(audio: torch.Tensor) -> torch.Tensor:
    """``(B, N)`` 32 kHz waveform -> ``(B, 128, frames)`` log-mel (differentiable)."""
    return spec_to_mel(reference_spectrogram(audio))
