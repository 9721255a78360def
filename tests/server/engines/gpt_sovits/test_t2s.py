"""T2S model and batched decoding: cache, batching and stop rules on small random models.

The models here are built from a seed (no fixtures): official checkpoint key names, small
dimensions, logits widened so that greedy decoding is insensitive to float noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import torch

from server.engines.gpt_sovits.t2s import T2SConfig, T2SModel, T2SPrefix
from server.engines.gpt_sovits.t2s_admission import PrefillPacer
from server.engines.gpt_sovits.t2s_cache import KVCache
from server.engines.gpt_sovits.t2s_decode import (
    MAX_NEW_TOKENS,
    T2SBatch,
    T2SRequest,
    generate,
)
from server.engines.gpt_sovits.t2s_sampling import EOS_BAN_STEPS, SamplingParams
from server.errors import FailedPrecondition, InvalidArgument

EOS = 1024
N_PHONES = 732
GREEDY = SamplingParams(top_k=1)


@dataclass(frozen=True)
class FakeCheckpoint:
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]


def random_checkpoint(
    seed: int, dim: int = 32, heads: int = 4, layers: int = 2, eos_boost: float = 1.0
) -> FakeCheckpoint:
    """A T2S checkpoint in the official key layout with fp16-rounded random weights.

    ``eos_boost`` scales the EOS row of the output layer so that EOS wins now and then.
    """
    gen = torch.Generator().manual_seed(seed)

    def normal(*shape: int, std: float) -> torch.Tensor:
        return torch.randn(shape, generator=gen) * std

    sd: dict[str, torch.Tensor] = {
        "bert_proj.weight": normal(dim, 1024, std=1 / math.sqrt(1024)),
        "bert_proj.bias": normal(dim, std=0.05),
        "ar_text_embedding.word_embeddings.weight": normal(N_PHONES, dim, std=1.0),
        "ar_text_position.alpha": 0.5 + torch.rand(1, generator=gen),
        "ar_audio_embedding.word_embeddings.weight": normal(EOS + 1, dim, std=1.0),
        "ar_audio_position.alpha": 0.5 + torch.rand(1, generator=gen),
        # Wide logits (std ~2) keep top-1/top-2 gaps far above float noise.
        "ar_predict_layer.weight": normal(EOS + 1, dim, std=2 / math.sqrt(dim)),
    }
    sd["ar_predict_layer.weight"][EOS] *= eos_boost
    for i in range(layers):
        p = f"h.layers.{i}."
        sd |= {
            p + "self_attn.in_proj_weight": normal(3 * dim, dim, std=1 / math.sqrt(dim)),
            p + "self_attn.in_proj_bias": normal(3 * dim, std=0.05),
            p + "self_attn.out_proj.weight": normal(dim, dim, std=1 / math.sqrt(dim)),
            p + "self_attn.out_proj.bias": normal(dim, std=0.05),
            p + "linear1.weight": normal(4 * dim, dim, std=1 / math.sqrt(dim)),
            p + "linear1.bias": normal(4 * dim, std=0.05),
            p + "linear2.weight": normal(dim, 4 * dim, std=1 / math.sqrt(4 * dim)),
            p + "linear2.bias": normal(dim, std=0.05),
            p + "norm1.weight": 1 + normal(dim, std=0.1),
            p + "norm1.bias": normal(dim, std=0.05),
            p + "norm2.weight": 1 + normal(dim, std=0.1),
            p + "norm2.bias": normal(dim, std=0.05),
        }
    config = {
        "model": {
            "embedding_dim": dim,
            "hidden_dim": dim,
            "head": heads,
            "n_layer": layers,
            "vocab_size": EOS + 1,
            "phoneme_vocab_size": N_PHONES,
            "EOS": EOS,
            "dropout": 0,
        }
    }
    return FakeCheckpoint(config, {k: v.half().float() for k, v in sd.items()})


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny ops run far faster on one intra-op thread than on several contending ones."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model() -> T2SModel:
    return T2SModel.from_checkpoint(random_checkpoint(7))


@pytest.fixture(scope="module")
def eos_model() -> T2SModel:
    """A model whose greedy decoding hits EOS within a few dozen steps for some inputs."""
    return T2SModel.from_checkpoint(random_checkpoint(7, eos_boost=1.6))


@pytest.fixture(scope="module")
def no_eos_model() -> T2SModel:
    """The same kind of model with EOS logits pinned to 0, so EOS never wins."""
    ckpt = random_checkpoint(8)
    ckpt.state_dict["ar_predict_layer.weight"][EOS] = 0.0
    return T2SModel.from_checkpoint(ckpt)


def random_request(data_seed: int, n_phones: int, n_prompt: int, **kwargs: Any) -> T2SRequest:
    gen = torch.Generator().manual_seed(data_seed)
    return T2SRequest(
        phone_ids=torch.randint(0, N_PHONES, (n_phones,), generator=gen),
        bert=torch.randn(1024, n_phones, generator=gen),
        prompt_codes=torch.randint(0, EOS, (n_prompt,), generator=gen),
        **kwargs,
    )


def prefix_of(request: T2SRequest, generated: torch.Tensor | None = None) -> T2SPrefix:
    codes = request.prompt_codes
    if generated is not None:
        codes = torch.cat([codes, generated])
    return T2SPrefix(request.phone_ids, request.bert, codes)


# ---- loading ---------------------------------------------------------------------------------


def test_from_checkpoint_maps_official_keys(model: T2SModel) -> None:
    ckpt = random_checkpoint(7)
    assert model.config == T2SConfig(32, 4, 2, EOS + 1, N_PHONES, EOS)
    assert torch.equal(model.layers[1].ff_in.weight, ckpt.state_dict["h.layers.1.linear1.weight"])
    assert torch.equal(model.semantic_alpha, ckpt.state_dict["ar_audio_position.alpha"])
    assert not model.training


def test_from_checkpoint_rejects_bad_checkpoints() -> None:
    ckpt = random_checkpoint(7)
    missing = dict(ckpt.state_dict)
    del missing["h.layers.1.norm2.bias"]
    with pytest.raises(FailedPrecondition, match="missing"):
        T2SModel.from_checkpoint(FakeCheckpoint(ckpt.config, missing))
    wrong = dict(ckpt.state_dict) | {"bert_proj.bias": torch.zeros(5)}
    with pytest.raises(FailedPrecondition, match="shape"):
        T2SModel.from_checkpoint(FakeCheckpoint(ckpt.config, wrong))
    bad_eos = {"model": ckpt.config["model"] | {"EOS": 3}}
    with pytest.raises(FailedPrecondition, match="EOS"):
        T2SModel.from_checkpoint(FakeCheckpoint(bad_eos, ckpt.state_dict))


def test_rejects_malformed_inputs(model: T2SModel) -> None:
    good = random_request(1, 6, 4)
    with pytest.raises(InvalidArgument, match="BERT"):
        model.prefill([T2SPrefix(good.phone_ids, good.bert[:, :5], good.prompt_codes)])
    with pytest.raises(InvalidArgument, match="semantic code"):
        model.prefill([T2SPrefix(good.phone_ids, good.bert, torch.tensor([3, EOS]))])
    with pytest.raises(InvalidArgument, match="phone id"):
        model.prefill([T2SPrefix(good.phone_ids + N_PHONES, good.bert, good.prompt_codes)])
    with pytest.raises(InvalidArgument):
        random_request(1, 6, 4, max_new_tokens=0)


# ---- forward passes --------------------------------------------------------------------------


def test_batched_prefill_matches_single_rows(model: T2SModel) -> None:
    requests = [random_request(s, n, p) for s, n, p in [(1, 9, 5), (2, 3, 17), (3, 14, 1)]]
    with torch.inference_mode():
        cache, logits = model.prefill([prefix_of(r) for r in requests])
        for i, r in enumerate(requests):
            alone_cache, alone_logits = model.prefill([prefix_of(r)])
            length = len(r.phone_ids) + len(r.prompt_codes)
            assert int(cache.lengths[i]) == length
            torch.testing.assert_close(logits[i], alone_logits[0], atol=1e-5, rtol=0)
            torch.testing.assert_close(
                cache.keys[:, i, :, :length], alone_cache.keys[:, 0, :, :length], atol=1e-5, rtol=0
            )


def test_cached_steps_equal_full_recomputation(model: T2SModel) -> None:
    request = random_request(4, 7, 6, params=GREEDY, max_new_tokens=20)
    result = generate(model, [request], trace=True)[0]
    assert result.trace is not None
    generated = result.trace.samples[:-1]  # every fed token (the last sample is never fed)
    with torch.inference_mode():
        full = model.sequence_logits(prefix_of(request, generated))
    steps = full[len(request.prompt_codes) - 1 :]
    assert steps.shape[0] == result.steps
    raw = result.trace.raw_logits.clone()
    raw[:EOS_BAN_STEPS, EOS] = steps[:EOS_BAN_STEPS, EOS]  # banned column is NaN in the trace
    torch.testing.assert_close(raw, steps, atol=1e-4, rtol=0)


def test_cache_grows_past_initial_capacity(no_eos_model: T2SModel) -> None:
    request = random_request(5, 4, 3, params=GREEDY, max_new_tokens=150)
    result = generate(no_eos_model, [request], trace=True)[0]
    assert len(result.tokens) == 150
    with torch.inference_mode():
        full = no_eos_model.sequence_logits(prefix_of(request, result.tokens))
    torch.testing.assert_close(result.trace.raw_logits[-1, :EOS], full[-1, :EOS], atol=1e-4, rtol=0)


# ---- batching --------------------------------------------------------------------------------


def test_batch_rows_match_single_requests_greedy(eos_model: T2SModel) -> None:
    requests = [
        random_request(s, n, p, params=GREEDY, max_new_tokens=cap)
        for s, n, p, cap in [(11, 12, 8, 25), (12, 5, 21, 60), (13, 20, 2, 60)]
    ]
    together = generate(eos_model, requests, trace=True)
    # Rows leave the batch at different steps: a cap, then two EOS.
    assert [(len(r.tokens), r.eos) for r in together] == [(25, False), (39, True), (47, True)]
    for request, batched in zip(requests, together, strict=True):
        alone = generate(eos_model, [request], trace=True)[0]
        assert torch.equal(batched.tokens, alone.tokens)
        assert (batched.eos, batched.steps) == (alone.eos, alone.steps)
        torch.testing.assert_close(
            batched.trace.raw_logits, alone.trace.raw_logits, atol=1e-5, rtol=0, equal_nan=True
        )


def test_batch_rows_match_single_requests_sampled(model: T2SModel) -> None:
    params = [SamplingParams(top_k=10), SamplingParams(top_k=5, top_p=0.9, temperature=0.8)]
    requests = [
        random_request(20 + i, 6 + 5 * i, 10 - 3 * i, params=p, seed=100 + i, max_new_tokens=30)
        for i, p in enumerate(params)
    ]
    together = generate(model, requests)
    for request, batched in zip(requests, together, strict=True):
        assert torch.equal(batched.tokens, generate(model, [request])[0].tokens)
    # The seed alone determines a request's tokens.
    assert torch.equal(generate(model, [requests[0]])[0].tokens, together[0].tokens)


def test_requests_admitted_mid_flight(model: T2SModel) -> None:
    first = random_request(30, 8, 9, params=GREEDY, max_new_tokens=25)
    second = random_request(31, 15, 4, params=SamplingParams(top_k=8), seed=5, max_new_tokens=25)
    batch = T2SBatch(model)
    (first_id,) = batch.add([first])
    results = {}
    for _ in range(4):
        results.update(batch.step())
    (second_id,) = batch.add([second])
    assert batch.active == [first_id, second_id]
    while not batch.done:
        results.update(batch.step())
    assert torch.equal(results[first_id].tokens, generate(model, [first])[0].tokens)
    assert torch.equal(results[second_id].tokens, generate(model, [second])[0].tokens)


# ---- stop rules (scripted logits) ------------------------------------------------------------


class ScriptedModel:
    """Stands in for T2SModel in T2SBatch: logits come from ``script(step)``."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.config = T2SConfig(8, 1, 1, EOS + 1, N_PHONES, EOS)
        self.device = torch.device("cpu")

    def _logits(self, n_rows: int, step: int) -> torch.Tensor:
        return self.script(step).expand(n_rows, -1).clone()

    def prefill(self, rows: Any, *, extra_capacity: int = 0) -> tuple[KVCache, torch.Tensor]:
        cache = KVCache.empty(1, len(rows), 1, 8, 4, dtype=torch.float32, device=self.device)
        return cache, self._logits(len(rows), 0)

    def step(self, tokens: torch.Tensor, positions: torch.Tensor, cache: KVCache) -> torch.Tensor:
        cache.advance()
        return self._logits(len(tokens), int(cache.lengths[0]))


def eos_wins_from(step_eos: int) -> Any:
    def script(step: int) -> torch.Tensor:
        logits = torch.linspace(-3.0, 3.0, EOS + 1)
        logits[EOS] = 10.0 if step >= step_eos else -10.0
        return logits

    return script


def dummy_request(**kwargs: Any) -> T2SRequest:
    return T2SRequest(
        phone_ids=torch.tensor([1, 2]),
        bert=torch.zeros(1024, 2),
        prompt_codes=torch.tensor([5, 6, 7]),
        **kwargs,
    )


def test_eos_is_banned_for_the_first_steps() -> None:
    model = ScriptedModel(eos_wins_from(0))
    result = generate(model, [dummy_request(params=GREEDY)], trace=True)[0]  # type: ignore[arg-type]
    assert result.eos
    assert result.steps == EOS_BAN_STEPS + 1
    assert len(result.tokens) == EOS_BAN_STEPS
    assert EOS not in result.tokens.tolist()
    assert result.trace.samples[-1] == EOS
    assert torch.isnan(result.trace.penalized_logits[:EOS_BAN_STEPS, EOS]).all()
    assert not torch.isnan(result.trace.penalized_logits[EOS_BAN_STEPS:]).any()


def test_argmax_eos_stops_even_when_sample_is_not_eos() -> None:
    def script(step: int) -> torch.Tensor:
        logits = torch.full((EOS + 1,), -20.0)
        logits[7], logits[EOS] = 1.0, 1.0 if step >= 15 else -9.0
        return logits

    # Token 7 is in the prompt, so its penalized logit (1 / 1.35) loses to EOS from step 15.
    for seed in range(40):
        request = dummy_request(params=SamplingParams(top_k=2), seed=seed)
        result = generate(ScriptedModel(script), [request], trace=True)[0]  # type: ignore[arg-type]
        if result.trace.samples[-1] != EOS:
            break
    else:
        pytest.fail("no seed sampled the non-EOS token")
    assert result.eos and result.steps == 16 and len(result.tokens) == 15


def test_token_cap_runs_one_extra_step_and_drops_it() -> None:
    model = ScriptedModel(eos_wins_from(10**9))
    result = generate(model, [dummy_request(params=GREEDY, max_new_tokens=5)], trace=True)[0]  # type: ignore[arg-type]
    assert not result.eos
    assert len(result.tokens) == 5 and result.steps == 6
    assert torch.equal(result.tokens, result.trace.samples[:5])


def test_eos_on_the_cap_step_counts_as_eos() -> None:
    model = ScriptedModel(eos_wins_from(12))
    result = generate(model, [dummy_request(params=GREEDY, max_new_tokens=12)])[0]  # type: ignore[arg-type]
    assert result.eos and len(result.tokens) == 12


def test_official_loop_bound_caps_at_1499_tokens() -> None:
    model = ScriptedModel(eos_wins_from(10**9))
    request = dummy_request(params=GREEDY, max_new_tokens=5000)
    result = generate(model, [request])[0]  # type: ignore[arg-type]
    assert len(result.tokens) == MAX_NEW_TOKENS == 1499
    assert result.steps == 1500


def test_a_prompt_extended_in_chunks_gives_the_prefill_logits(model: T2SModel) -> None:
    gen = torch.Generator().manual_seed(5)
    row = T2SPrefix(torch.randint(0, N_PHONES, (9,), generator=gen),
                    torch.randn(1024, 9, generator=gen) * 0.1,
                    torch.randint(0, EOS, (150,), generator=gen))
    with torch.inference_mode():
        full_cache, full_logits = model.prefill([row])
        cache, _ = model.prefill([T2SPrefix(row.phone_ids, row.bert, row.codes[:40])])
        for start in range(40, 150, 50):
            logits = model.extend(row.codes[start:start + 50], start, cache)
    torch.testing.assert_close(logits, full_logits, atol=1e-5, rtol=0)
    assert int(cache.lengths[0]) == int(full_cache.lengths[0]) == 159
    torch.testing.assert_close(cache.keys[:, :, :, :159], full_cache.keys[:, :, :, :159],
                               atol=1e-5, rtol=0)


class FixedBudget(PrefillPacer):
    """A pacer that allows the same number of prefill positions every step."""

    def __init__(self, positions: int) -> None:
        super().__init__()
        self.positions = positions

    def budget(self, decoding: int = 1, waiting: int = 1) -> int:
        return self.positions


def test_a_long_prompt_joins_running_requests_in_chunks(model: T2SModel) -> None:
    """While others decode, a long prompt is prefilled a chunk per step, then decodes exactly
    as it would alone; short prompts and lone requests are prefilled at once."""
    gen = torch.Generator().manual_seed(9)

    def request(codes: int) -> T2SRequest:
        return T2SRequest(phone_ids=torch.randint(0, N_PHONES, (12,), generator=gen),
                          bert=torch.randn(1024, 12, generator=gen) * 0.1,
                          prompt_codes=torch.randint(0, EOS, (codes,), generator=gen),
                          params=SamplingParams(top_k=1), max_new_tokens=30)

    running, long = request(20), request(200)
    alone = generate(model, [long])[0].tokens.tolist()
    batch = T2SBatch(model, pacer=FixedBudget(128))
    (first,) = batch.add([running])
    batch.step()
    (joined,) = batch.add([long])
    assert batch.active == [first, joined] and batch.tokens_of(joined) == []
    results: dict[int, list[int]] = {}
    results.update({i: r.tokens.tolist() for i, r in batch.step()})
    # 12 phones + 200 codes within 128 positions per step: 76 + 52 now, the rest next step
    assert joined not in batch.decoding and batch.tokens_of(joined) == []
    results.update({i: r.tokens.tolist() for i, r in batch.step()})
    assert joined in batch.decoding
    while not batch.done:
        results.update({i: r.tokens.tolist() for i, r in batch.step()})
    assert results[joined] == alone


def test_the_cache_outlives_its_rows_so_the_next_burst_does_not_regrow_it(
        model: T2SModel) -> None:
    gen = torch.Generator().manual_seed(4)

    def request() -> T2SRequest:
        return T2SRequest(phone_ids=torch.randint(0, N_PHONES, (8,), generator=gen),
                          bert=torch.randn(1024, 8, generator=gen) * 0.1,
                          prompt_codes=torch.randint(0, EOS, (10,), generator=gen),
                          params=SamplingParams(top_k=1), max_new_tokens=5)

    burst = [request() for _ in range(4)]
    alone = [generate(model, [r])[0].tokens.tolist() for r in burst]
    batch = T2SBatch(model)
    storages = []
    for _burst in range(2):  # the second burst comes into a batch that emptied
        ids = batch.add(burst)
        results: dict[int, list[int]] = {}
        while not batch.done:
            results.update({i: r.tokens.tolist() for i, r in batch.step()})
        assert [results[i] for i in ids] == alone
        assert batch._cache is not None
        storages.append(batch._cache.keys.data_ptr())
    assert storages[0] == storages[1]
