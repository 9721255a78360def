"""How many synthesis workers to start, on which device, with how many threads (plain logic)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server.synthesis.worker import WorkerConfig

#: CPU workers when the operator sets none and the engine does not batch requests.
DEFAULT_CPU_WORKERS = 2


def plan_workers(*, engine_name: str, uses_gpu: bool, gpu_count: int, cpu_workers: int | None,
                 watermark_key_file: Path, batches_requests: bool = False,
                 worker_threads: int | None = None, cpu_count: int | None = None,
                 engine_options: Mapping[str, Any] | None = None,
                 otlp_endpoint: str | None = None, log_level: str = "INFO",
                 log_format: str = "json") -> list[WorkerConfig]:
    """One worker per GPU for a GPU engine when GPUs exist, else ``cpu_workers`` CPU workers.

    ``cpu_workers`` unset: one worker for an engine that ``batches_requests`` (its batch
    serves every request, and one process with all the cores runs a single request as fast
    as the offline CLI does), else :data:`DEFAULT_CPU_WORKERS`. Each worker gets
    ``worker_threads`` torch threads, by default the ``cpu_count`` cores (this machine's
    usable ones) divided among the workers, at least one. Every worker gets the operator's
    ``engine_options``; a GPU worker also its ``device``. An operator who named one device
    (``"device": "cuda:1"``) gets one worker on it.
    """
    options = dict(engine_options or {})
    cores = cpu_count or _usable_cores()

    def plan(device_options: list[dict[str, Any]]) -> list[WorkerConfig]:
        threads = worker_threads or max(1, cores // len(device_options))
        return [WorkerConfig(engine_name=engine_name, watermark_key_file=watermark_key_file,
                             engine_options=engine_options, torch_threads=threads,
                             otlp_endpoint=otlp_endpoint, log_level=log_level,
                             log_format=log_format)
                for engine_options in device_options]

    if uses_gpu and gpu_count > 0:
        if str(options.get("device", "")).startswith("cuda:"):
            return plan([options])
        return plan([{**options, "device": f"cuda:{index}"} for index in range(gpu_count)])
    count = cpu_workers or (1 if batches_requests else DEFAULT_CPU_WORKERS)
    return plan([dict(options) for _ in range(count)])


def _usable_cores() -> int:
    """The cores this process may run on (its affinity, e.g. a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def visible_gpus() -> int:
    """CUDA devices visible to this process (0 without a GPU or a CUDA build of torch)."""
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
