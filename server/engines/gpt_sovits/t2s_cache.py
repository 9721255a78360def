"""Preallocated key/value cache for batched T2S decoding, one length per row.

Every row of a decode batch keeps its keys and values in the same preallocated tensors, laid out
``(layers, rows, heads, capacity, head_dim)``. Row ``b`` holds ``lengths[b]`` valid positions
starting at 0; everything after that is stale and masked out by attention. A decode step writes
each row's new key/value at its own length, so rows whose prompts differ in length advance
together without padding tokens ever becoming visible, and without recomputing the prefix.

Rows can be dropped (a request finished) and batches can be merged (new requests admitted), so a
scheduler can keep one batch running across many requests.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# Extra positions added whenever the cache has to grow, so growth (a copy) happens rarely.
_GROWTH_STEP = 128


class KVCache:
    """Keys and values of every layer for a batch of rows with individual lengths."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, lengths: torch.Tensor) -> None:
        if keys.shape != values.shape or keys.dim() != 5:
            raise ValueError("keys and values must both be (layers, rows, heads, capacity, dim)")
        if lengths.shape != (keys.shape[1],):
            raise ValueError("lengths must hold one entry per row")
        self.keys = keys
        self.values = values
        self.lengths = lengths

    @classmethod
    def empty(
        cls,
        n_layers: int,
        n_rows: int,
        n_heads: int,
        head_dim: int,
        capacity: int,
        *,
        dtype: torch.dtype,
        device: torch.device,
    ) -> KVCache:
        """A cache of ``n_rows`` zero-length rows able to hold ``capacity`` positions each."""
        shape = (n_layers, n_rows, n_heads, capacity, head_dim)
        return cls(
            torch.zeros(shape, dtype=dtype, device=device),
            torch.zeros(shape, dtype=dtype, device=device),
            torch.zeros(n_rows, dtype=torch.long, device=device),
        )

    @property
    def n_rows(self) -> int:
        """Number of rows (requests) in the cache."""
        return int(self.keys.shape[1])

    @property
    def capacity(self) -> int:
        """Positions each row can hold before the cache must grow."""
        return int(self.keys.shape[3])

    def ensure_capacity(self, needed: int) -> None:
        """Grow (by copying) so that every row can hold ``needed`` positions."""
        if needed <= self.capacity:
            return
        new_capacity = needed + _GROWTH_STEP
        self.keys = _pad_time(self.keys, new_capacity)
        self.values = _pad_time(self.values, new_capacity)

    def write_prefix(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store a prefill's keys/values ``(rows, heads, time, dim)`` at positions ``[0, time)``."""
        time = keys.shape[2]
        self.keys[layer, :, :, :time] = keys
        self.values[layer, :, :, :time] = values

    def write_next(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store one new position per row ``(rows, heads, 1, dim)`` at that row's length.

        Lengths are not advanced here: all layers of a step write at the same position, and
        the caller advances once with :meth:`advance` after the last layer.
        """
        rows = torch.arange(self.n_rows, device=self.lengths.device)
        self.keys[layer, rows, :, self.lengths] = keys[:, :, 0]
        self.values[layer, rows, :, self.lengths] = values[:, :, 0]

    def view(self, layer: int, time: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of ``layer`` for positions ``[0, time)`` of every row."""
        return self.keys[layer, :, :, :time], self.values[layer, :, :, :time]

    def advance(self) -> None:
        """Count the position just written by :meth:`write_next` as valid for every row."""
        self.lengths = self.lengths + 1

    def select(self, rows: torch.Tensor) -> KVCache:
        """A cache holding only ``rows`` (indices into this cache), in that order."""
        return KVCache(
            self.keys.index_select(1, rows),
            self.values.index_select(1, rows),
            self.lengths.index_select(0, rows),
        )

    @staticmethod
    def concat(caches: Sequence[KVCache]) -> KVCache:
        """Stack the rows of several caches (same model) into one cache."""
        if not caches:
            raise ValueError("nothing to concatenate")
        capacity = max(c.capacity for c in caches)
        return KVCache(
            torch.cat([_pad_time(c.keys, capacity) for c in caches], dim=1),
            torch.cat([_pad_time(c.values, capacity) for c in caches], dim=1),
            torch.cat([c.lengths for c in caches]),
        )


def _pad_time(tensor: torch.Tensor, capacity: int) -> torch.Tensor:
    """``tensor`` with its time axis (dim 3) zero-extended to ``capacity`` positions."""
    missing = capacity - tensor.shape[3]
    if missing <= 0:
        return tensor
    shape = list(tensor.shape)
    shape[3] = missing
    return torch.cat([tensor, tensor.new_zeros(shape)], dim=3)
