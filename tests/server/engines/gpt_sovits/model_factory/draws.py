"""Bit-reproducible random draws for synthetic GPT-SoVITS weights.

Why not ``torch.randn``: on CPU its Box-Muller kernel has a vectorised (AVX2/AVX-512) and a
scalar code path whose ``log``/``cos`` differ in the last bit, so the same seed gives different
floats on different machines. Uniform integer draws from ``torch.Generator`` (Mersenne Twister)
do not depend on the CPU, and neither do IEEE additions, multiplications, square roots and
conversions (each is correctly rounded). Everything here is built from those alone:

* a normal-like value is the Irwin-Hall sum of four 16-bit uniforms cut out of one random
  64-bit integer, centred and scaled to unit variance (bell-shaped, bounded by about 3.46);
* uniforms come from ``torch.rand`` in float64 (exact 53-bit fractions), then an affine map.
"""

from __future__ import annotations

import hashlib
import math

import torch

# A signed 16-bit chunk is uniform on -32768..32767 (mean -1/2): four of them have mean -2.
_SIGNED_OFFSET = 2
# The sum of four discrete uniforms on 0..65535 has variance 4 * (65536**2 - 1) / 12.
_UNIT = 1.0 / math.sqrt((65536**2 - 1) / 3.0)


def derive_seed(seed: int, label: str) -> int:
    """A 63-bit generator seed for one file, so each file depends only on (seed, its path)."""
    digest = hashlib.sha256(f"voxguard-gpt-sovits:{seed}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


class Draws:
    """Deterministic random tensors from one seeded CPU ``torch.Generator``."""

    def __init__(self, seed: int) -> None:
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def centred_ints(self, shape: tuple[int, ...]) -> torch.Tensor:
        """Integer Irwin-Hall draws (int32, mean 0, variance ``1 / _UNIT**2``).

        Each random 64-bit integer is read as four signed 16-bit chunks; their sum does not
        depend on the machine's byte order.
        """
        count = math.prod(shape)
        bits = torch.randint(
            -(2**63), 2**63 - 1, (count,), generator=self.generator, dtype=torch.int64
        )
        chunks = bits.view(torch.int16).view(count, 4)
        return (chunks.sum(dim=1, dtype=torch.int32) + _SIGNED_OFFSET).view(shape)

    def scale_ints(self, ints: torch.Tensor, std: float, mean: float = 0.0) -> torch.Tensor:
        """Map ``centred_ints`` output to float32 with the given mean and standard deviation.

        The integers are exact in float32; one multiplication and one addition follow, each
        correctly rounded.
        """
        values = ints.to(torch.float32) * (std * _UNIT)
        if mean:
            values = values + mean
        return values

    def normal(self, shape: tuple[int, ...], std: float, mean: float = 0.0) -> torch.Tensor:
        """Bell-shaped float32 values with the given mean and standard deviation."""
        return self.scale_ints(self.centred_ints(shape), std, mean)

    def uniform(self, shape: tuple[int, ...], low: float, high: float) -> torch.Tensor:
        """Float32 values uniform on [low, high)."""
        unit = torch.rand(shape, generator=self.generator, dtype=torch.float64)
        return (unit * (high - low) + low).to(torch.float32)

    def integers(self, shape: tuple[int, ...], low: int, high: int) -> torch.Tensor:
        """Int64 values uniform on [low, high)."""
        return torch.randint(low, high, shape, generator=self.generator, dtype=torch.int64)

    def weight_norm_pair(
        self, v_shape: tuple[int, ...], g_shape: tuple[int, ...], std: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(v, g)`` of a weight-normed kernel: v ~ N(0, std), g = ||v|| * U(0.8, 1.2).

        The norm runs over the dimensions where ``g`` has size 1 and is taken on the integer
        draws (an exact int64 sum, then one correctly rounded square root), so it does not
        depend on the summation order of a vectorised float reduction.
        """
        ints = self.centred_ints(v_shape)
        dims = [d for d in range(len(v_shape)) if g_shape[d] == 1]
        wide = ints.to(torch.int64)
        sum_sq = (wide * wide).sum(dim=dims, keepdim=True)
        norm = sum_sq.to(torch.float64).sqrt() * (std * _UNIT)
        factor = torch.rand(g_shape, generator=self.generator, dtype=torch.float64) * 0.4 + 0.8
        return self.scale_ints(ints, std), (norm * factor).to(torch.float32)
