"""The KV cache keeps its tensors when rows join and leave (no rebuild, no per-step copy)."""

from __future__ import annotations

import torch

from server.engines.gpt_sovits.t2s_cache import KVCache


def _cache(rows: int, base: float, capacity: int = 6) -> KVCache:
    cache = KVCache.empty(2, rows, 3, 4, capacity, dtype=torch.float32, device=torch.device("cpu"))
    for row in range(rows):
        cache.keys[:, row] = base + row
        cache.values[:, row] = -(base + row)
    cache.lengths = torch.arange(rows) + 2
    return cache


def test_leaving_rows_are_replaced_by_the_last_row_in_place() -> None:
    cache = _cache(5, 0.0)
    storage = cache.keys.data_ptr()
    order = cache.remove([1, 3])
    assert order == [0, 4, 2] and cache.n_rows == 3
    assert cache.keys.data_ptr() == storage  # same tensors: nothing was rebuilt
    for row, original in enumerate(order):
        assert torch.all(cache.keys[:, row] == original)
        assert torch.all(cache.values[:, row] == -original)
    assert cache.lengths.tolist() == [2, 6, 4]
    assert cache.remove([0, 1, 2]) == [] and cache.n_rows == 0


def test_joining_rows_fill_free_slots_then_the_cache_grows() -> None:
    cache = _cache(4, 0.0)
    cache.remove([3])
    storage = cache.keys.data_ptr()
    cache.append(_cache(1, 10.0))  # fits in the freed slot
    assert cache.keys.data_ptr() == storage and cache.n_rows == 4
    assert torch.all(cache.keys[:, 3, :, :2] == 10.0) and int(cache.lengths[3]) == 2
    roomy = _cache(3, 20.0, capacity=40)  # more rows than free slots, and spare room
    cache.append(roomy)  # grows its slots once, but not to the joiners' spare room
    assert cache.n_rows == 7 and cache.row_slots >= 7 and cache.capacity == 6
    assert [float(cache.keys[0, r, 0, 0, 0]) for r in range(7)] == [0, 1, 2, 10, 20, 21, 22]
    assert cache.lengths.tolist() == [2, 3, 4, 2, 2, 3, 4]
    long = _cache(1, 30.0, capacity=12)
    long.lengths = torch.tensor([11])
    cache.append(long)  # a joiner longer than the capacity: positions grow, all kept
    assert cache.capacity >= 11 and cache.lengths.tolist() == [2, 3, 4, 2, 2, 3, 4, 11]
    assert torch.all(cache.keys[:, 7, :, :11] == 30.0) and torch.all(cache.keys[:, 0] == 0.0)


def test_positions_grow_geometrically_so_long_decodes_copy_rarely() -> None:
    cache = _cache(2, 0.0, capacity=1000)
    cache.ensure_capacity(1001)
    assert cache.capacity == 1500
    cache.ensure_capacity(1400)
    assert cache.capacity == 1500  # no copy while it fits


def test_a_step_writes_at_each_rows_own_length() -> None:
    cache = _cache(3, 0.0)
    cache.remove([0])  # rows now hold originals 2 and 1, lengths 4 and 3
    new = torch.full((2, 3, 1, 4), 99.0)
    cache.write_next(0, new, new)
    cache.advance()
    assert cache.lengths.tolist() == [5, 4]
    assert torch.all(cache.keys[0, 0, :, 4] == 99.0) and torch.all(cache.keys[0, 1, :, 3] == 99.0)
    assert torch.all(cache.keys[0, 0, :, 3] == 2.0)  # earlier positions untouched
