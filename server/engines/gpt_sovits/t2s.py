"""The T2S model (GPT-SoVITS ``Text2SemanticDecoder``) for inference: weights and forward passes.

An autoregressive decoder-only transformer predicts 25 Hz semantic tokens (1024 codes + EOS)
from phones and their BERT features, continuing the reference audio's prompt codes. Each row
of a batch is the sequence ``[phones (prompt text + target text), prompt codes, generated
codes]``:

- phones are embedded as ``phone_embedding(id) + bert_proj(bert)`` and semantic tokens as
  ``semantic_embedding(code)``; each part then adds ``alpha * sinusoid(position)``, with its own
  learned scalar ``alpha`` and positions counted from 0 inside the part;
- phones attend to all phones (bidirectionally) and never to semantic tokens; semantic tokens
  attend to all phones and causally to semantic tokens;
- the layers are post-norm transformer blocks (attention, ReLU MLP of 4x width).

This module computes logits only: :meth:`T2SModel.prefill` runs a batch of sequences of any
lengths and fills a :class:`~.t2s_cache.KVCache`, :meth:`T2SModel.step` advances every row by
one token. Sampling and stop rules are in ``t2s_sampling`` and ``t2s_decode``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from server.engines.gpt_sovits.t2s_cache import KVCache
from server.errors import FailedPrecondition, InvalidArgument

BERT_DIM = 1024
# The official module precomputes 4000 sinusoid positions and grows the table on demand.
_MIN_POSITIONS = 4000
_LAYER_NORM_EPS = 1e-5


class T2SCheckpointLike(Protocol):
    """What :meth:`T2SModel.from_checkpoint` needs (``checkpoints.T2SCheckpoint`` fits)."""

    @property
    def config(self) -> Mapping[str, Any]: ...

    @property
    def state_dict(self) -> Mapping[str, torch.Tensor]: ...


@dataclass(frozen=True)
class T2SConfig:
    """Model dimensions, read from the ``"model"`` section of a GPT checkpoint's config."""

    dim: int
    n_heads: int
    n_layers: int
    vocab_size: int
    phone_vocab_size: int
    eos: int

    @classmethod
    def from_checkpoint_config(cls, config: Mapping[str, Any]) -> T2SConfig:
        """Parse and check ``config["model"]`` (``embedding_dim``, ``head``, ``EOS``, ...)."""
        try:
            model = config["model"]
            embedding_dim = int(model["embedding_dim"])
            hidden_dim = int(model["hidden_dim"])
            parsed = cls(
                dim=hidden_dim,
                n_heads=int(model["head"]),
                n_layers=int(model["n_layer"]),
                vocab_size=int(model["vocab_size"]),
                phone_vocab_size=int(model["phoneme_vocab_size"]),
                eos=int(model["EOS"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FailedPrecondition(f"GPT checkpoint config lacks a model setting: {exc}") from exc
        if embedding_dim != hidden_dim:
            raise FailedPrecondition("GPT checkpoint: embedding_dim must equal hidden_dim")
        if parsed.eos != parsed.vocab_size - 1:
            raise FailedPrecondition("GPT checkpoint: EOS must be the last semantic token")
        if parsed.dim % parsed.n_heads:
            raise FailedPrecondition("GPT checkpoint: hidden_dim is not divisible by head")
        return parsed

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.dim // self.n_heads


@dataclass(frozen=True)
class T2SPrefix:
    """One row to prefill: all phones (prompt then target), their BERT features, prompt codes."""

    phone_ids: torch.Tensor  # (n_phones,) int64
    bert: torch.Tensor  # (1024, n_phones) float
    codes: torch.Tensor  # (n_codes,) int64 semantic tokens (prompt, plus any already generated)


class T2SLayer(nn.Module):
    """Post-norm transformer block: ``x = norm(x + attn(x)); x = norm(x + mlp(x))``."""

    def __init__(self, dim: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm_attn = nn.LayerNorm(dim, eps=_LAYER_NORM_EPS)
        self.ff_in = nn.Linear(dim, 4 * dim)
        self.ff_out = nn.Linear(4 * dim, dim)
        self.norm_ff = nn.LayerNorm(dim, eps=_LAYER_NORM_EPS)

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-head queries, keys, values ``(rows, heads, time, head_dim)`` of ``x``."""
        rows, time, _ = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(rows, time, self.n_heads, -1).transpose(1, 2)

        return heads(q), heads(k), heads(v)

    def finish(
        self, x: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Attend ``q`` over ``k``/``v`` (``mask``: True = visible), then the rest of the block."""
        rows, time, dim = x.shape
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        attn = attn.transpose(1, 2).reshape(rows, time, dim)
        x = self.norm_attn(x + self.out(attn))
        return self.norm_ff(x + self.ff_out(F.relu(self.ff_in(x))))


class T2SModel(nn.Module):
    """GPT-SoVITS T2S weights plus batched prefill / single-token step forward passes."""

    def __init__(self, config: T2SConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.dim
        self.bert_proj = nn.Linear(BERT_DIM, dim)
        self.phone_embedding = nn.Embedding(config.phone_vocab_size, dim)
        self.phone_alpha = nn.Parameter(torch.ones(1))
        self.semantic_embedding = nn.Embedding(config.vocab_size, dim)
        self.semantic_alpha = nn.Parameter(torch.ones(1))
        self.layers = nn.ModuleList(T2SLayer(dim, config.n_heads) for _ in range(config.n_layers))
        #: The same layers, typed (iterating an ``nn.ModuleList`` yields plain modules).
        self.blocks: list[T2SLayer] = [layer for layer in self.layers if isinstance(layer, T2SLayer)]
        self.head = nn.Linear(dim, config.vocab_size, bias=False)
        self._sinusoids = _sinusoid_table(_MIN_POSITIONS, dim)

    @classmethod
    def from_checkpoint(cls, ckpt: T2SCheckpointLike) -> T2SModel:
        """Build the model from a loaded GPT checkpoint (keys without ``model.``), in eval mode."""
        model = cls(T2SConfig.from_checkpoint_config(ckpt.config))
        model.load_official_state_dict(ckpt.state_dict)
        return model.eval()

    def load_official_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load weights named as in the official checkpoint (``h.layers.0.linear1.weight``, ...)."""
        mapping = official_key_map(self.config.n_layers)
        missing = sorted(set(mapping) - set(state_dict))
        if missing:
            raise FailedPrecondition(f"GPT checkpoint is missing weights, e.g. {missing[0]}")
        params = dict(self.named_parameters())
        with torch.no_grad():
            for official, local in mapping.items():
                source = state_dict[official]
                if tuple(source.shape) != tuple(params[local].shape):
                    raise FailedPrecondition(
                        f"GPT checkpoint weight {official} has shape {tuple(source.shape)}, "
                        f"expected {tuple(params[local].shape)}"
                    )
                params[local].copy_(source.to(torch.float32))

    #: :meth:`extend` appends chunks of tokens, so joining prompts can be prefilled in chunks.
    chunked_prefill = True

    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return self.head.weight.device

    # ---- embeddings -------------------------------------------------------------------------

    def sinusoids(self, n_positions: int) -> torch.Tensor:
        """The sinusoid position table ``(>= n_positions, dim)`` on the model's device."""
        table = self._sinusoids
        if table.shape[0] < n_positions:
            table = _sinusoid_table(n_positions, self.config.dim)
        if table.device != self.device:
            table = table.to(self.device)
        self._sinusoids = table
        return table

    def embed_phones(self, phone_ids: torch.Tensor, bert: torch.Tensor) -> torch.Tensor:
        """Phone part of a row ``(n_phones, dim)``: token + projected BERT + positions."""
        x = self.phone_embedding(phone_ids) + self.bert_proj(bert.transpose(0, 1))
        return x + self.phone_alpha * self.sinusoids(len(phone_ids))[: len(phone_ids)]

    def embed_codes(self, codes: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Semantic tokens (any shape) at their positions inside the semantic part."""
        table = self.sinusoids(int(positions.max()) + 1 if positions.numel() else 0)
        return self.semantic_embedding(codes) + self.semantic_alpha * table[positions]

    # ---- forward passes ---------------------------------------------------------------------

    def prefill(
        self, rows: Sequence[T2SPrefix], *, extra_capacity: int = 0
    ) -> tuple[KVCache, torch.Tensor]:
        """Run whole sequences of different lengths at once and cache their keys/values.

        Returns the cache (row ``b`` holds ``n_phones + n_codes`` positions, room for
        ``extra_capacity`` more) and the logits ``(rows, vocab)`` after each row's last token.
        """
        hidden, cache, lengths = self._run_prefix(rows, extra_capacity)
        last = hidden[torch.arange(len(rows), device=hidden.device), lengths - 1]
        return cache, self.head(last)

    def step(self, tokens: torch.Tensor, positions: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Append one semantic token per row and return the next logits ``(rows, vocab)``.

        ``tokens`` and ``positions`` are ``(rows,)``: the token and its index inside the row's
        semantic part (prompt codes count). The cache grows if needed and is advanced by one.
        """
        time = int(cache.lengths.max()) + 1  # longest row after this step
        cache.ensure_capacity(time)
        x = self.embed_codes(tokens, positions).unsqueeze(1)
        visible = torch.arange(time, device=x.device) <= cache.lengths.unsqueeze(1)
        mask = visible[:, None, None, :]
        for index, layer in enumerate(self.blocks):
            q, k, v = layer.project(x)
            cache.write_next(index, k, v)
            keys, values = cache.view(index, time)
            x = layer.finish(x, q, keys, values, mask)
        cache.advance()
        return self.head(x[:, 0])

    def extend(self, codes: torch.Tensor, first_position: int, cache: KVCache) -> torch.Tensor:
        """Append several semantic tokens to a one-row cache; logits ``(1, vocab)`` after them.

        The tokens attend to every cached position and causally to each other, exactly as
        they would inside one prefill, so a long prompt can be prefilled in chunks
        (``prefill`` of the phones and the first codes, then ``extend`` per chunk).
        ``first_position`` is the first token's index inside the semantic part.
        """
        if cache.n_rows != 1:
            raise ValueError("extend works on a one-row cache")
        length, count = int(cache.lengths[0]), int(codes.shape[0])
        cache.ensure_capacity(length + count)
        positions = torch.arange(first_position, first_position + count, device=self.device)
        x = self.embed_codes(codes.to(self.device), positions).unsqueeze(0)
        keys_index = torch.arange(length + count, device=self.device).view(1, -1)
        query_index = torch.arange(count, device=self.device).view(-1, 1) + length
        mask = (keys_index <= query_index)[None, None]
        for index, layer in enumerate(self.blocks):
            q, k, v = layer.project(x)
            cache.write_span(index, length, k, v)
            keys, values = cache.view(index, length + count)
            x = layer.finish(x, q, keys, values, mask)
        cache.lengths = cache.lengths + count
        return self.head(x[:, -1])

    def sequence_logits(self, row: T2SPrefix) -> torch.Tensor:
        """Logits ``(n_codes, vocab)`` after every semantic token of one row, without a cache.

        Entry ``t`` predicts the token after ``codes[t]``; with ``codes = prompt + generated``
        the entries from ``len(prompt) - 1`` on are the decoding steps' logits under teacher
        forcing. Used to check the cached path and to compare against traces.
        """
        hidden, _, lengths = self._run_prefix([row], 0)
        n_phones = len(row.phone_ids)
        return self.head(hidden[0, n_phones : int(lengths[0])])

    def _run_prefix(
        self, rows: Sequence[T2SPrefix], extra_capacity: int
    ) -> tuple[torch.Tensor, KVCache, torch.Tensor]:
        """Embed, right-pad and run ``rows``; returns hidden states, filled cache, lengths."""
        if not rows:
            raise InvalidArgument("no sequences to run")
        device = self.device
        embedded: list[torch.Tensor] = []
        n_phones: list[int] = []
        for row in rows:
            self._check_row(row)
            codes = row.codes.to(device)
            part_phones = self.embed_phones(row.phone_ids.to(device), row.bert.to(device))
            part_codes = self.embed_codes(codes, torch.arange(len(codes), device=device))
            embedded.append(torch.cat([part_phones, part_codes]))
            n_phones.append(len(row.phone_ids))
        lengths = torch.tensor([len(e) for e in embedded], device=device)
        longest = int(lengths.max())
        x = torch.stack([F.pad(e, (0, 0, 0, longest - len(e))) for e in embedded])
        mask = _prefix_mask(lengths, torch.tensor(n_phones, device=device), longest)
        cfg = self.config
        cache = KVCache.empty(
            cfg.n_layers,
            len(rows),
            cfg.n_heads,
            cfg.head_dim,
            longest + extra_capacity,
            dtype=x.dtype,
            device=device,
        )
        for index, layer in enumerate(self.blocks):
            q, k, v = layer.project(x)
            cache.write_prefix(index, k, v)
            x = layer.finish(x, q, k, v, mask)
        cache.lengths = lengths
        return x, cache, lengths

    def _check_row(self, row: T2SPrefix) -> None:
        """Reject rows whose shapes or ids do not fit the model."""
        cfg = self.config
        n = row.phone_ids.shape[0] if row.phone_ids.dim() == 1 else -1
        if n < 1:
            raise InvalidArgument("phone ids must be a non-empty 1-D sequence")
        if tuple(row.bert.shape) != (BERT_DIM, n):
            raise InvalidArgument(
                f"BERT features must be ({BERT_DIM}, {n}), got {tuple(row.bert.shape)}"
            )
        if int(row.phone_ids.min()) < 0 or int(row.phone_ids.max()) >= cfg.phone_vocab_size:
            raise InvalidArgument("phone id out of range")
        if row.codes.dim() != 1:
            raise InvalidArgument("semantic codes must be a 1-D sequence")
        if row.codes.numel() and (int(row.codes.min()) < 0 or int(row.codes.max()) >= cfg.eos):
            raise InvalidArgument("semantic code out of range")


def _prefix_mask(lengths: torch.Tensor, n_phones: torch.Tensor, time: int) -> torch.Tensor:
    """Boolean attention mask ``(rows, 1, time, time)`` for right-padded prefill rows.

    True where query ``i`` may attend key ``j``: keys must be real positions of the row;
    phone keys are visible to everyone, semantic keys only to semantic queries at or after
    them. Padding queries see the phones too (their output is discarded), so no row of the
    softmax is empty.
    """
    idx = torch.arange(time, device=lengths.device)
    query = idx.view(1, time, 1)
    key = idx.view(1, 1, time)
    real_key = key < lengths.view(-1, 1, 1)
    phone_key = key < n_phones.view(-1, 1, 1)
    semantic_query = query >= n_phones.view(-1, 1, 1)
    causal = key <= query
    return (real_key & (phone_key | (semantic_query & causal))).unsqueeze(1)


def _sinusoid_table(n_positions: int, dim: int) -> torch.Tensor:
    """Transformer sine/cosine positions: even columns sin, odd columns cos, float32.

    Frequencies are ``exp(-ln(10000) * 2i / dim)``; built in float32 the same way as the
    checkpoints were trained with, so positions match the official values bit for bit.
    """
    positions = torch.arange(0, n_positions, dtype=torch.float32).unsqueeze(1)
    frequencies = torch.exp(
        torch.arange(0, dim, 2, dtype=torch.float32) * -(math.log(10000.0) / dim)
    )
    angles = positions * frequencies
    table = torch.zeros(n_positions, dim)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles)
    return table


def official_key_map(n_layers: int) -> dict[str, str]:
    """Official state-dict key (without ``model.``) -> parameter name in :class:`T2SModel`."""
    mapping = {
        "bert_proj.weight": "bert_proj.weight",
        "bert_proj.bias": "bert_proj.bias",
        "ar_text_embedding.word_embeddings.weight": "phone_embedding.weight",
        "ar_text_position.alpha": "phone_alpha",
        "ar_audio_embedding.word_embeddings.weight": "semantic_embedding.weight",
        "ar_audio_position.alpha": "semantic_alpha",
    }
    per_layer = {
        "self_attn.in_proj_weight": "qkv.weight",
        "self_attn.in_proj_bias": "qkv.bias",
        "self_attn.out_proj.weight": "out.weight",
        "self_attn.out_proj.bias": "out.bias",
        "linear1.weight": "ff_in.weight",
        "linear1.bias": "ff_in.bias",
        "linear2.weight": "ff_out.weight",
        "linear2.bias": "ff_out.bias",
        "norm1.weight": "norm_attn.weight",
        "norm1.bias": "norm_attn.bias",
        "norm2.weight": "norm_ff.weight",
        "norm2.bias": "norm_ff.bias",
    }
    for i in range(n_layers):
        for official, local in per_layer.items():
            mapping[f"h.layers.{i}.{official}"] = f"layers.{i}.{local}"
    mapping["ar_predict_layer.weight"] = "head.weight"  # last, as the official module registers it
    return mapping
