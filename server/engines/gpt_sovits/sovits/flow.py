"""The normalising flow between the prior latent and the decoder latent, run in reverse.

The flow is ``[coupling, flip] * 4``. Each coupling is mean-only (volume preserving): the
first half of the channels passes unchanged and predicts, through a speaker-conditioned
non-causal WaveNet, a shift for the second half. Inference inverts it: walking the list
backwards, a flip reverses the channel order and a coupling subtracts its shift.

Names follow the checkpoints (``flows.{0,2,4,6}.pre/enc/post``; the odd indices are the
parameterless flips). Weight-normed convolutions are plain convolutions here: the loader
folds ``weight_g``/``weight_v`` into ``weight``.
"""

from __future__ import annotations

import torch
from torch import nn


class WaveNet(nn.Module):
    """Gated dilated-conv stack with a global conditioning vector (VITS ``WN``).

    Layer ``i``: ``a = tanh(h_a + g_a) * sigmoid(h_b + g_b)`` with ``[h_a, h_b] = in_i(x)`` and
    the layer's slice of ``cond_layer(g)``; ``res_skip_i(a)`` gives a residual for ``x`` and a
    skip output (the last layer gives only the skip). Returns the sum of the skips.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.n_layers = n_layers
        self.cond_layer = nn.Conv1d(gin_channels, 2 * channels * n_layers, 1)
        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        for i in range(n_layers):
            dilation = dilation_rate**i
            self.in_layers.append(
                nn.Conv1d(
                    channels, 2 * channels, kernel_size, dilation=dilation,
                    padding=(kernel_size * dilation - dilation) // 2,
                )
            )
            out = 2 * channels if i < n_layers - 1 else channels
            self.res_skip_layers.append(nn.Conv1d(channels, out, 1))

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """``x (B, C, T)``, ``g (B, gin, 1)`` -> skip sum ``(B, C, T)``."""
        c = self.channels
        cond = self.cond_layer(g)
        output: torch.Tensor | None = None
        for i, (in_layer, res_skip) in enumerate(
            zip(self.in_layers, self.res_skip_layers, strict=True)
        ):
            h = in_layer(x) + cond[:, 2 * c * i:2 * c * (i + 1)]
            acts = torch.tanh(h[:, :c]) * torch.sigmoid(h[:, c:])
            rs = res_skip(acts)
            if i < self.n_layers - 1:
                x = x + rs[:, :c]
                skip = rs[:, c:]
            else:
                skip = rs
            output = skip if output is None else output + skip
        assert output is not None
        return output


class MeanOnlyCoupling(nn.Module):
    """Affine coupling without scale: ``x1 -> x1 - post(WN(pre(x0), g))`` in reverse."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int,
    ) -> None:
        super().__init__()
        # Not ``half``: that would hide ``nn.Module.half()``.
        self.half_channels = channels // 2
        self.pre = nn.Conv1d(self.half_channels, hidden_channels, 1)
        self.enc = WaveNet(hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels)
        self.post = nn.Conv1d(hidden_channels, self.half_channels, 1)

    def reverse(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Invert the coupling on ``(B, C, T)``."""
        x0, x1 = torch.split(x, [self.half_channels, self.half_channels], dim=1)
        shift = self.post(self.enc(self.pre(x0), g))
        return torch.cat([x0, x1 - shift], dim=1)


class ChannelFlip(nn.Module):
    """Reverses the channel order (its own inverse); holds no weights."""

    def reverse(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Flip channels of ``(B, C, T)``."""
        return torch.flip(x, [1])


class ResidualCouplingFlow(nn.Module):
    """``flow``: ``n_couplings`` mean-only couplings, each followed by a channel flip."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        n_couplings: int,
        gin_channels: int,
    ) -> None:
        super().__init__()
        self.flows = nn.ModuleList()
        for _ in range(n_couplings):
            self.flows.append(
                MeanOnlyCoupling(
                    channels, hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels
                )
            )
            self.flows.append(ChannelFlip())

    def reverse(self, z: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Map a prior sample ``(B, C, T)`` to the decoder latent, given the speaker ``g``."""
        for step in reversed(self.flows):
            z = step.reverse(z, g)  # type: ignore[operator]
        return z
