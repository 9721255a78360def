"""Which workers to kill: those that ignore a stop order or stop making progress (plain logic).

A worker checks for cancellation and voice eviction between chunks; an engine stuck
inside one chunk would hold its worker, and the voice's data, forever. The service
feeds this record every assignment, piece, stop order and ending, and kills the worker
of each job it reports as overdue (the pool then replaces the worker).
"""

from __future__ import annotations

import enum
from collections.abc import Callable


class Overdue(enum.Enum):
    """Why a job's worker must be killed."""

    IGNORED_STOP = "ignored_stop"
    STALLED = "stalled"


class Watchdog:
    """Tracks running jobs' last progress and pending stop orders against two time limits."""

    def __init__(self, *, stop_grace: float, stall_timeout: float, clock: Callable[[], float]) -> None:
        if stop_grace <= 0 or stall_timeout <= 0:
            raise ValueError("watchdog limits must be positive")
        self._stop_grace = stop_grace
        self._stall_timeout = stall_timeout
        self._clock = clock
        self._progress: dict[str, float] = {}
        self._stop_orders: dict[str, float] = {}

    def started(self, job_id: str) -> None:
        """A worker took the job."""
        self._progress[job_id] = self._clock()

    def progressed(self, job_id: str) -> None:
        """The job delivered a piece."""
        if job_id in self._progress:
            self._progress[job_id] = self._clock()

    def stop_requested(self, job_id: str) -> None:
        """The worker was told to stop the job (cancelled, or its voice deleted)."""
        if job_id in self._progress:
            self._stop_orders.setdefault(job_id, self._clock())

    def ended(self, job_id: str) -> None:
        """The job finished, failed or was stopped."""
        self._progress.pop(job_id, None)
        self._stop_orders.pop(job_id, None)

    def overdue(self) -> list[tuple[str, Overdue]]:
        """Jobs whose worker must be killed now; each is reported once and forgotten."""
        now = self._clock()
        found = [(job_id, Overdue.IGNORED_STOP) for job_id, since in self._stop_orders.items()
                 if now - since > self._stop_grace]
        found += [(job_id, Overdue.STALLED) for job_id, last in self._progress.items()
                  if now - last > self._stall_timeout and job_id not in self._stop_orders]
        for job_id, _ in found:
            self.ended(job_id)
        return found
