"""How many synthesis workers to start, and on which device (plain logic)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server.synthesis.worker import WorkerConfig


def plan_workers(*, engine_name: str, uses_gpu: bool, gpu_count: int, cpu_workers: int,
                 watermark_key_file: Path,
                 engine_options: Mapping[str, Any] | None = None,
                 otlp_endpoint: str | None = None, log_level: str = "INFO",
                 log_format: str = "json") -> list[WorkerConfig]:
    """One worker per GPU for a GPU engine when GPUs exist, else ``cpu_workers`` CPU workers.

    Every worker gets the operator's ``engine_options``; a GPU worker also its ``device``.
    An operator who named one device (``"device": "cuda:1"``) gets one worker on it.
    """
    options = dict(engine_options or {})

    def worker(engine_options: dict[str, Any]) -> WorkerConfig:
        return WorkerConfig(engine_name=engine_name, watermark_key_file=watermark_key_file,
                            engine_options=engine_options, otlp_endpoint=otlp_endpoint,
                            log_level=log_level, log_format=log_format)

    if uses_gpu and gpu_count > 0:
        if str(options.get("device", "")).startswith("cuda:"):
            return [worker(options)]
        return [worker({**options, "device": f"cuda:{index}"}) for index in range(gpu_count)]
    return [worker(dict(options)) for _ in range(cpu_workers)]


def visible_gpus() -> int:
    """CUDA devices visible to this process (0 without a GPU or a CUDA build of torch)."""
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
