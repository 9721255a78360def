"""Preallocated key/value cache for batched T2S decoding, one length per row.

Every row of a decode batch keeps its keys and values in the same preallocated tensors, laid
out ``(layers, row slots, heads, positions, head_dim)``. The first :attr:`KVCache.n_rows`
slots are the running rows; row ``b`` holds ``lengths[b]`` valid positions starting at 0 and
everything after that is stale and masked out by attention. A decode step writes each row's
new key/value at its own length, so rows whose prompts differ in length advance together
without padding tokens ever becoming visible, and without recomputing the prefix.

Rows join and leave without rebuilding the cache: a joining row is copied into the next
free slot, a leaving row's slot is filled by the last running row (one row copied, not the
whole cache), and the tensors grow (by copying, rarely) only when the slots or positions run
out. Nothing is reallocated per step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# At least this many extra positions whenever the cache has to grow (see ensure_capacity).
_GROWTH_STEP = 128


class KVCache:
    """Keys and values of every layer for a batch of rows with individual lengths."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, lengths: torch.Tensor) -> None:
        if keys.shape != values.shape or keys.dim() != 5:
            raise ValueError("keys and values must both be (layers, rows, heads, capacity, dim)")
        if lengths.shape != (keys.shape[1],):
            raise ValueError("lengths must hold one entry per row")
        self._keys = keys
        self._values = values
        self._lengths = lengths.clone()
        self._n = int(keys.shape[1])

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
        """Number of running rows (requests) in the cache."""
        return self._n

    @property
    def row_slots(self) -> int:
        """Rows the cache can hold before it must grow."""
        return int(self._keys.shape[1])

    @property
    def capacity(self) -> int:
        """Positions each row can hold before the cache must grow."""
        return int(self._keys.shape[3])

    @property
    def keys(self) -> torch.Tensor:
        """Keys of the running rows ``(layers, rows, heads, capacity, dim)`` (a view)."""
        return self._keys[:, : self._n]

    @property
    def values(self) -> torch.Tensor:
        """Values of the running rows (a view, like :attr:`keys`)."""
        return self._values[:, : self._n]

    @property
    def lengths(self) -> torch.Tensor:
        """Valid positions of each running row ``(rows,)`` (a view)."""
        return self._lengths[: self._n]

    @lengths.setter
    def lengths(self, lengths: torch.Tensor) -> None:
        self._lengths[: self._n] = lengths

    def ensure_capacity(self, needed: int) -> None:
        """Grow (by copying) so that every row can hold ``needed`` positions."""
        if needed <= self.capacity:
            return
        # Geometric growth: a long decode copies the cache a logarithmic number of times
        # (each copy stalls every running row for as long as the copy takes).
        new_capacity = max(needed + _GROWTH_STEP, self.capacity + self.capacity // 2)
        self._keys = _pad(self._keys, 3, new_capacity)
        self._values = _pad(self._values, 3, new_capacity)

    def write_prefix(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store a prefill's keys/values ``(rows, heads, time, dim)`` at positions ``[0, time)``."""
        time = keys.shape[2]
        self._keys[layer, : self._n, :, :time] = keys
        self._values[layer, : self._n, :, :time] = values

    def write_next(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store one new position per row ``(rows, heads, 1, dim)`` at that row's length.

        Lengths are not advanced here: all layers of a step write at the same position, and
        the caller advances once with :meth:`advance` after the last layer.
        """
        rows = torch.arange(self._n, device=self._lengths.device)
        lengths = self.lengths
        self._keys[layer, rows, :, lengths] = keys[:, :, 0]
        self._values[layer, rows, :, lengths] = values[:, :, 0]

    def write_span(self, layer: int, start: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store consecutive positions ``(rows, heads, k, dim)`` from ``start`` on, every row."""
        end = start + keys.shape[2]
        self._keys[layer, : self._n, :, start:end] = keys
        self._values[layer, : self._n, :, start:end] = values

    def view(self, layer: int, time: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of ``layer`` for positions ``[0, time)`` of every running row."""
        return self._keys[layer, : self._n, :, :time], self._values[layer, : self._n, :, :time]

    def advance(self) -> None:
        """Count the position just written by :meth:`write_next` as valid for every row."""
        self._lengths[: self._n] += 1

    def append(self, other: KVCache) -> None:
        """Add ``other``'s running rows after this cache's (growing slots/positions if needed)."""
        count = other.n_rows
        if self._n + count > self.row_slots:
            slots = max(self._n + count, 2 * self.row_slots)
            self._keys = _pad(self._keys, 1, slots)
            self._values = _pad(self._values, 1, slots)
            self._lengths = torch.cat([self._lengths,
                                       self._lengths.new_zeros(slots - len(self._lengths))])
        # Only the joiners' valid positions are copied: their spare room must not make the
        # whole cache grow (a copy of every running row).
        time = int(other.lengths.max()) if count else 0
        self.ensure_capacity(time)
        start, end = self._n, self._n + count
        self._keys[:, start:end, :, :time] = other.keys[:, :, :, :time]
        self._values[:, start:end, :, :time] = other.values[:, :, :, :time]
        self._lengths[start:end] = other.lengths
        self._n = end

    def remove(self, rows: Sequence[int]) -> list[int]:
        """Drop running rows; returns, for each row left, the index it had before.

        Each freed slot below the end is filled with the last running row (one row copied),
        so the survivors' order changes; callers reorder their per-row state by the result.
        """
        order = list(range(self._n))
        for row in sorted(set(rows), reverse=True):
            last = self._n - 1
            if row != last:
                self._keys[:, row] = self._keys[:, last]
                self._values[:, row] = self._values[:, last]
                self._lengths[row] = self._lengths[last]
                order[row] = order[last]
            order.pop()
            self._n -= 1
        return order

    @staticmethod
    def concat(caches: Sequence[KVCache]) -> KVCache:
        """The running rows of several caches (same model) in one cache (the first, grown)."""
        if not caches:
            raise ValueError("nothing to concatenate")
        merged = caches[0]
        for cache in caches[1:]:
            merged.append(cache)
        return merged


def _pad(tensor: torch.Tensor, dim: int, size: int) -> torch.Tensor:
    """``tensor`` zero-extended along ``dim`` to ``size`` entries (one copy, one fill)."""
    old = tensor.shape[dim]
    if size <= old:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = size
    grown = tensor.new_empty(shape)
    grown.narrow(dim, 0, old).copy_(tensor)
    grown.narrow(dim, old, size - old).zero_()  # stale positions must be finite (masked x 0)
    return grown
