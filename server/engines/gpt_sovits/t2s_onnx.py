"""T2S on ONNX Runtime: export the prefill and the cached decode step, and run them.

Two graphs per T2S checkpoint, exported from :class:`~.t2s.T2SModel` by
:func:`export_t2s`:

``t2s_prefill.onnx``  one row: ``phone_ids (P,)``, ``bert (1024, P)``, ``codes (S,)`` ->
                      ``logits (1, vocab)``, ``keys``/``values (layers, 1, heads, P+S, head_dim)``.
``t2s_step.onnx``     any number of rows: ``tokens (B,)``, ``positions (B,)``,
                      ``keys``/``values (layers, B, heads, T, head_dim)`` (the cache, any
                      capacity ``T``), ``lengths (B,)`` -> ``logits (B, vocab)`` and the new
                      position's ``new_keys``/``new_values (layers, B, heads, head_dim)``.

The step graph attends over the cache's first ``lengths[b]`` positions plus the new one
(appended last: attention does not depend on key order, positions are in the embeddings), so
it needs no scatter; :class:`OnnxT2SModel` writes the new keys into the
:class:`~.t2s_cache.KVCache` itself. Both back ends implement
:class:`~.t2s_backend.T2SBackend`, so :class:`~.t2s_decode.T2SBatch` (and with it continuous
batching, sampling and the stop rules) runs on either unchanged. The graphs cannot append a
chunk of tokens to a cache (``chunked_prefill`` is False): requests that join running ones
are prefilled whole.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from server.engines.gpt_sovits.onnx_files import file_source, open_session, read_manifest
from server.engines.gpt_sovits.t2s import BERT_DIM, T2SConfig, T2SModel, T2SPrefix
from server.engines.gpt_sovits.t2s_cache import KVCache
from server.errors import FailedPrecondition

PREFILL_FILE = "t2s_prefill.onnx"
STEP_FILE = "t2s_step.onnx"
MANIFEST_FILE = "t2s_onnx.json"
#: Sinusoid positions baked into the graphs: the longest semantic part (prompt codes of a
#: 10 s clip, 250, plus the official 1,500 steps) and the longest phone run fit with room.
MAX_POSITIONS = 4096
OPSET = 17


class _Prefill(nn.Module):
    """One row's prefill as a pure function (export wrapper)."""

    table: torch.Tensor  # the sinusoid buffer registered below

    def __init__(self, model: T2SModel) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("table", model.sinusoids(MAX_POSITIONS)[:MAX_POSITIONS].clone())

    def forward(self, phone_ids: torch.Tensor, bert: torch.Tensor,
                codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.model
        n_phones = phone_ids.shape[0]
        n_codes = codes.shape[0]
        phones = (m.phone_embedding(phone_ids) + m.bert_proj(bert.transpose(0, 1))
                  + m.phone_alpha * self.table[:n_phones])
        semantic = m.semantic_embedding(codes) + m.semantic_alpha * self.table[:n_codes]
        x = torch.cat([phones, semantic]).unsqueeze(0)
        time = n_phones + n_codes
        idx = torch.arange(time)
        query, key = idx.view(time, 1), idx.view(1, time)
        mask = (key < n_phones) | ((query >= n_phones) & (key <= query))
        keys, values = [], []
        for layer in m.blocks:
            q, k, v = layer.project(x)
            keys.append(k)
            values.append(v)
            x = layer.finish(x, q, k, v, mask.view(1, 1, time, time))
        logits = m.head(x[:, -1])
        return logits, torch.stack(keys), torch.stack(values)


class _Step(nn.Module):
    """One cached decode step over a batch as a pure function (export wrapper)."""

    table: torch.Tensor  # the sinusoid buffer registered below

    def __init__(self, model: T2SModel) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("table", model.sinusoids(MAX_POSITIONS)[:MAX_POSITIONS].clone())

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor, keys: torch.Tensor,
                values: torch.Tensor, lengths: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.model
        x = (m.semantic_embedding(tokens) + m.semantic_alpha * self.table[positions]).unsqueeze(1)
        capacity = keys.shape[3]
        cached = torch.arange(capacity).view(1, -1) < lengths.view(-1, 1)
        visible = torch.cat([cached, torch.ones_like(cached[:, :1])], dim=1)
        mask = visible[:, None, None, :]
        new_keys, new_values = [], []
        for index, layer in enumerate(m.blocks):
            q, k, v = layer.project(x)
            new_keys.append(k[:, :, 0])
            new_values.append(v[:, :, 0])
            all_k = torch.cat([keys[index], k], dim=2)
            all_v = torch.cat([values[index], v], dim=2)
            x = layer.finish(x, q, all_k, all_v, mask)
        return m.head(x[:, 0]), torch.stack(new_keys), torch.stack(new_values)


def export_t2s(model: T2SModel, out_dir: Path, source: dict[str, Any]) -> list[Path]:
    """Write both graphs and a manifest (model config, the source checkpoint) to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.float().cpu().eval()
    cfg = model.config
    phones = torch.zeros(5, dtype=torch.long)
    prefill_path, step_path = out_dir / PREFILL_FILE, out_dir / STEP_FILE
    with torch.inference_mode():
        torch.onnx.export(
            _Prefill(model), (phones, torch.zeros(BERT_DIM, 5), torch.zeros(7, dtype=torch.long)),
            str(prefill_path), dynamo=False, opset_version=OPSET,
            input_names=["phone_ids", "bert", "codes"],
            output_names=["logits", "keys", "values"],
            dynamic_axes={"phone_ids": {0: "phones"}, "bert": {1: "phones"},
                          "codes": {0: "codes"}, "keys": {3: "time"}, "values": {3: "time"}},
        )
        rows, capacity = 2, 9
        cache = torch.zeros(cfg.n_layers, rows, cfg.n_heads, capacity, cfg.head_dim)
        torch.onnx.export(
            _Step(model), (torch.zeros(rows, dtype=torch.long), torch.zeros(rows, dtype=torch.long),
                           cache, cache.clone(), torch.tensor([3, 9])),
            str(step_path), dynamo=False, opset_version=OPSET,
            input_names=["tokens", "positions", "keys", "values", "lengths"],
            output_names=["logits", "new_keys", "new_values"],
            dynamic_axes={"tokens": {0: "rows"}, "positions": {0: "rows"},
                          "keys": {1: "rows", 3: "capacity"}, "values": {1: "rows", 3: "capacity"},
                          "lengths": {0: "rows"}, "logits": {0: "rows"},
                          "new_keys": {1: "rows"}, "new_values": {1: "rows"}},
        )
    manifest = {"format": 1, "config": cfg.__dict__, "source": source,
                "max_positions": MAX_POSITIONS, "opset": OPSET}
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n")
    return [prefill_path, step_path, out_dir / MANIFEST_FILE]


def t2s_source(t2s_file: Path) -> dict[str, Any]:
    """What identifies the T2S checkpoint an export came from (name, size, sha256)."""
    return file_source(t2s_file, "t2s")


class OnnxT2SModel:
    """The exported T2S graphs as a :class:`~.t2s_backend.T2SBackend`."""

    #: The exported graphs prefill whole rows only.
    chunked_prefill = False

    def __init__(self, onnx_dir: Path, *, providers: Sequence[str] = ("CPUExecutionProvider",),
                 threads: int | None = None) -> None:
        manifest = read_manifest(onnx_dir, MANIFEST_FILE, "T2S", None)
        self.config = T2SConfig(**manifest["config"])
        self.source: dict[str, Any] = manifest["source"]
        self._prefill = open_session(onnx_dir / PREFILL_FILE, providers, threads)
        self._step = open_session(onnx_dir / STEP_FILE, providers, threads)
        self.device = torch.device("cpu")

    def prefill(self, rows: Sequence[T2SPrefix], *,
                extra_capacity: int = 0) -> tuple[KVCache, torch.Tensor]:
        """Prefill each row (one graph run per row) into one cache; logits ``(rows, vocab)``."""
        caches, logits = [], []
        for row in rows:
            _check_positions(max(len(row.phone_ids), len(row.codes)))
            out_logits, keys, values = self._prefill.run(None, {
                "phone_ids": row.phone_ids.cpu().numpy().astype(np.int64),
                "bert": row.bert.float().cpu().numpy(),
                "codes": row.codes.cpu().numpy().astype(np.int64),
            })
            time = keys.shape[3]
            cache = KVCache(torch.from_numpy(keys), torch.from_numpy(values),
                            torch.tensor([time]))
            cache.ensure_capacity(time + extra_capacity)
            caches.append(cache)
            logits.append(torch.from_numpy(out_logits))
        return KVCache.concat(caches), torch.cat(logits)

    def step(self, tokens: torch.Tensor, positions: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """One token per row; writes the new keys/values at each row's length, then advances."""
        cache.ensure_capacity(int(cache.lengths.max()) + 1)
        _check_positions(int(positions.max()) + 1 if positions.numel() else 0)
        logits, new_keys, new_values = self._step.run(None, {
            "tokens": tokens.cpu().numpy().astype(np.int64),
            "positions": positions.cpu().numpy().astype(np.int64),
            "keys": cache.keys.numpy(),
            "values": cache.values.numpy(),
            "lengths": cache.lengths.cpu().numpy().astype(np.int64),
        })
        rows = torch.arange(cache.n_rows)
        lengths = cache.lengths
        cache.keys[:, rows, :, lengths] = torch.from_numpy(new_keys).permute(1, 0, 2, 3)
        cache.values[:, rows, :, lengths] = torch.from_numpy(new_values).permute(1, 0, 2, 3)
        cache.advance()
        return torch.from_numpy(logits)

    def extend(self, codes: torch.Tensor, first_position: int, cache: KVCache) -> torch.Tensor:
        """Not exported (``chunked_prefill`` is False): the decoder never calls it."""
        raise NotImplementedError("the ONNX T2S graphs prefill whole rows only")


def _check_positions(count: int) -> None:
    """Refuse rows longer than the positions baked into the graphs (clear error, no crash)."""
    if count >= MAX_POSITIONS:
        raise FailedPrecondition(
            f"the ONNX T2S handles at most {MAX_POSITIONS - 1} phones or semantic tokens per "
            "text segment; split the text into shorter segments"
        )
