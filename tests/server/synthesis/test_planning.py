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
