"""How a training run reports progress and is asked to stop (a CLI prints it; a platform
job turns it into operation metadata and cancels through ``stop``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from server.errors import Cancelled


@dataclass(frozen=True)
class StepReport:
    """One finished batch."""

    stage: str
    epoch: int
    step: int  # 1-based, over the whole run
    total_steps: int
    losses: dict[str, float]
    seconds: float  # wall time of this batch


@dataclass
class RunMonitor:
    """Callbacks of a run: ``on_step`` after every batch; ``stop`` ends the run early."""

    on_step: Callable[[StepReport], None] | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def report(self, report: StepReport) -> None:
        if self.on_step is not None:
            self.on_step(report)

    def check(self) -> None:
        """Raise :class:`Cancelled` once ``stop`` is set (checked between batches)."""
        if self.stop.is_set():
            raise Cancelled("the training run was stopped")


@dataclass(frozen=True)
class FinetuneResult:
    """What a finished stage produced."""

    stage: str
    variant: str
    exported: list[Path]
    steps_run: int
    epochs_run: int
    batch_size: int  # the effective one
    dataset_items: int  # after the official filters and repetition
    dropped: dict[str, str]  # name -> why the official filters dropped it
    seconds: float
