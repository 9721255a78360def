"""Admission of requests into a running T2S batch: who is prefilled when, within a budget.

Plain bookkeeping, no tensors run here, so the policy is testable on its own. Requests that
join a batch that is already decoding wait in :class:`AdmissionQueue`, oldest first. Each
step, :meth:`AdmissionQueue.plan` hands out prefill work worth at most a budget of positions:
a request's phones with its first chunk of prompt codes, then its next chunks of codes,
until its whole prompt is cached and it joins the decoding rows. With nothing decoding there
is nobody to stall, and the plan has no budget.

The budget comes from :class:`PrefillPacer`, in time rather than positions: a step may spend
on prefill about ``share`` times what its decode takes. What that is in positions differs by
an order of magnitude between a GPU (prefill nearly free next to a step) and a CPU (a
position costs about what one decoding row does), so the pacer measures both and converts.
With the default share of 1, requests that join at most about double the time between two
steps of the running requests, on any device, as long as no more wait than run; when more
wait, the share grows with their number (see :meth:`PrefillPacer.budget`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

#: At most this many prompt codes per prefill chunk.
PREFILL_CHUNK = 64
#: The budget, in positions per step, before the pacer has measured anything, and its bounds.
PREFILL_BUDGET = 128
MIN_PREFILL_BUDGET = 8
MAX_PREFILL_BUDGET = 1024

#: What a back end caches for a request part-way through its prefill (a one-row KV cache).
CacheT = TypeVar("CacheT")


@dataclass
class Waiting(Generic[CacheT]):
    """A request waiting to join: its prompt size and how far its prefill got."""

    request_id: int
    n_phones: int
    n_codes: int
    #: The request's own cache once its first chunk ran (None before).
    cache: CacheT | None = None
    #: Prompt codes already in ``cache``.
    prefilled: int = 0


@dataclass(frozen=True)
class PrefillChunk(Generic[CacheT]):
    """One unit of prefill work: codes ``[start, stop)`` of ``waiting``'s prompt.

    The first chunk (``start == 0``) carries the phones too and creates the request's cache;
    later ones append to it. ``completes`` says the request can join after this chunk.
    """

    waiting: Waiting[CacheT] = field(repr=False)
    start: int
    stop: int

    @property
    def first(self) -> bool:
        return self.start == 0

    @property
    def completes(self) -> bool:
        return self.stop >= self.waiting.n_codes

    @property
    def positions(self) -> int:
        """The positions this chunk runs (its budget cost)."""
        return (self.waiting.n_phones if self.first else 0) + self.stop - self.start


class AdmissionQueue(Generic[CacheT]):
    """Requests waiting to join a running batch, and each step's budgeted prefill plan."""

    def __init__(self, *, chunk: int = PREFILL_CHUNK) -> None:
        if chunk < 1:
            raise ValueError("the prefill chunk must be at least one position")
        self.chunk = chunk
        self._waiting: list[Waiting[CacheT]] = []

    def __len__(self) -> int:
        return len(self._waiting)

    def __iter__(self) -> Iterator[Waiting[CacheT]]:
        return iter(list(self._waiting))

    def push(self, request_id: int, n_phones: int, n_codes: int) -> None:
        """Queue a request behind those already waiting."""
        self._waiting.append(Waiting(request_id, n_phones, n_codes))

    def remove(self, request_ids: Iterable[int]) -> None:
        """Forget waiting requests (cancelled); their partial caches go with them."""
        gone = set(request_ids)
        self._waiting = [w for w in self._waiting if w.request_id not in gone]

    def plan(self, budget: int | None = None) -> list[PrefillChunk[CacheT]]:
        """This step's prefill work, oldest request first, in the order it must run.

        With a ``budget`` (requests are decoding), chunks are sized to fit the positions
        left and handed out until it is spent; a first chunk always carries all of its
        request's phones and at least one code, so it may exceed what was left. Without one,
        everything waiting is planned in chunks of at most :attr:`chunk` codes.
        """
        work: list[PrefillChunk[CacheT]] = []
        left = budget
        for waiting in self._waiting:
            start = waiting.prefilled
            while start < waiting.n_codes or (start == 0 and waiting.cache is None):
                if left is not None and left <= 0:
                    return work
                size = self.chunk
                if left is not None:
                    size = min(size, max(1, left - (waiting.n_phones if start == 0 else 0)))
                piece = PrefillChunk(waiting, start, min(start + size, waiting.n_codes))
                work.append(piece)
                if left is not None:
                    left -= piece.positions
                start = piece.stop
                if piece.completes:
                    break
        return work

    def ran(self, piece: PrefillChunk[CacheT], cache: CacheT) -> Waiting[CacheT] | None:
        """Record that ``piece`` ran into ``cache``; the request when it is ready to join."""
        waiting = piece.waiting
        waiting.cache, waiting.prefilled = cache, piece.stop
        if not piece.completes:
            return None
        self._waiting.remove(waiting)
        return waiting


class PrefillPacer:
    """How many prefill positions a step may run: ``share`` times its decode time, converted.

    Fed with what the steps and the prefill chunks took (:meth:`stepped`, :meth:`prefilled`),
    it keeps a moving average of each and answers :meth:`budget` in positions, within
    :data:`MIN_PREFILL_BUDGET` and :data:`MAX_PREFILL_BUDGET`; :data:`PREFILL_BUDGET` until
    both were measured. Timings of a device that runs asynchronously are only as true as the
    points where it synchronises (the sampler reads the tokens back every step).
    """

    def __init__(self, share: float = 1.0, *, smoothing: float = 0.3) -> None:
        if share <= 0:
            raise ValueError("the prefill share must be positive")
        self.share = share
        self._smoothing = smoothing
        self._step_seconds: float | None = None
        self._position_seconds: float | None = None

    def stepped(self, seconds: float) -> None:
        """A decode step of the running rows took ``seconds``."""
        self._step_seconds = self._average(self._step_seconds, seconds)

    def prefilled(self, positions: int, seconds: float) -> None:
        """A prefill chunk of ``positions`` took ``seconds``."""
        if positions > 0:
            self._position_seconds = self._average(self._position_seconds, seconds / positions)

    def budget(self, decoding: int = 1, waiting: int = 1) -> int:
        """Prefill positions for the next step while ``decoding`` rows run and ``waiting`` wait.

        When more requests wait than decode, the share grows in proportion (times
        ``waiting / decoding``): each request, running or waiting, gets about the same slice
        of the worker's time, so a burst into a small batch is admitted quickly rather than
        trickling in behind the few rows that happen to run.
        """
        if self._step_seconds is None or not self._position_seconds:
            return PREFILL_BUDGET
        share = self.share * max(1.0, waiting / max(decoding, 1))
        positions = int(share * self._step_seconds / self._position_seconds)
        return max(MIN_PREFILL_BUDGET, min(MAX_PREFILL_BUDGET, positions))

    def _average(self, current: float | None, sample: float) -> float:
        if current is None:
            return sample
        return current + self._smoothing * (sample - current)
