"""Transformer pieces of the SoVITS text encoder: windowed relative-position self-attention,
plain multi-head (cross-)attention, the convolutional feed-forward block and the post-norm
encoder stack that combines them.

Layout is channels-first ``(batch, channels, time)`` throughout, as in VITS; projections are
1x1 convolutions, so parameter names and shapes are those of the released checkpoints.

Inference in GPT-SoVITS always runs one unpadded sequence per call (the official decoder is
called with full-length masks), so it passes no masks: multiplying by an all-ones mask is an
exact no-op. Training batches padded sequences and passes ``(B, 1, T)`` masks (1 = real
frame), applied exactly where the official modules apply them; ``dropout`` (0 unless a
trainer sets it) acts only in training mode.

Relative positions (Shaw et al.): each head adds ``q . E_k[j - i]`` to the score of key ``j``
for query ``i`` and ``sum_j p_ij E_v[j - i]`` to its output, for offsets ``|j - i| <= W``
(``W = 4``; one embedding table shared by all heads). Only ``2W + 1`` offsets exist, so they
are computed as narrow ``(T, 2W + 1)`` bands and moved to / from the ``(T, T)`` score matrix
with strided diagonal views, in O(T * W) instead of the O(T^2) padded products of a
reference implementation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_LAYER_NORM_EPS = 1e-5
#: The official fill value of masked attention scores (not -inf: fully padded rows stay finite).
_MASKED_SCORE = -1e4


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of a ``(B, C, T)`` tensor (VITS ``gamma``/``beta``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise every time step over its channels."""
        y = F.layer_norm(x.transpose(1, 2), (x.shape[1],), self.gamma, self.beta, _LAYER_NORM_EPS)
        return y.transpose(1, 2)


def _diagonal_band(square: torch.Tensor, window: int) -> torch.Tensor:
    """Read the ``2 * window + 1`` diagonals of ``(..., T, T)`` as a ``(..., T, 2W + 1)`` band.

    ``band[..., i, k] = square[..., i, i + k - window]`` (zero where that column is outside).
    """
    length = square.shape[-1]
    padded = F.pad(square, (window, window)).contiguous()
    width = length + 2 * window
    lead = padded.shape[:-2]
    strides = padded.stride()[:-2] + (width + 1, 1)
    return padded.as_strided((*lead, length, 2 * window + 1), strides)


def _band_to_square(band: torch.Tensor, window: int) -> torch.Tensor:
    """Inverse of :func:`_diagonal_band`: scatter a band onto a zero ``(..., T, T)`` matrix."""
    length = band.shape[-2]
    width = length + 2 * window
    padded = band.new_zeros((*band.shape[:-2], length, width))
    strides = padded.stride()[:-2] + (width + 1, 1)
    padded.as_strided(band.shape, strides).copy_(band)
    return padded[..., window:window + length]


class RelativeSelfAttention(nn.Module):
    """Multi-head self-attention with shared windowed relative-position embeddings."""

    dropout = 0.0  # on the attention weights (training only)

    def __init__(self, channels: int, n_heads: int, window: int) -> None:
        super().__init__()
        if channels % n_heads:
            raise ValueError(f"{channels} channels do not split into {n_heads} heads")
        self.n_heads = n_heads
        self.head_dim = channels // n_heads
        self.window = window
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, channels, 1)
        self.emb_rel_k = nn.Parameter(torch.zeros(1, 2 * window + 1, self.head_dim))
        self.emb_rel_v = nn.Parameter(torch.zeros(1, 2 * window + 1, self.head_dim))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t = x.shape
        return x.view(b, self.n_heads, self.head_dim, t).transpose(2, 3)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, C, T) -> (B, C, T)``; ``mask`` ``(B, 1, T, T)``: 0 hides a score."""
        if mask is not None:
            return self._forward_padded(x, mask)
        b, c, t = x.shape
        q = self._heads(self.conv_q(x)) / math.sqrt(self.head_dim)
        k = self._heads(self.conv_k(x))
        v = self._heads(self.conv_v(x))
        scores = torch.matmul(q, k.transpose(-2, -1))
        rel_scores = torch.matmul(q, self.emb_rel_k.transpose(-2, -1))  # (B, H, T, 2W+1)
        scores = scores + _band_to_square(rel_scores, self.window)
        probs = _dropout(torch.softmax(scores, dim=-1), self.dropout, self.training)
        out = torch.matmul(probs, v)
        out = out + torch.matmul(_diagonal_band(probs, self.window), self.emb_rel_v)
        return self.conv_o(out.transpose(2, 3).contiguous().view(b, c, t))

    def _forward_padded(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The training path: the reference's O(T^2) relative-position algorithm, op for op.

        Mathematically the same as :meth:`forward`; following the reference's operations
        makes the rounding the same too, which matters in training: the key bias gets no
        true gradient (softmax ignores a per-query constant), so its updates are rounding
        noise, and only the same operations give the same noise.
        """
        b, c, t = x.shape
        q = self._heads(self.conv_q(x))
        k = self._heads(self.conv_k(x))
        v = self._heads(self.conv_v(x))
        scale = math.sqrt(self.head_dim)
        scores = torch.matmul(q / scale, k.transpose(-2, -1))
        rel_k = self._relative_embeddings(self.emb_rel_k, t)
        rel_logits = torch.matmul(q / scale, rel_k.unsqueeze(0).transpose(-2, -1))
        scores = scores + _relative_to_absolute(rel_logits)
        scores = scores.masked_fill(mask == 0, _MASKED_SCORE)
        probs = _dropout(torch.softmax(scores, dim=-1), self.dropout, self.training)
        out = torch.matmul(probs, v)
        rel_v = self._relative_embeddings(self.emb_rel_v, t)
        out = out + torch.matmul(_absolute_to_relative(probs), rel_v.unsqueeze(0))
        return self.conv_o(out.transpose(2, 3).contiguous().view(b, c, t))

    def _relative_embeddings(self, table: torch.Tensor, length: int) -> torch.Tensor:
        """The ``2 * length - 1`` offsets' embeddings, zero beyond the window."""
        pad = max(length - (self.window + 1), 0)
        start = max((self.window + 1) - length, 0)
        padded = F.pad(table, (0, 0, pad, pad)) if pad > 0 else table
        return padded[:, start:start + 2 * length - 1]


def _relative_to_absolute(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, T, 2T - 1)`` relative logits -> ``(B, H, T, T)`` by the pad-and-reshape trick."""
    batch, heads, length, _ = x.shape
    x = F.pad(x, (0, 1))
    flat = F.pad(x.view(batch, heads, length * 2 * length), (0, length - 1))
    return flat.view(batch, heads, length + 1, 2 * length - 1)[:, :, :length, length - 1:]


def _absolute_to_relative(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, T, T)`` -> ``(B, H, T, 2T - 1)``, the inverse skew."""
    batch, heads, length, _ = x.shape
    x = F.pad(x, (0, length - 1))
    flat = F.pad(x.view(batch, heads, length ** 2 + length * (length - 1)), (length, 0))
    return flat.view(batch, heads, length, 2 * length)[:, :, :, 1:]


class CrossAttention(nn.Module):
    """Plain multi-head attention of ``x`` (queries) over ``context`` (keys and values)."""

    def __init__(self, channels: int, n_heads: int) -> None:
        super().__init__()
        if channels % n_heads:
            raise ValueError(f"{channels} channels do not split into {n_heads} heads")
        self.n_heads = n_heads
        self.head_dim = channels // n_heads
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, channels, 1)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t = x.shape
        return x.view(b, self.n_heads, self.head_dim, t).transpose(2, 3)

    def forward(self, x: torch.Tensor, context: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, C, Tq)``, ``context (B, C, Tk)`` -> ``(B, C, Tq)``; ``mask (B, 1, Tq, Tk)``."""
        b, c, t = x.shape
        q = self._heads(self.conv_q(x)) / math.sqrt(self.head_dim)
        k = self._heads(self.conv_k(context))
        v = self._heads(self.conv_v(context))
        scores = torch.matmul(q, k.transpose(-2, -1))
        if mask is not None:
            scores = scores.masked_fill(mask == 0, _MASKED_SCORE)
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v)
        return self.conv_o(out.transpose(2, 3).contiguous().view(b, c, t))


class FeedForward(nn.Module):
    """Conv -> ReLU -> conv with "same" padding (kernel ``k`` pads ``(k-1)//2`` left, ``k//2``
    right, which differs from symmetric padding only for even kernels)."""

    dropout = 0.0  # after the ReLU (training only)

    def __init__(self, channels: int, filter_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.pad = ((kernel_size - 1) // 2, kernel_size // 2)
        self.conv_1 = nn.Conv1d(channels, filter_channels, kernel_size)
        self.conv_2 = nn.Conv1d(filter_channels, channels, kernel_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, C, T) -> (B, C, T)``; ``mask (B, 1, T)`` zeroes padded frames."""
        if mask is None:
            h = torch.relu(self.conv_1(F.pad(x, self.pad)))
            return self.conv_2(F.pad(_dropout(h, self.dropout, self.training), self.pad))
        h = torch.relu(self.conv_1(F.pad(x * mask, self.pad)))
        h = _dropout(h, self.dropout, self.training)
        return self.conv_2(F.pad(h * mask, self.pad)) * mask


class RelativeEncoder(nn.Module):
    """A stack of post-norm blocks: ``x = LN(x + attn(x)); x = LN(x + ffn(x))``."""

    dropout = 0.0  # after each attention and feed-forward block (training only)

    def __init__(
        self,
        channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        window: int,
    ) -> None:
        super().__init__()
        self.attn_layers = nn.ModuleList(
            RelativeSelfAttention(channels, n_heads, window) for _ in range(n_layers)
        )
        self.norm_layers_1 = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(n_layers))
        self.ffn_layers = nn.ModuleList(
            FeedForward(channels, filter_channels, kernel_size) for _ in range(n_layers)
        )
        self.norm_layers_2 = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(n_layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, C, T) -> (B, C, T)``; ``mask (B, 1, T)`` marks the real frames."""
        attn_mask = None if mask is None else mask.unsqueeze(2) * mask.unsqueeze(-1)
        if mask is not None:
            x = x * mask
        for attn, norm_1, ffn, norm_2 in zip(
            self.attn_layers, self.norm_layers_1, self.ffn_layers, self.norm_layers_2, strict=True
        ):
            x = norm_1(x + _dropout(attn(x, attn_mask), self.dropout, self.training))
            x = norm_2(x + _dropout(ffn(x, mask), self.dropout, self.training))
        return x if mask is None else x * mask


def _dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    return F.dropout(x, p, training) if p and training else x
