"""What one fine-tuning run is asked to do, checked once, shared by both stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from server.errors import InvalidArgument

STAGES = ("s1", "s2")
#: The official web UI's default number of epochs per stage (v2, v2Pro, v2ProPlus).
DEFAULT_EPOCHS = {"s1": 15, "s2": 8}
#: The official web UI's upper limits.
MAX_EPOCHS = {"s1": 50, "s2": 25}
MAX_BATCH_SIZE = 64
MATMUL_PRECISIONS = ("highest", "high", "medium")
#: What ``s1_train.py`` and ``s2_train.py`` set.
OFFICIAL_MATMUL_PRECISION = {"s1": "high", "s2": "medium"}
#: The seed of the official configs (``train.seed`` of s1longer-v2.yaml and s2.json).
OFFICIAL_SEED = 1234


@dataclass(frozen=True)
class FinetuneOptions:
    """One stage's run. ``steps`` ends the run after that many batches (the official loop
    knows only epochs); otherwise ``epochs`` (default: the official one) are run."""

    stage: str
    batch_size: int
    out_dir: Path
    epochs: int | None = None
    steps: int | None = None
    deterministic: bool = False
    seed: int = OFFICIAL_SEED
    trace_dir: Path | None = None
    device: str = "cpu"
    #: s1 only: mask padded phones on the right (the official mask hides a shorter text's
    #: first phones instead; see ``t2s_train``). Off by default so results match the official.
    fix_phone_mask: bool = False
    #: torch's float32 matmul precision during the run. None: the official trainers' setting
    #: ("medium" for s2, which runs fp32 products in bf16 on CPUs with bf16 units; "high" for
    #: s1), except in deterministic runs, which use "highest" as the reference harness does.
    matmul_precision: str | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise InvalidArgument(f"stage {self.stage!r} is unknown; use s1 (GPT) or s2 (SoVITS)")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise InvalidArgument(f"batch size must lie in 1-{MAX_BATCH_SIZE}")
        if self.epochs is not None and self.steps is not None:
            raise InvalidArgument("give --steps or --epochs, not both")
        if self.epochs is not None and not 1 <= self.epochs <= MAX_EPOCHS[self.stage]:
            raise InvalidArgument(
                f"{self.stage} epochs must lie in 1-{MAX_EPOCHS[self.stage]} (official limit)")
        if self.steps is not None and self.steps < 1:
            raise InvalidArgument("--steps must be at least 1")
        if self.matmul_precision not in (None, *MATMUL_PRECISIONS):
            raise InvalidArgument(f"matmul precision must be one of {', '.join(MATMUL_PRECISIONS)}")

    @property
    def effective_matmul_precision(self) -> str:
        """The precision the run sets (see ``matmul_precision``)."""
        if self.matmul_precision is not None:
            return self.matmul_precision
        if self.deterministic:
            return "highest"
        return OFFICIAL_MATMUL_PRECISION[self.stage]

    def planned_epochs(self, batches_per_epoch: int) -> int:
        """Epochs the run lasts: the requested ones, or those that ``steps`` batches touch."""
        if self.steps is not None:
            return -(-self.steps // batches_per_epoch)
        return self.epochs if self.epochs is not None else DEFAULT_EPOCHS[self.stage]

    def planned_steps(self, batches_per_epoch: int) -> int:
        """Batches the run lasts."""
        if self.steps is not None:
            return self.steps
        return self.planned_epochs(batches_per_epoch) * batches_per_epoch
