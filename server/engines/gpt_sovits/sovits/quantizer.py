"""The semantic-token codebook: HuBERT content <-> 25 Hz codes.

The released models use a residual vector quantizer with a single 1024 x 768 Euclidean
codebook (``quantizer.vq.layers.0._codebook.embed``). Encoding picks, per frame, the entry
with the largest ``-(|x|^2 - 2 x.e + |e|^2)``; that expression is evaluated in exactly this
form (not as ``argmin`` of a rewritten distance) because prompt codes must match the
official ones bit for bit, and near-ties are decided by rounding. Decoding is a lookup,
summed over layers.

The EMA statistics stored next to the codebook (``inited``, ``cluster_size``, ``embed_avg``)
only matter for training and are not loaded.
"""

from __future__ import annotations

import torch
from torch import nn

#: Buffers of each codebook layer in the checkpoints that inference never reads.
TRAINING_ONLY_BUFFERS = ("inited", "cluster_size", "embed_avg")


class Codebook(nn.Module):
    """One Euclidean codebook; its ``embed`` buffer is ``(codebook_size, dim)``."""

    embed: torch.Tensor

    def __init__(self, codebook_size: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("embed", torch.zeros(codebook_size, dim))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, dim)`` vectors -> ``(N,)`` int64 indices of the nearest entries."""
        embed_t = self.embed.t()
        neg_dist = -(
            x.pow(2).sum(1, keepdim=True) - 2 * x @ embed_t + embed_t.pow(2).sum(0, keepdim=True)
        )
        return neg_dist.max(dim=-1).indices

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Indices of any shape -> their vectors (shape ``codes.shape + (dim,)``)."""
        return nn.functional.embedding(codes, self.embed)


class _Layer(nn.Module):
    """Holds one codebook under the checkpoint's ``_codebook`` name."""

    def __init__(self, codebook_size: int, dim: int) -> None:
        super().__init__()
        self._codebook = Codebook(codebook_size, dim)


class _Layers(nn.Module):
    def __init__(self, n_layers: int, codebook_size: int, dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_Layer(codebook_size, dim) for _ in range(n_layers))


class ResidualVectorQuantizer(nn.Module):
    """Residual VQ over channels-first features; keys ``vq.layers.{i}._codebook.embed``."""

    def __init__(self, dim: int, codebook_size: int, n_layers: int = 1) -> None:
        super().__init__()
        self.vq = _Layers(n_layers, codebook_size, dim)

    @property
    def codebooks(self) -> list[Codebook]:
        """The codebooks, coarsest first."""
        return [layer._codebook for layer in self.vq.layers if isinstance(layer, _Layer)]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(B, dim, T)`` -> codes ``(n_layers, B, T)`` int64."""
        b, d, t = x.shape
        residual = x.transpose(1, 2).reshape(b * t, d)
        codes = []
        for codebook in self.codebooks:
            idx = codebook.encode(residual)
            codes.append(idx.view(b, t))
            if len(codes) < len(self.codebooks):
                residual = residual - codebook.decode(idx)
        return torch.stack(codes)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``(n, B, T)`` (the first ``n`` layers) -> features ``(B, dim, T)``."""
        if codes.shape[0] > len(self.codebooks):
            raise ValueError(f"{codes.shape[0]} code layers for {len(self.codebooks)} codebooks")
        out = self.codebooks[0].decode(codes[0])
        for codebook, layer_codes in zip(self.codebooks[1:], codes[1:], strict=False):
            out = out + codebook.decode(layer_codes)
        return out.transpose(1, 2)
