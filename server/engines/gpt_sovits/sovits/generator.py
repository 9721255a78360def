"""``dec``: the HiFi-GAN generator that turns the 50 Hz latent into 32 kHz audio.

``conv_pre`` (+ the speaker vector through ``cond``), then per upsampling stage: leaky ReLU
(slope 0.1), a transposed convolution, and the average of the stage's multi-receptive-field
residual blocks; finally a leaky ReLU with PyTorch's default slope 0.01 (the reference uses
that default here, not the 0.1 of the stages), ``conv_post`` without bias, and ``tanh``.

Weight-normed layers (``ups``, the residual blocks) are plain convolutions; the loader folds
their ``weight_g``/``weight_v``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.1


def _same_padding(kernel_size: int, dilation: int) -> int:
    return (kernel_size * dilation - dilation) // 2


class ResBlock1(nn.Module):
    """Three (dilated conv, conv) pairs, each ``x = x + c2(lrelu(c1(lrelu(x))))``."""

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d,
                      padding=_same_padding(kernel_size, d))
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, padding=_same_padding(kernel_size, 1))
            for _ in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, C, T)``."""
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            h = c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
            x = h + x
        return x


class ResBlock2(nn.Module):
    """Dilated convs, each ``x = x + c(lrelu(x))`` (the ``resblock: "2"`` variant)."""

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d,
                      padding=_same_padding(kernel_size, d))
            for d in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, C, T)``."""
        for conv in self.convs:
            x = conv(F.leaky_relu(x, LRELU_SLOPE)) + x
        return x


class SovitsGenerator(nn.Module):
    """Latent ``(B, C, T)`` + speaker ``(B, gin, 1)`` -> audio ``(B, 1, T * prod(rates))``."""

    def __init__(
        self,
        in_channels: int,
        resblock: str,
        resblock_kernel_sizes: Sequence[int],
        resblock_dilation_sizes: Sequence[Sequence[int]],
        upsample_rates: Sequence[int],
        upsample_initial_channel: int,
        upsample_kernel_sizes: Sequence[int],
        gin_channels: int,
    ) -> None:
        super().__init__()
        block = ResBlock1 if resblock == "1" else ResBlock2
        self.n_kernels = len(resblock_kernel_sizes)
        self.conv_pre = nn.Conv1d(in_channels, upsample_initial_channel, 7, padding=3)
        self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        channels = upsample_initial_channel
        for rate, kernel in zip(upsample_rates, upsample_kernel_sizes, strict=True):
            self.ups.append(
                nn.ConvTranspose1d(channels, channels // 2, kernel, rate,
                                   padding=(kernel - rate) // 2)
            )
            channels //= 2
            for k, dilations in zip(resblock_kernel_sizes, resblock_dilation_sizes, strict=True):
                self.resblocks.append(block(channels, k, dilations))
        self.conv_post = nn.Conv1d(channels, 1, 7, padding=3, bias=False)

    def forward(self, z: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Synthesize audio in ``[-1, 1]``."""
        x = self.conv_pre(z) + self.cond(g)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            blocks = self.resblocks[i * self.n_kernels:(i + 1) * self.n_kernels]
            acc = blocks[0](x)
            for block in blocks[1:]:
                acc = acc + block(x)
            x = acc / self.n_kernels
        return torch.tanh(self.conv_post(F.leaky_relu(x)))
