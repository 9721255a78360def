"""Batched T2S decoding: requests in, semantic tokens out, with the official stop rules.

A :class:`T2SBatch` holds any number of requests (different voices, prompts and lengths) and
advances all of them by one token per :meth:`T2SBatch.step`: one sampling call over the pending
logits, the stop rules, then one cached model step for the rows that continue. Requests can be
admitted while others are running (:meth:`T2SBatch.add`). A single request is simply a batch
of one; :func:`generate` runs a list of requests to completion.

Stop rules, as in the official batched decoder (``infer_panel_batch_infer``) that ``TTS.run``
uses: a row stops at step ``i`` when its sampled token or the argmax of its penalized logits is
EOS, and returns the tokens of steps ``0 .. i-1`` (EOS excluded). Otherwise, once a row holds
more than ``max_new_tokens`` tokens it stops and returns the first ``max_new_tokens`` (so the
step that detects the cap is run and its sample discarded, exactly as officially). The official
loop bound of 1500 steps is the same rule with a cap of :data:`MAX_NEW_TOKENS` tokens.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch

from server.engines.gpt_sovits.t2s import T2SPrefix
from server.engines.gpt_sovits.t2s_admission import AdmissionQueue, PrefillChunk, PrefillPacer
from server.engines.gpt_sovits.t2s_backend import T2SBackend
from server.engines.gpt_sovits.t2s_cache import KVCache
from server.engines.gpt_sovits.t2s_sampling import (
    EOS_BAN_STEPS,
    SamplingParams,
    make_generator,
    sample_next,
)
from server.errors import InvalidArgument

# At most this many tokens per request: the official loop runs 1500 steps and drops the last.
MAX_NEW_TOKENS = 1499
# Initial room for generated tokens in a fresh cache (it grows when needed).
_INITIAL_ROOM = 128


@dataclass(frozen=True)
class T2SRequest:
    """One segment to decode.

    ``phone_ids``/``bert`` cover the prompt text's phones followed by the segment's phones;
    ``prompt_codes`` are the reference audio's semantic codes. The random stream is
    ``generator`` if given, else a fresh generator seeded with ``seed``, else an unpredictable
    one. ``max_new_tokens`` is the official ``early_stop_num`` (clamped to
    :data:`MAX_NEW_TOKENS`).

    Officially every draw of a ``TTS.run`` call comes from torch's one global generator, so to
    reproduce sampled output pass the same generator for all segments of a call and make the
    same draws in between: after ``manual_seed(seed)``, one ``rand([])`` per HuBERT layer (the
    LayerDrop check, drawn even in eval mode, when the reference is processed in that call),
    then per segment in the official order the T2S draws and the decoder's ``randn`` noise.
    """

    phone_ids: torch.Tensor  # (n_phones,) int64
    bert: torch.Tensor  # (1024, n_phones) float32
    prompt_codes: torch.Tensor  # (n_prompt,) int64
    params: SamplingParams = field(default_factory=SamplingParams)
    max_new_tokens: int = MAX_NEW_TOKENS
    seed: int | None = None
    generator: torch.Generator | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise InvalidArgument("max_new_tokens must be an integer >= 1")


@dataclass(frozen=True)
class StepTrace:
    """Per-step record of one request (for parity checks against the official trace)."""

    raw_logits: torch.Tensor  # (steps, vocab) model output; NaN in the banned EOS column
    penalized_logits: torch.Tensor  # (steps, vocab) after the repetition penalty; NaN likewise
    samples: torch.Tensor  # (steps,) int64 sampled token of every step, the discarded last too


@dataclass(frozen=True)
class GenerationResult:
    """What a finished request produced."""

    tokens: torch.Tensor  # (n,) int64 semantic tokens for the decoder (EOS never included)
    eos: bool  # stopped on EOS (False: stopped on the token cap)
    steps: int  # decoding steps run (= n + 1)
    trace: StepTrace | None = None


@dataclass
class _Row:
    """Bookkeeping of one running request."""

    request_id: int
    params: SamplingParams
    generator: torch.Generator
    cap: int
    step: int = 0
    tokens: list[int] = field(default_factory=list)
    raw: list[torch.Tensor] | None = None
    penalized: list[torch.Tensor] | None = None
    samples: list[int] | None = None


class T2SBatch:
    """A set of running requests advanced together, one token per :meth:`step`.

    Which waiting request is prefilled when is the :class:`~.t2s_admission.AdmissionQueue`'s
    decision, within the budget of the :class:`~.t2s_admission.PrefillPacer` (by default
    about as long as a step's decode); this class runs that plan on the back end, keeps the decoding
    rows' cache and state, samples and applies the stop rules. ``clock`` times the pacer.
    """

    def __init__(self, model: T2SBackend, *, trace: bool = False,
                 admission: AdmissionQueue[KVCache] | None = None,
                 pacer: PrefillPacer | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.model = model
        self.trace = trace
        self._rows: list[_Row] = []
        self._cache: KVCache | None = None
        self._logits: torch.Tensor | None = None  # (rows, vocab) pending, not yet sampled
        self._history: torch.Tensor | None = None  # (rows, vocab) bool: tokens seen per row
        self._positions: torch.Tensor | None = None  # (rows,) next semantic position per row
        self._admission: AdmissionQueue[KVCache] = admission or AdmissionQueue()
        self._waiting: dict[int, T2SRequest] = {}  # requests in the admission queue, by id
        self._pacer = pacer or PrefillPacer()
        self._clock = clock
        self._next_id = 0

    @property
    def active(self) -> list[int]:
        """Ids of the requests still running (decoding, then still being prefilled)."""
        return [row.request_id for row in self._rows] + [w.request_id for w in self._admission]

    @property
    def decoding(self) -> list[int]:
        """Ids of the requests decoding now (not those still being prefilled)."""
        return [row.request_id for row in self._rows]

    @property
    def done(self) -> bool:
        """True when no request is running or waiting to join."""
        return not self._rows and not self._waiting

    @torch.inference_mode()
    def add(self, requests: Sequence[T2SRequest]) -> list[int]:
        """Admit ``requests``; returns their ids (used by :meth:`step`).

        With nothing decoding they are prefilled at once, together. Otherwise they wait in
        the admission queue and are prefilled in chunks over the next steps (within its
        budget), then join, so the running requests are never stalled long.
        """
        if not requests:
            return []
        ids = list(range(self._next_id, self._next_id + len(requests)))
        self._next_id += len(requests)
        if (self._rows or self._waiting) and self.model.chunked_prefill:
            for request_id, request in zip(ids, requests, strict=True):
                self._waiting[request_id] = request
                self._admission.push(request_id, len(request.phone_ids),
                                     len(request.prompt_codes))
            return ids
        prefixes = [T2SPrefix(r.phone_ids, r.bert, r.prompt_codes) for r in requests]
        cache, logits = self.model.prefill(prefixes, extra_capacity=_room(requests))
        self._join(ids, list(requests), cache, logits)
        return ids

    def _continue_joining(self) -> None:
        """Run this step's prefill plan; requests whose prompt is then cached join."""
        budget = self._pacer.budget(len(self._rows), len(self._waiting)) if self._rows else None
        for piece in self._admission.plan(budget):
            started = self._clock()
            cache, logits = self._prefill(piece, self._waiting[piece.waiting.request_id])
            self._pacer.prefilled(piece.positions, self._clock() - started)
            ready = self._admission.ran(piece, cache)
            if ready is not None:
                request = self._waiting.pop(ready.request_id)
                self._join([ready.request_id], [request], cache, logits)

    def _prefill(self, piece: PrefillChunk[KVCache],
                 request: T2SRequest) -> tuple[KVCache, torch.Tensor]:
        """Run one chunk: the phones and first codes into a new cache, or the next codes."""
        codes = request.prompt_codes[piece.start:piece.stop]
        if piece.first:
            room = len(request.prompt_codes) - len(codes) + _room([request])
            return self.model.prefill([T2SPrefix(request.phone_ids, request.bert, codes)],
                                      extra_capacity=room)
        cache = piece.waiting.cache
        assert cache is not None  # the first chunk made it
        return cache, self.model.extend(codes, piece.start, cache)

    def _join(self, ids: list[int], requests: list[T2SRequest], cache: KVCache,
              logits: torch.Tensor) -> None:
        """Prefilled requests become decoding rows."""
        device = self.model.device
        vocab = self.model.config.vocab_size
        history = torch.zeros(len(requests), vocab, dtype=torch.bool, device=device)
        for i, r in enumerate(requests):
            history[i, r.prompt_codes.to(device)] = True
        positions = torch.tensor([len(r.prompt_codes) for r in requests], device=device)
        rows = [self._new_row(i, r, device) for i, r in zip(ids, requests, strict=True)]
        if self._cache is None:
            self._cache = cache
        else:  # kept from earlier rows, even when all of them left: no regrowth (see _drop)
            self._cache.append(cache)
        if self._logits is None:
            self._logits, self._history, self._positions = logits, history, positions
        else:
            assert self._history is not None and self._positions is not None  # set together
            self._logits = torch.cat([self._logits, logits])
            self._history = torch.cat([self._history, history])
            self._positions = torch.cat([self._positions, positions])
        self._rows.extend(rows)

    def tokens_of(self, request_id: int) -> list[int]:
        """The tokens a running request has generated so far (a copy; for streaming)."""
        row = next((row for row in self._rows if row.request_id == request_id), None)
        return list(row.tokens) if row is not None else []

    @torch.inference_mode()
    def remove(self, request_ids: Sequence[int]) -> None:
        """Drop running requests (cancelled, deadline passed, voice revoked); others go on."""
        gone = set(request_ids)
        self._admission.remove(gone)
        for request_id in gone:
            self._waiting.pop(request_id, None)
        drop = [i for i, row in enumerate(self._rows) if row.request_id in gone]
        if drop:
            self._drop(drop)

    @torch.inference_mode()
    def step(self) -> list[tuple[int, GenerationResult]]:
        """Sample one token for every running request; return the requests that finished."""
        if self._waiting:
            self._continue_joining()
        if not self._rows:
            return []
        assert self._logits is not None and self._history is not None
        eos = self.model.config.eos
        logits = self._logits
        sampled = sample_next(
            logits,
            self._history,
            [row.step for row in self._rows],
            [row.params for row in self._rows],
            [row.generator for row in self._rows],
        )
        tokens = sampled.tokens.tolist()
        greedy = sampled.greedy.tolist()
        finished: list[tuple[int, GenerationResult]] = []
        keep: list[int] = []
        for i, row in enumerate(self._rows):
            token = tokens[i]
            if row.raw is not None and row.penalized is not None and row.samples is not None:
                raw = logits[i].clone()
                if row.step < EOS_BAN_STEPS:
                    raw[eos] = float("nan")
                row.raw.append(raw)
                row.penalized.append(sampled.penalized[i].clone())
                row.samples.append(token)
            row.step += 1
            if token == eos or greedy[i] == eos:
                finished.append((row.request_id, self._result(row, eos=True)))
            elif len(row.tokens) + 1 > row.cap:
                finished.append((row.request_id, self._result(row, eos=False)))
            else:
                row.tokens.append(token)
                keep.append(i)
        self._advance(keep, sampled.tokens)
        return finished

    def _advance(self, keep: list[int], tokens: torch.Tensor) -> None:
        """Drop finished rows, then run the model on the continuing rows' new tokens."""
        if len(keep) < len(self._rows):
            kept = set(keep)
            order = self._drop([i for i in range(len(self._rows)) if i not in kept])
            if not order:
                return
            tokens = tokens.index_select(0, torch.tensor(order, device=tokens.device))
        assert self._cache is not None and self._history is not None
        assert self._positions is not None
        rows = torch.arange(len(self._rows), device=tokens.device)
        self._history[rows, tokens] = True
        started = self._clock()
        self._logits = self.model.step(tokens, self._positions, self._cache)
        self._pacer.stepped(self._clock() - started)
        self._positions = self._positions + 1

    def _drop(self, indices: list[int]) -> list[int]:
        """Remove rows by batch index; returns the old index of every row left, in order.

        The cache moves the last row into each freed slot (one row copied, no rebuild); the
        small per-row state (bookkeeping, token history, positions, pending logits) follows.
        When the last row leaves, the cache's tensors are kept for the next requests: a cache
        that grew to a burst's size stays that size (as a server's memory high-water mark),
        so the next burst does not stall its running rows on the copies that growing takes.
        """
        assert self._cache is not None and self._history is not None
        assert self._positions is not None and self._logits is not None
        order = self._cache.remove(indices)
        self._rows = [self._rows[i] for i in order]
        if not order:
            self._logits = self._history = self._positions = None
            return order
        index = torch.tensor(order, device=self._positions.device)
        self._history = self._history.index_select(0, index)
        self._positions = self._positions.index_select(0, index)
        self._logits = self._logits.index_select(0, index)
        return order

    def _new_row(self, request_id: int, request: T2SRequest, device: torch.device) -> _Row:
        """Bookkeeping for a newly admitted request."""
        generator = request.generator
        if generator is None:
            seed = request.seed
            if seed is None:
                seed = secrets.randbits(63)
            generator = make_generator(seed, device)
        row = _Row(
            request_id=request_id,
            params=request.params,
            generator=generator,
            cap=min(request.max_new_tokens, MAX_NEW_TOKENS),
        )
        if self.trace:
            row.raw, row.penalized, row.samples = [], [], []
        return row

    def _result(self, row: _Row, *, eos: bool) -> GenerationResult:
        """The result of a finishing row."""
        trace = None
        if row.raw is not None and row.penalized is not None and row.samples is not None:
            trace = StepTrace(
                raw_logits=torch.stack(row.raw),
                penalized_logits=torch.stack(row.penalized),
                samples=torch.tensor(row.samples, dtype=torch.long),
            )
        tokens = torch.tensor(row.tokens, dtype=torch.long)
        return GenerationResult(tokens=tokens, eos=eos, steps=row.step, trace=trace)


def _room(requests: Iterable[T2SRequest]) -> int:
    """Cache positions to reserve for generated tokens at first (the cache grows later)."""
    return min(max(min(r.max_new_tokens, MAX_NEW_TOKENS) for r in requests), _INITIAL_ROOM)


def generate(
    model: T2SBackend, requests: Sequence[T2SRequest], *, trace: bool = False
) -> list[GenerationResult]:
    """Decode ``requests`` together in one batch until each stops; results in request order."""
    batch = T2SBatch(model, trace=trace)
    ids = batch.add(requests)
    results: dict[int, GenerationResult] = {}
    while not batch.done:
        results.update(batch.step())
    return [results[i] for i in ids]
