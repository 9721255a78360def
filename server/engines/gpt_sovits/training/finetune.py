"""One fine-tuning stage from a model folder and an experiment folder (the CLI's entry point).

Checks what can be checked before any training: the training files, the experiment folder's
files for the stage, the output folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from server.engines.gpt_sovits.training import experiment as ex
from server.engines.gpt_sovits.training.files import resolve_training_files
from server.engines.gpt_sovits.training.options import MAX_BATCH_SIZE, FinetuneOptions
from server.engines.gpt_sovits.training.progress import FinetuneResult, RunMonitor
from server.errors import InvalidArgument


def default_batch_size(device: str) -> int:
    """The official web UI default: memory in GiB / 4 on a CPU (GPU memory / 2 on a GPU),
    halved for fp32 training."""
    if device.startswith("cuda"):
        import torch

        gib = torch.cuda.get_device_properties(device).total_memory / 2**30
        size = int(gib // 2)
    else:
        size = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 / 4)
    return min(MAX_BATCH_SIZE, max(1, max(1, size) // 2))


def finetune(models_dir: Path, exp_dir: Path, options: FinetuneOptions, *,
             variant: str | None = None, monitor: RunMonitor | None = None) -> FinetuneResult:
    """Run ``options.stage`` and export its result into ``options.out_dir``."""
    s2 = options.stage == "s2"
    files = resolve_training_files(models_dir, variant, need_generator=s2, need_discriminator=s2)
    exp_dir = Path(exp_dir)
    needed = [ex.NAME2TEXT, ex.SEMANTIC_FILE]
    if options.stage == "s2":
        needed += [ex.HUBERT_DIR, ex.WAV32K_DIR] + ([ex.SV_DIR] if files.models.sv else [])
    missing = [name for name in needed if not (exp_dir / name).exists()]
    if missing:
        raise InvalidArgument(
            f"experiment folder {exp_dir} lacks {', '.join(missing)}; run `voxguard gpt-sovits "
            f"prepare-dataset` for it with the {files.variant} models")
    usable = len(ex.read_semantic(exp_dir))
    if usable < options.batch_size:
        raise InvalidArgument(
            f"the experiment has {usable} utterance(s), fewer than the batch size "
            f"{options.batch_size}; use --batch-size {usable} or less, or record more speech")
    import torch

    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(options.effective_matmul_precision)
    try:
        if options.stage == "s1":
            from server.engines.gpt_sovits.training.s1 import train_s1

            return train_s1(files, exp_dir, options, monitor)
        from server.engines.gpt_sovits.training.s2 import train_s2

        return train_s2(files, exp_dir, options, monitor)
    finally:
        torch.set_float32_matmul_precision(previous)
