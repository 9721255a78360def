"""Per-row sampling of the next semantic token, reproducing the official GPT-SoVITS rules.

For each row of a decode batch, with its own parameters, token history and random generator:

1. For the first :data:`EOS_BAN_STEPS` steps the EOS column is *removed* (the row is sampled
   over the 1024 code columns only); it is not set to -inf, which matters for the number of
   random draws.
2. Repetition penalty, in place: every token id that occurs in the history (prompt codes and
   generated tokens, counted once however often it occurs) has its logit multiplied by the
   penalty when negative and divided by it otherwise. These *penalized* logits are also what
   the stop test looks at (``argmax == EOS``), before any filtering below.
3. Nucleus (top-p) filtering when ``top_p < 1``, then division by the temperature, then top-k
   filtering (ties with the k-th value are kept), then softmax.
4. The token is ``argmax(probs / q)`` with ``q ~ Exp(1)`` drawn from the row's generator, one
   draw per column. With a generator seeded like the official ``set_seed`` this reproduces the
   official sampled tokens for a single request.

Rows in the same phase are processed together; each row only ever touches its own generator,
so a request's tokens do not depend on which other requests share its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from server.errors import InvalidArgument

# Steps (0-based) below this index cannot produce EOS: the official decoder drops the column.
EOS_BAN_STEPS = 11
# The official temperature floor (``max(temperature, 1e-5)``).
_MIN_TEMPERATURE = 1e-5


@dataclass(frozen=True)
class SamplingParams:
    """How one request picks its tokens (official ``TTS.run`` defaults)."""

    top_k: int = 15
    top_p: float = 1.0
    temperature: float = 1.0
    repetition_penalty: float = 1.35

    def __post_init__(self) -> None:
        if not isinstance(self.top_k, int) or self.top_k < 1:
            raise InvalidArgument("top_k must be an integer >= 1")
        if not self.top_p > 0:
            raise InvalidArgument("top_p must be > 0 (1 disables nucleus filtering)")
        if not self.temperature >= 0:
            raise InvalidArgument("temperature must be >= 0")
        if not self.repetition_penalty > 0:
            raise InvalidArgument("repetition_penalty must be > 0 (1 disables it)")


@dataclass(frozen=True)
class SampledTokens:
    """The outcome of one sampling step for a batch of rows."""

    tokens: torch.Tensor  # (rows,) int64 sampled token per row
    greedy: torch.Tensor  # (rows,) int64 argmax of the penalized logits (the stop test)
    penalized: torch.Tensor  # (rows, vocab) penalized logits; NaN in a banned EOS column


def sample_next(
    logits: torch.Tensor,
    history: torch.Tensor,
    steps: Sequence[int],
    params: Sequence[SamplingParams],
    generators: Sequence[torch.Generator],
) -> SampledTokens:
    """Sample one token per row.

    ``logits`` ``(rows, vocab)`` are the raw model outputs (left untouched), ``history`` a
    boolean ``(rows, vocab)`` mask of the tokens each row has seen (prompt and generated),
    ``steps`` each row's 0-based decoding step. The last column is EOS.
    """
    rows, vocab = logits.shape
    tokens = torch.empty(rows, dtype=torch.long, device=logits.device)
    greedy = torch.empty(rows, dtype=torch.long, device=logits.device)
    penalized = torch.full_like(logits, float("nan"))
    banned = [i for i in range(rows) if steps[i] < EOS_BAN_STEPS]
    allowed = [i for i in range(rows) if steps[i] >= EOS_BAN_STEPS]
    for group, width in ((banned, vocab - 1), (allowed, vocab)):
        if not group:
            continue
        index = torch.tensor(group, device=logits.device)
        group_logits = logits.index_select(0, index)[:, :width]
        group_history = history.index_select(0, index)[:, :width]
        pen = apply_repetition_penalty(
            group_logits, group_history, [params[i].repetition_penalty for i in group]
        )
        probs = token_probabilities(pen, [params[i] for i in group])
        noise = exponential_noise(probs, [generators[i] for i in group])
        tokens[index] = torch.argmax(probs / noise, dim=-1)
        greedy[index] = torch.argmax(pen, dim=-1)
        penalized[index, :width] = pen
    return SampledTokens(tokens=tokens, greedy=greedy, penalized=penalized)


def apply_repetition_penalty(
    logits: torch.Tensor, history: torch.Tensor, penalties: Sequence[float]
) -> torch.Tensor:
    """Penalize each seen token once: negative logits times the penalty, others divided."""
    penalty = _column(penalties, logits)
    scaled = torch.where(logits < 0, logits * penalty, logits / penalty)
    return torch.where(history, scaled, logits)


def token_probabilities(logits: torch.Tensor, params: Sequence[SamplingParams]) -> torch.Tensor:
    """Top-p, temperature, top-k (in the official order), then softmax, row by row."""
    top_p = _column([p.top_p for p in params], logits)
    nucleus_rows = top_p < 1.0
    if bool(nucleus_rows.any()):
        ordered, order = torch.sort(logits, descending=True)
        cumulative = torch.cumsum(torch.softmax(ordered, dim=-1), dim=-1)
        drop_sorted = cumulative > top_p
        drop_sorted[:, 0] = False  # the most likely token always survives
        drop_sorted &= nucleus_rows
        drop = drop_sorted.scatter(1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    logits = logits / _column([max(p.temperature, _MIN_TEMPERATURE) for p in params], logits)
    width = logits.shape[-1]
    ks = [min(p.top_k, width) for p in params]
    kth_best = torch.topk(logits, max(ks), dim=-1).values
    pivot = kth_best.gather(1, torch.tensor(ks, device=logits.device).unsqueeze(1) - 1)
    logits = torch.where(logits < pivot, float("-inf"), logits)
    return torch.softmax(logits, dim=-1)


def exponential_noise(probs: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
    """Exp(1) noise shaped like ``probs``, each row drawn from its own generator."""
    width = probs.shape[-1]
    draws = [
        torch.empty(width, dtype=probs.dtype, device=probs.device).exponential_(1, generator=g)
        for g in generators
    ]
    return torch.stack(draws)


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator seeded like the official ``set_seed`` seeds torch (``manual_seed(seed)``)."""
    if not 0 <= seed < 2**64:
        raise InvalidArgument("seed must be in [0, 2**64)")
    return torch.Generator(device=device).manual_seed(seed)


def _column(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """``values`` as a ``(rows, 1)`` tensor with the dtype and device of ``like``."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).unsqueeze(1)
