"""Band-limited resampling that reproduces torchaudio's default ``Resample`` numerically.

GPT-SoVITS resamples the reference clip with ``torchaudio.transforms.Resample`` (Hann-windowed
sinc, 6 zero crossings, roll-off 0.99): 16 kHz -> 32 kHz for the reference spectrogram and,
for the Pro variants, 32 kHz -> 16 kHz again for the speaker-verification input. torchaudio is
not a dependency of voxguard, so this module implements the same polyphase filter itself.

How it works: after dividing both rates by their gcd, ``orig`` input samples map onto ``new``
output samples. Output phase ``j`` (0 <= j < new) sits at input time ``j / new`` (in units of
``orig`` samples), so its filter tap for input offset ``i`` is a low-pass sinc evaluated at
``i / orig - j / new``, tapered by a Hann window that reaches zero after
``lowpass_filter_width`` zero crossings. All phases are applied at once by a strided
``conv1d`` with ``new`` output channels, whose outputs are then interleaved.

The kernel is built in float64 and rounded to the waveform's dtype, exactly as the transform
does when no dtype is given (its functional twin builds it in the waveform's dtype instead and
differs in the last bits), and cached per (rates, device, dtype). float64 waveforms get
torchaudio's float64 kernel (``Resample(..., dtype=torch.float64)``).

This module also holds the reference-audio chain of the official ``TTS._get_ref_spec``
(:func:`prepare_reference_audio`), since it is just resampling plus one peak rule.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from server.errors import InvalidArgument

LOWPASS_FILTER_WIDTH = 6
ROLLOFF = 0.99

#: The SoVITS reference spectrogram rate and the speaker-verification rate.
SPEC_SAMPLE_RATE = 32000
SV_SAMPLE_RATE = 16000

_KernelKey = tuple[int, int, str, torch.dtype]
_kernel_cache: dict[_KernelKey, tuple[torch.Tensor, int]] = {}
_kernel_lock = threading.Lock()


def _reduced_rates(orig_sr: int, new_sr: int) -> tuple[int, int]:
    """Both rates divided by their gcd: the polyphase period in input and output samples."""
    g = math.gcd(orig_sr, new_sr)
    return orig_sr // g, new_sr // g


def sinc_kernel(
    orig_sr: int, new_sr: int, *, float32_phases: bool = True
) -> tuple[torch.Tensor, int]:
    """The float64 polyphase filter bank for ``orig_sr -> new_sr`` and its half-width.

    Returns ``(kernel, width)`` where ``kernel`` has shape ``(new, 1, 2 * width + orig)``
    (rates reduced by their gcd); row ``j`` holds the taps of output phase ``j`` for the input
    samples ``-width .. width + orig - 1`` around the current stride position.

    torchaudio's transform forms the phase offsets ``j / new`` in float32 (an integer tensor
    divided by an int) before they meet the float64 taps; ``float32_phases`` reproduces that
    rounding, which matters only for rate pairs whose ``j / new`` is not exact in float32.
    With ``float32_phases=False`` the kernel equals torchaudio's float64 kernel instead.
    """
    orig, new = _reduced_rates(orig_sr, new_sr)
    # Cut-off relative to the input rate: just under the lower of the two Nyquist limits.
    cutoff = min(orig, new) * ROLLOFF
    width = math.ceil(LOWPASS_FILTER_WIDTH * orig / cutoff)

    taps = torch.arange(-width, width + orig, dtype=torch.float64) / orig
    phase_dtype = torch.float32 if float32_phases else torch.float64
    phases = (torch.arange(new, dtype=phase_dtype) / new).to(torch.float64)
    x = (taps[None, :] - phases[:, None]) * cutoff
    x = x.clamp(-LOWPASS_FILTER_WIDTH, LOWPASS_FILTER_WIDTH)

    hann = torch.cos(x * math.pi / LOWPASS_FILTER_WIDTH / 2) ** 2
    x = x * math.pi
    sinc = torch.where(x == 0, torch.ones_like(x), torch.sin(x) / x)
    kernel = sinc * (hann * (cutoff / orig))
    return kernel[:, None, :], width


def _cached_kernel(
    orig_sr: int, new_sr: int, device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, int]:
    """The kernel rounded to ``dtype`` on ``device``, built once per key."""
    key = (orig_sr, new_sr, str(device), dtype)
    with _kernel_lock:
        hit = _kernel_cache.get(key)
        if hit is None:
            kernel, width = sinc_kernel(orig_sr, new_sr, float32_phases=dtype != torch.float64)
            hit = (kernel.to(device=device, dtype=dtype), width)
            _kernel_cache[key] = hit
    return hit


def resampled_length(length: int, orig_sr: int, new_sr: int) -> int:
    """Number of output samples for ``length`` input samples: ``ceil(length * new / orig)``."""
    orig, new = _reduced_rates(orig_sr, new_sr)
    return -(-length * new // orig)


def resample(wav: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Resample ``wav`` (``(..., time)``, floating point) from ``orig_sr`` to ``new_sr`` Hz.

    Numerically equal to ``torchaudio.transforms.Resample(orig_sr, new_sr)(wav)`` with default
    arguments. Equal rates return ``wav`` itself, as torchaudio does.
    """
    if int(orig_sr) != orig_sr or int(new_sr) != new_sr or orig_sr <= 0 or new_sr <= 0:
        raise InvalidArgument(f"sample rates must be positive integers, got {orig_sr} -> {new_sr}")
    orig_sr, new_sr = int(orig_sr), int(new_sr)
    if not wav.is_floating_point():
        raise InvalidArgument(f"resample expects a floating-point waveform, got {wav.dtype}")
    if orig_sr == new_sr:
        return wav

    orig, _ = _reduced_rates(orig_sr, new_sr)
    kernel, width = _cached_kernel(orig_sr, new_sr, wav.device, wav.dtype)
    shape = wav.shape
    flat = wav.reshape(-1, shape[-1])
    length = flat.shape[-1]
    # Zero padding on both sides; the extra `orig` on the right lets the last stride finish.
    padded = F.pad(flat, (width, width + orig))
    phases = F.conv1d(padded[:, None, :], kernel, stride=orig)  # (batch, new, frames)
    out = phases.transpose(1, 2).reshape(flat.shape[0], -1)
    out = out[:, : resampled_length(length, orig_sr, new_sr)]
    return out.reshape(*shape[:-1], out.shape[-1])


@dataclass(frozen=True)
class ReferenceAudio:
    """The reference clip as the official ``_get_ref_spec`` hands it on.

    ``wav32k`` is the ``(1, N)`` 32 kHz mono waveform that the linear spectrogram is taken from
    (already peak-limited); ``wav16k_sv`` is the ``(1, M)`` 16 kHz waveform the Pro variants
    feed to speaker verification, or ``None`` when it was not requested.
    """

    wav32k: torch.Tensor
    wav16k_sv: torch.Tensor | None


def prepare_reference_audio(
    wav: torch.Tensor, sample_rate: int, *, with_sv_input: bool = True
) -> ReferenceAudio:
    """Apply the official reference chain to a decoded clip (float, nominally in [-1, 1]).

    ``wav`` is ``(N,)`` or ``(channels, N)``. Steps, in the official order: channels are
    averaged to mono; the clip is resampled to 32 kHz (skipped when already 32 kHz); if its
    peak exceeds 1 it is divided by ``min(2, peak)`` (so a peak above 2 stays above 1); for
    speaker verification the result is resampled back to 16 kHz. A 16 kHz input therefore
    reaches the SV model after two resamplings, not unchanged.
    """
    if wav.dim() == 1:
        wav = wav[None, :]
    if wav.dim() != 2 or wav.shape[-1] == 0:
        raise InvalidArgument("reference audio must be a non-empty (channels, samples) waveform")
    wav = wav.float()
    if wav.shape[0] > 1:
        # Official code averages stereo only; averaging any channel count is the same for 2.
        wav = wav.mean(0, keepdim=True)
    wav32k = resample(wav, sample_rate, SPEC_SAMPLE_RATE)
    peak = wav32k.abs().max()
    if peak > 1:
        wav32k = wav32k / torch.clamp(peak, max=2.0)
    wav16k = resample(wav32k, SPEC_SAMPLE_RATE, SV_SAMPLE_RATE) if with_sv_input else None
    return ReferenceAudio(wav32k=wav32k, wav16k_sv=wav16k)
