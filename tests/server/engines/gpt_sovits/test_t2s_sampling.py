"""Per-row T2S sampling rules: EOS ban, repetition penalty, filters, temperature, RNG streams."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from server.engines.gpt_sovits.t2s_sampling import (
    EOS_BAN_STEPS,
    SamplingParams,
    apply_repetition_penalty,
    make_generator,
    sample_next,
    token_probabilities,
)
from server.errors import InvalidArgument

VOCAB = 1025
EOS = VOCAB - 1


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny ops run far faster on one intra-op thread than on several contending ones."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def history_of(*token_lists: list[int]) -> torch.Tensor:
    seen = torch.zeros(len(token_lists), VOCAB, dtype=torch.bool)
    for row, tokens in enumerate(token_lists):
        seen[row, tokens] = True
    return seen


def random_logits(rows: int, seed: int) -> torch.Tensor:
    return torch.randn(rows, VOCAB, generator=torch.Generator().manual_seed(seed)) * 2


def test_eos_column_is_dropped_during_the_ban() -> None:
    logits = random_logits(2, 0)
    logits[:, EOS] = 100.0
    params = [SamplingParams(top_k=1)] * 2
    gens = [make_generator(1), make_generator(2)]
    out = sample_next(logits, history_of([], []), [EOS_BAN_STEPS - 1, EOS_BAN_STEPS], params, gens)
    assert int(out.tokens[0]) != EOS and int(out.greedy[0]) != EOS
    assert int(out.tokens[1]) == EOS and int(out.greedy[1]) == EOS
    assert torch.isnan(out.penalized[0, EOS]) and not torch.isnan(out.penalized[1]).any()
    assert int(out.tokens[0]) == int(torch.argmax(logits[0, :EOS]))


def test_noise_draws_match_the_number_of_columns() -> None:
    """1024 exponential draws while EOS is banned, 1025 after: the official RNG consumption."""
    logits = random_logits(2, 1)
    gens = [make_generator(5), make_generator(5)]
    sample_next(logits, history_of([], []), [0, EOS_BAN_STEPS], [SamplingParams()] * 2, gens)
    for generator, width in zip(gens, (VOCAB - 1, VOCAB), strict=True):
        reference = make_generator(5)
        torch.empty(width).exponential_(1, generator=reference)
        assert torch.equal(generator.get_state(), reference.get_state())


def test_generator_matches_torch_global_seed() -> None:
    """``make_generator(seed)`` gives the stream the official ``set_seed`` starts torch with."""
    state = torch.get_rng_state()
    try:
        torch.manual_seed(1234)
        official = torch.empty(1, 1024).exponential_(1)
    finally:
        torch.set_rng_state(state)
    ours = torch.empty(1024).exponential_(1, generator=make_generator(1234))
    assert torch.equal(official[0], ours)


def test_repetition_penalty_once_per_distinct_token() -> None:
    logits = torch.tensor([[2.0, -2.0, 0.0, 3.0, -1.0]])
    history = torch.tensor([[True, True, True, False, False]])
    out = apply_repetition_penalty(logits, history, [2.0])
    assert torch.equal(out, torch.tensor([[1.0, -4.0, 0.0, 3.0, -1.0]]))


def test_penalty_uses_prompt_history_and_feeds_the_stop_test() -> None:
    logits = torch.full((1, VOCAB), -1.0)
    logits[0, 7], logits[0, EOS] = 3.0, 2.5
    out = sample_next(
        logits,
        history_of([7, 7, 7]),
        [EOS_BAN_STEPS],
        [SamplingParams(top_k=1)],
        [make_generator(0)],
    )
    assert out.penalized[0, 7] == pytest.approx(3.0 / 1.35)  # penalized once, not three times
    assert out.penalized[0, 0] == pytest.approx(-1.0)
    assert int(out.greedy[0]) == EOS and int(out.tokens[0]) == EOS
    assert logits[0, 7] == 3.0  # the caller's logits are not modified


def test_top_k_keeps_ties_with_the_kth_value() -> None:
    logits = torch.tensor([[5.0, 4.0, 3.0, 3.0, 1.0]])
    probs = token_probabilities(logits, [SamplingParams(top_k=3)])
    assert (probs[0, :4] > 0).all() and probs[0, 4] == 0
    one = token_probabilities(logits, [SamplingParams(top_k=1)])
    assert torch.equal(one, torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0]]))
    wide = token_probabilities(logits, [SamplingParams(top_k=50)])
    torch.testing.assert_close(wide, torch.softmax(logits, -1))


def test_top_p_keeps_tokens_while_cumulative_mass_is_within_p() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = {
        top_p: (token_probabilities(logits, [SamplingParams(top_k=50, top_p=top_p)]) > 0).sum()
        for top_p in (0.4, 0.85, 0.97, 1.0)
    }
    assert {p: int(n) for p, n in kept.items()} == {0.4: 1, 0.85: 2, 0.97: 3, 1.0: 4}


def test_temperature_scales_logits_after_top_p_and_before_top_k() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    probs = token_probabilities(logits, [SamplingParams(top_k=3, temperature=0.5)])
    expected = torch.softmax(torch.tensor([4.0, 2.0, 0.0]), -1)
    torch.testing.assert_close(probs[0, :3], expected)
    assert probs[0, 3] == 0
    cold = token_probabilities(logits, [SamplingParams(top_k=4, temperature=0.0)])
    torch.testing.assert_close(cold, torch.tensor([[1.0, 0.0, 0.0, 0.0]]))


def test_rows_use_their_own_parameters() -> None:
    logits = random_logits(2, 3)
    params = [SamplingParams(top_k=1), SamplingParams(top_k=4, top_p=0.5, temperature=2.0)]
    probs = token_probabilities(logits, params)
    for row, p in enumerate(params):
        torch.testing.assert_close(probs[row], token_probabilities(logits[row : row + 1], [p])[0])


def test_rows_are_independent_of_batch_composition() -> None:
    logits = random_logits(3, 4)
    history = history_of([1, 2, 3], [4], [])
    steps = [2, 30, 11]
    params = [SamplingParams(top_k=20), SamplingParams(top_k=5, temperature=1.5), SamplingParams()]
    together = sample_next(logits, history, steps, params, [make_generator(s) for s in (1, 2, 3)])
    for row in range(3):
        alone = sample_next(
            logits[row : row + 1],
            history[row : row + 1],
            [steps[row]],
            [params[row]],
            [make_generator(row + 1)],
        )
        assert int(alone.tokens[0]) == int(together.tokens[row])
        torch.testing.assert_close(alone.penalized[0], together.penalized[row], equal_nan=True)


def test_same_seed_same_tokens_different_seed_differs() -> None:
    logits = torch.zeros(1, VOCAB)  # uniform: the token is decided by the noise alone

    def draw(seed: int) -> list[int]:
        gen = make_generator(seed)
        params = [SamplingParams(top_k=VOCAB, repetition_penalty=1.0)]
        history = history_of([])
        return [int(sample_next(logits, history, [20], params, [gen]).tokens[0]) for _ in range(8)]

    assert draw(42) == draw(42)
    assert draw(42) != draw(43)


@pytest.mark.parametrize(
    "kwargs",
    [{"top_k": 0}, {"top_p": 0.0}, {"temperature": -1.0}, {"repetition_penalty": 0.0}],
)
def test_invalid_parameters_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidArgument):
        SamplingParams(**kwargs)  # type: ignore[arg-type]


def test_seed_range_is_checked() -> None:
    with pytest.raises(InvalidArgument):
        make_generator(-1)
