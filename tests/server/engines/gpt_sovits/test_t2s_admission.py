"""The admission queue's prefill plan and the pacer's budget (no model runs)."""

from __future__ import annotations

import pytest

from server.engines.gpt_sovits.t2s_admission import (
    MAX_PREFILL_BUDGET,
    MIN_PREFILL_BUDGET,
    PREFILL_BUDGET,
    AdmissionQueue,
    PrefillChunk,
    PrefillPacer,
)


def _spans(plan: list[PrefillChunk[str]]) -> list[tuple[int, int, int]]:
    return [(piece.waiting.request_id, piece.start, piece.stop) for piece in plan]


def _run(queue: AdmissionQueue[str], plan: list[PrefillChunk[str]]) -> list[int]:
    """Pretend each chunk ran; the ids that became ready to join, in order."""
    ready = []
    for piece in plan:
        joined = queue.ran(piece, f"cache-{piece.waiting.request_id}")
        if joined is not None:
            ready.append(joined.request_id)
    return ready


def test_chunks_are_sized_to_the_budget_left_oldest_request_first() -> None:
    queue: AdmissionQueue[str] = AdmissionQueue(chunk=64)
    queue.push(1, n_phones=40, n_codes=200)
    queue.push(2, n_phones=30, n_codes=50)
    # 40 phones + 64 codes = 104 positions; the 24 left make the next chunk.
    first = queue.plan(128)
    assert _spans(first) == [(1, 0, 64), (1, 64, 88)]
    assert sum(piece.positions for piece in first) == 128
    assert _run(queue, first) == []
    # 64 + 48 = 112: request 1 joins; request 2's first chunk needs its 30 phones and at
    # least one code, so it runs over the 16 positions left rather than starve.
    second = queue.plan(128)
    assert _spans(second) == [(1, 88, 152), (1, 152, 200), (2, 0, 1)]
    assert _run(queue, second) == [1]
    assert _spans(queue.plan(128)) == [(2, 1, 50)]


def test_without_a_budget_everything_waiting_is_planned_in_whole_chunks() -> None:
    queue: AdmissionQueue[str] = AdmissionQueue(chunk=64)
    queue.push(1, n_phones=40, n_codes=130)
    queue.push(2, n_phones=30, n_codes=0)
    plan = queue.plan(None)
    assert _spans(plan) == [(1, 0, 64), (1, 64, 128), (1, 128, 130), (2, 0, 0)]
    assert _run(queue, plan) == [1, 2]
    assert len(queue) == 0 and queue.plan(None) == []


def test_a_partial_prefill_resumes_where_it_stopped_and_keeps_its_cache() -> None:
    queue: AdmissionQueue[str] = AdmissionQueue(chunk=16)
    queue.push(7, n_phones=10, n_codes=40)
    _run(queue, queue.plan(20))
    waiting = next(iter(queue))
    assert waiting.cache == "cache-7" and waiting.prefilled == 10
    assert _spans(queue.plan(20)) == [(7, 10, 26), (7, 26, 30)]


def test_removed_requests_are_never_planned() -> None:
    queue: AdmissionQueue[str] = AdmissionQueue()
    for request_id in (1, 2, 3):
        queue.push(request_id, n_phones=5, n_codes=5)
    queue.remove([2])
    assert [piece.waiting.request_id for piece in queue.plan(None)] == [1, 3]


def test_a_chunk_below_one_position_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one position"):
        AdmissionQueue(chunk=0)


def test_the_pacer_converts_a_share_of_the_step_time_into_positions() -> None:
    pacer = PrefillPacer(share=1.0, smoothing=1.0)
    assert pacer.budget() == PREFILL_BUDGET  # nothing measured yet
    pacer.stepped(0.080)  # a CPU: a step of the running rows takes 80 ms ...
    pacer.prefilled(100, 0.300)  # ... and a prefill position 3 ms
    assert pacer.budget() == 26
    pacer.prefilled(100, 0.004)  # a GPU: positions nearly free next to a step
    assert pacer.budget() == MAX_PREFILL_BUDGET
    pacer.prefilled(10, 1.0)
    assert pacer.budget() == MIN_PREFILL_BUDGET
    half = PrefillPacer(share=0.5, smoothing=1.0)
    half.stepped(0.080)
    half.prefilled(100, 0.300)
    assert half.budget() == 13


def test_the_pacer_averages_what_it_measures() -> None:
    pacer = PrefillPacer(share=1.0, smoothing=0.5)
    pacer.prefilled(10, 0.010)
    pacer.stepped(0.100)
    pacer.stepped(0.300)  # one slow step moves the average half way: 0.2 s
    assert pacer.budget() == 200
    with pytest.raises(ValueError, match="positive"):
        PrefillPacer(share=0)
