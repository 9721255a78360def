"""Worker planning: one per GPU for GPU engines, the configured CPU count otherwise."""

from __future__ import annotations

from pathlib import Path

from server.synthesis.planning import plan_workers


def test_gpu_engine_gets_one_worker_per_gpu() -> None:
    plan = plan_workers(engine_name="gpu", uses_gpu=True, gpu_count=3, cpu_workers=8,
                        watermark_key_file=Path("k"))
    assert [c.engine_options["device"] for c in plan] == ["cuda:0", "cuda:1", "cuda:2"]


def test_cpu_engine_or_no_gpu_uses_the_cpu_worker_count() -> None:
    for uses_gpu, gpus in ((False, 2), (True, 0)):
        plan = plan_workers(engine_name="embedded", uses_gpu=uses_gpu, gpu_count=gpus, cpu_workers=3,
                            watermark_key_file=Path("k"))
        assert len(plan) == 3 and all(not c.engine_options for c in plan)


def test_operator_engine_options_reach_every_worker() -> None:
    options = {"weights_path": "/models/gpt-sovits"}
    gpu = plan_workers(engine_name="gpu", uses_gpu=True, gpu_count=2, cpu_workers=1,
                       watermark_key_file=Path("k"), engine_options=options)
    assert [c.engine_options for c in gpu] == [{**options, "device": "cuda:0"}, {**options, "device": "cuda:1"}]
    cpu = plan_workers(engine_name="embedded", uses_gpu=False, gpu_count=0, cpu_workers=2,
                       watermark_key_file=Path("k"), engine_options=options)
    assert [c.engine_options for c in cpu] == [options, options]
    cpu[0].engine_options["extra"] = 1
    assert cpu[1].engine_options == options  # each worker has its own copy


def test_an_operator_named_gpu_gets_one_worker() -> None:
    plan = plan_workers(engine_name="gpt-sovits", uses_gpu=True, gpu_count=4, cpu_workers=2,
                        watermark_key_file=Path("k"), engine_options={"device": "cuda:2"})
    assert [c.engine_options["device"] for c in plan] == ["cuda:2"]


def test_unset_counts_give_a_batching_engine_one_worker_with_every_core() -> None:
    batching = plan_workers(engine_name="gpt-sovits", uses_gpu=False, gpu_count=0,
                            cpu_workers=None, batches_requests=True, cpu_count=8,
                            watermark_key_file=Path("k"))
    assert [c.torch_threads for c in batching] == [8]
    other = plan_workers(engine_name="embedded", uses_gpu=False, gpu_count=0, cpu_workers=None,
                         cpu_count=8, watermark_key_file=Path("k"))
    assert [c.torch_threads for c in other] == [4, 4]


def test_threads_are_shared_among_workers_and_an_operator_count_wins() -> None:
    shared = plan_workers(engine_name="embedded", uses_gpu=False, gpu_count=0, cpu_workers=3,
                          cpu_count=2, watermark_key_file=Path("k"))
    assert [c.torch_threads for c in shared] == [1, 1, 1]  # never below one
    gpus = plan_workers(engine_name="gpu", uses_gpu=True, gpu_count=2, cpu_workers=None,
                        cpu_count=16, watermark_key_file=Path("k"))
    assert [c.torch_threads for c in gpus] == [8, 8]
    fixed = plan_workers(engine_name="gpt-sovits", uses_gpu=False, gpu_count=0, cpu_workers=2,
                         batches_requests=True, worker_threads=3, cpu_count=2,
                         watermark_key_file=Path("k"))
    assert [c.torch_threads for c in fixed] == [3, 3]
