"""The one interface the batched T2S decoder needs from a back end (torch or ONNX Runtime).

:class:`~.t2s_decode.T2SBatch` owns the sampling, the stop rules and the bookkeeping; a back
end only runs the transformer: a prefill of whole rows into a new
:class:`~.t2s_cache.KVCache`, and a cached step of one token per row. A back end that can also
append a chunk of tokens to a one-row cache (``extend``) lets joining requests be prefilled
in chunks between steps; one that cannot says so with ``chunked_prefill = False`` and its
joining requests are prefilled whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch

from server.engines.gpt_sovits.t2s import T2SConfig, T2SPrefix
from server.engines.gpt_sovits.t2s_cache import KVCache


class T2SBackend(Protocol):
    """What runs the T2S transformer (:class:`~.t2s.T2SModel`, :class:`~.t2s_onnx.OnnxT2SModel`)."""

    @property
    def config(self) -> T2SConfig:
        """The checkpoint's hyper-parameters (vocabulary size and EOS among them)."""
        ...

    @property
    def device(self) -> torch.device:
        """Where the cache and the logits live."""
        ...

    @property
    def chunked_prefill(self) -> bool:
        """Whether :meth:`extend` works (else joining requests are prefilled whole)."""
        ...

    def prefill(self, rows: Sequence[T2SPrefix], *,
                extra_capacity: int = 0) -> tuple[KVCache, torch.Tensor]:
        """Cache whole rows; the logits ``(rows, vocab)`` after each row's last token."""
        ...

    def step(self, tokens: torch.Tensor, positions: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Append one token per row; the next logits ``(rows, vocab)``."""
        ...

    def extend(self, codes: torch.Tensor, first_position: int, cache: KVCache) -> torch.Tensor:
        """Append several tokens to a one-row cache; the logits ``(1, vocab)`` after them."""
        ...
