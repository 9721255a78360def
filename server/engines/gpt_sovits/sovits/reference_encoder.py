"""``ref_enc``: the style encoder that turns a reference linear spectrogram into one speaker
vector ``(1, gin_channels, 1)`` (Meta-StyleSpeech's mel-style encoder, on linear bins here).

Per frame: two Linear+Mish layers on the lowest 704 spectrogram bins, two gated residual
convolutions over time, one residual multi-head self-attention, a Linear to the output width;
the frames are then averaged. The official average divides every frame by the frame count
before summing, which is reproduced as is (it rounds differently from ``mean``).

Module and parameter names follow the released checkpoints (``spectral.0.fc``,
``temporal.0.conv1.conv``, ``slf_attn.w_qs``, ...). The spectral/temporal stacks keep their
indices ``0``/``3`` and ``0``/``1`` because the checkpoints number them that way.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from server.engines.gpt_sovits.sovits.config import REF_ENC_BINS

STYLE_HIDDEN = 128
STYLE_KERNEL = 5
STYLE_HEADS = 2


def mish(x: torch.Tensor) -> torch.Tensor:
    """``x * tanh(softplus(x))``, spelled out to round exactly as the reference does."""
    return x * torch.tanh(F.softplus(x))


class _Linear(nn.Module):
    """A Linear stored under ``.fc`` (the checkpoint's ``LinearNorm`` wrapper)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class _Conv(nn.Module):
    """A "same"-padded Conv1d stored under ``.conv`` (the checkpoint's ``ConvNorm`` wrapper)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class GatedConv(nn.Module):
    """Residual GLU convolution: ``x + a * sigmoid(b)`` with ``a, b = conv(x)`` split in two."""

    dropout = 0.0  # on the gated branch (training only)

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv1 = _Conv(channels, 2 * channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, C, T)``."""
        a, b = torch.chunk(self.conv1(x), 2, dim=1)
        return x + _dropout(a * torch.sigmoid(b), self.dropout, self.training)


class StyleSelfAttention(nn.Module):
    """Residual multi-head self-attention on ``(B, T, C)`` whose scores are divided by
    ``sqrt(C)`` (the model width, not the head width) after the product."""

    dropout = 0.0  # on the attention weights and the output (training only)

    def __init__(self, channels: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = channels // n_heads
        self.temperature = math.sqrt(channels)
        self.w_qs = nn.Linear(channels, channels)
        self.w_ks = nn.Linear(channels, channels)
        self.w_vs = nn.Linear(channels, channels)
        self.fc = nn.Linear(channels, channels)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.n_heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x: torch.Tensor, padded: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T, C) -> (B, T, C)``; ``padded (B, T)`` (True = padding) hides those keys."""
        if padded is not None:
            return self._forward_padded(x, padded)
        b, t, c = x.shape
        q, k, v = self._heads(self.w_qs(x)), self._heads(self.w_ks(x)), self._heads(self.w_vs(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) / self.temperature
        probs = _dropout(torch.softmax(scores, dim=-1), self.dropout, self.training)
        out = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(b, t, c)
        return _dropout(self.fc(out), self.dropout, self.training) + x

    def _forward_padded(self, x: torch.Tensor, padded: torch.Tensor) -> torch.Tensor:
        """The training path, in the reference's layout (heads folded into the batch, batched
        matrix products), so that rounding - which alone moves the key bias - is the same."""
        b, t, _ = x.shape
        h, d = self.n_heads, self.head_dim

        def fold(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, h, d).permute(2, 0, 1, 3).contiguous().view(-1, t, d)

        q, k, v = fold(self.w_qs(x)), fold(self.w_ks(x)), fold(self.w_vs(x))
        scores = torch.bmm(q, k.transpose(1, 2)) / self.temperature
        keys_hidden = padded.unsqueeze(1).expand(-1, t, -1).repeat(h, 1, 1)
        scores = scores.masked_fill(keys_hidden, float("-inf"))
        probs = _dropout(torch.softmax(scores, dim=2), self.dropout, self.training)
        out = torch.bmm(probs, v).view(h, b, t, d).permute(1, 2, 0, 3).contiguous().view(b, t, -1)
        return _dropout(self.fc(out), self.dropout, self.training) + x


class MelStyleEncoder(nn.Module):
    """Reference spectrogram ``(B, bins, T)`` -> style vector ``(B, out_dim, 1)``."""

    dropout = 0.0  # after each spectral layer (training only)

    def __init__(self, in_bins: int, out_dim: int) -> None:
        super().__init__()
        self.in_bins = in_bins
        self.spectral = nn.ModuleDict(
            {"0": _Linear(in_bins, STYLE_HIDDEN), "3": _Linear(STYLE_HIDDEN, STYLE_HIDDEN)}
        )
        self.temporal = nn.ModuleList(GatedConv(STYLE_HIDDEN, STYLE_KERNEL) for _ in range(2))
        self.slf_attn = StyleSelfAttention(STYLE_HIDDEN, STYLE_HEADS)
        self.fc = _Linear(STYLE_HIDDEN, out_dim)

    def forward(self, spec: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Only the first ``in_bins`` rows of ``spec`` are read. ``mask (B, 1, T)`` (training
        batches) leaves padded frames out of the attention and the average."""
        x = spec[:, : self.in_bins].transpose(1, 2)
        x = _dropout(mish(self.spectral["0"](x)), self.dropout, self.training)
        x = _dropout(mish(self.spectral["3"](x)), self.dropout, self.training)
        x = x.transpose(1, 2)
        for block in self.temporal:
            x = block(x)
        x = x.transpose(1, 2)
        padded = None if mask is None else mask[:, 0] == 0
        if padded is not None:
            x = x.masked_fill(padded.unsqueeze(-1), 0)
        x = self.fc(self.slf_attn(x, padded))
        if padded is None:
            pooled = (x.float() / x.shape[1]).sum(dim=1)  # averaged in fp32 even for fp16 models
        else:
            frames = (~padded).sum(dim=1)[:, None, None]
            pooled = (x.masked_fill(padded.unsqueeze(-1), 0).float() / frames).sum(dim=1)
        return pooled.to(x.dtype).unsqueeze(-1)


def _dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    return F.dropout(x, p, training) if p and training else x


def reference_encoder(gin_channels: int) -> MelStyleEncoder:
    """The ``ref_enc`` of v2 and later checkpoints (704 bins in, ``gin_channels`` out)."""
    return MelStyleEncoder(REF_ENC_BINS, gin_channels)
