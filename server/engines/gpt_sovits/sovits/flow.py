"""The normalising flow between the prior latent and the decoder latent.

Inference runs it in reverse (prior -> decoder latent); training runs it forward on the
posterior latent (:meth:`ResidualCouplingFlow.forward`), with ``(B, 1, T)`` masks.

The flow is ``[coupling, flip] * 4``. Each coupling is mean-only (volume preserving): the
first half of the channels passes unchanged and predicts, through a speaker-conditioned
non-causal WaveNet, a shift for the second half. Inference inverts it: walking the list
backwards, a flip reverses the channel order and a coupling subtracts its shift.

Names follow the checkpoints (``flows.{0,2,4,6}.pre/enc/post``; the odd indices are the
parameterless flips). Weight-normed convolutions are plain convolutions here: the loader
folds ``weight_g``/``weight_v`` into ``weight``.
"""

from __future__ import annotations

import warnings

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

    def forward(self, x: torch.Tensor, g: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, C, T)``, ``g (B, gin, 1)`` -> skip sum ``(B, C, T)``; ``mask (B, 1, T)``."""
        if mask is not None:
            return self._forward_masked(x, g, mask)
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

    def _forward_masked(self, x: torch.Tensor, g: torch.Tensor,
                        mask: torch.Tensor) -> torch.Tensor:
        """The official WN with a mask (training): the residual stream and the output are
        masked, and the gate is a TorchScript function like the reference's, whose backward
        rounds differently from eager mode (parity of the gradients depends on it)."""
        c = self.channels
        channels = torch.tensor([c], dtype=torch.int32)
        cond = self.cond_layer(g)
        output = torch.zeros_like(x)
        for i, (in_layer, res_skip) in enumerate(
            zip(self.in_layers, self.res_skip_layers, strict=True)
        ):
            acts = _gated_tanh(in_layer(x), cond[:, 2 * c * i:2 * c * (i + 1)], channels)
            rs = res_skip(acts)
            if i < self.n_layers - 1:
                x = (x + rs[:, :c]) * mask
                output = output + rs[:, c:]
            else:
                output = output + rs
        return output * mask


def _gate(a: torch.Tensor, b: torch.Tensor, channels: torch.Tensor) -> torch.Tensor:
    """``tanh(h[:, :c]) * sigmoid(h[:, c:])`` of ``h = a + b`` (scripted; see the caller)."""
    c = int(channels[0])
    h = a + b
    return torch.tanh(h[:, :c, :]) * torch.sigmoid(h[:, c:, :])


with warnings.catch_warnings():  # TorchScript is deprecated, but it is what the reference runs
    warnings.simplefilter("ignore", DeprecationWarning)
    _gated_tanh = torch.jit.script(_gate)


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

    def forward(self, x: torch.Tensor, g: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The coupling on ``(B, C, T)`` with a ``(B, 1, T)`` mask (training)."""
        x0, x1 = torch.split(x, [self.half_channels, self.half_channels], dim=1)
        h = self.enc(self.pre(x0) * mask, g, mask)
        shift = self.post(h) * mask
        # the official x1 * exp(logs) * mask with logs = 0 (mean-only): exp(0) is exactly 1
        return torch.cat([x0, shift + x1 * mask], dim=1)


class ChannelFlip(nn.Module):
    """Reverses the channel order (its own inverse); holds no weights."""

    def reverse(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Flip channels of ``(B, C, T)``."""
        return torch.flip(x, [1])

    def forward(self, x: torch.Tensor, g: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Flip channels of ``(B, C, T)`` (same both ways)."""
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

    def forward(self, z: torch.Tensor, g: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Map a posterior latent ``(B, C, T)`` to the prior space (training direction)."""
        for step in self.flows:
            z = step(z, g, mask)
        return z

    def reverse(self, z: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Map a prior sample ``(B, C, T)`` to the decoder latent, given the speaker ``g``."""
        for step in reversed(self.flows):
            z = step.reverse(z, g)  # type: ignore[operator]
        return z
