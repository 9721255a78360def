"""How a worker runs many synthesis requests at once: the :class:`BatchRunner` interface.

A worker process owns one runner. It :meth:`~BatchRunner.add`\\ s requests as they arrive
(validation errors are raised there, for that request only), calls
:meth:`~BatchRunner.step` while any is active, and :meth:`~BatchRunner.remove`\\ s one
when it is cancelled, misses its deadline or its voice is revoked. Each step returns
:class:`RunnerEvent`\\ s: audio for a request (in order), its end, or its failure.

Engines that batch natively (``gpt-sovits``: one T2S forward for every request) are
:class:`BatchingEngine`\\ s and make their own runner; every other engine gets
:class:`IteratorRunner`, which advances each request's chunk iterator by one chunk per
step, so one worker loop serves all engines (:func:`runner_for`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from server.engines.base import AudioChunk, SynthesisEngine, VoiceModel
from server.engines.request import SynthesisRequest
from server.errors import VoxguardError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerEvent:
    """Something that happened to one request during a step.

    Exactly one of: ``chunk`` (its next audio, in order), ``render`` (its next audio, still to
    be computed: the worker's output stage calls it off the stepping thread, in order),
    ``done`` (no more audio will come) or ``error`` (it failed; a domain error's message is
    safe to show the caller, any other exception is reported as an internal failure).
    """

    key: str
    chunk: AudioChunk | None = None
    render: Callable[[], AudioChunk] | None = None
    done: bool = False
    error: BaseException | None = None


class BatchRunner(ABC):
    """Requests advanced together, one step at a time (see the module docstring)."""

    #: Most requests this runner advances at once (the worker's slots).
    capacity: int = 1

    @property
    @abstractmethod
    def active(self) -> int:
        """Requests added and not yet done, failed or removed."""

    @property
    def steppable(self) -> bool:
        """True when a :meth:`step` would advance something now (some runners pause a request
        while its audio is rendered elsewhere)."""
        return self.active > 0

    @abstractmethod
    def prepare(self, voice_model: VoiceModel, request: SynthesisRequest) -> Any:
        """Do a request's own work before it joins the batch (front end, voice preparation).

        Called on the worker's input thread, beside :meth:`step`: it must not touch the
        batch. Raises a domain error (for this request alone) if the voice model or the text
        cannot be used.
        """

    @abstractmethod
    def admit(self, key: str, prepared: Any) -> None:
        """Let a prepared request join the batch (cheap; called between steps)."""

    def add(self, key: str, voice_model: VoiceModel, request: SynthesisRequest) -> None:
        """:meth:`prepare` and :meth:`admit` in one call (tests, single-threaded callers)."""
        self.admit(key, self.prepare(voice_model, request))

    @abstractmethod
    def remove(self, key: str) -> None:
        """Stop a request now; no further event is reported for it."""

    @abstractmethod
    def step(self) -> Iterable[RunnerEvent]:
        """Advance every active request by one unit of work.

        Events may be yielded as they happen (the worker streams each at once); the caller
        consumes them all before it calls ``add``, ``remove`` or ``step`` again.
        """


class IteratorRunner(BatchRunner):
    """Runner for engines without native batching: one chunk of each request per step."""

    def __init__(self, engine: SynthesisEngine, capacity: int = 1) -> None:
        self.engine = engine
        self.capacity = capacity
        self._streams: dict[str, Iterator[AudioChunk]] = {}

    @property
    def active(self) -> int:
        return len(self._streams)

    def prepare(self, voice_model: VoiceModel, request: SynthesisRequest) -> Iterator[AudioChunk]:
        return iter(self.engine.stream(voice_model, request))

    def admit(self, key: str, prepared: Iterator[AudioChunk]) -> None:
        self._streams[key] = prepared

    def remove(self, key: str) -> None:
        stream = self._streams.pop(key, None)
        close = getattr(stream, "close", None)
        if close is not None:
            close()

    def step(self) -> list[RunnerEvent]:
        events: list[RunnerEvent] = []
        for key, stream in list(self._streams.items()):
            try:
                events.append(RunnerEvent(key, chunk=next(stream)))
            except StopIteration:
                del self._streams[key]
                events.append(RunnerEvent(key, done=True))
            except VoxguardError as exc:
                del self._streams[key]
                events.append(RunnerEvent(key, error=exc))
            except Exception as exc:
                log.exception("synthesis of %s failed", key)
                del self._streams[key]
                events.append(RunnerEvent(key, error=exc))
        return events


class BatchingEngine(SynthesisEngine):
    """An engine that advances many requests in one batched step (its own runner)."""

    @abstractmethod
    def batch_runner(self) -> BatchRunner:
        """A new runner for one worker, holding up to its capacity of requests."""


def runner_for(engine: SynthesisEngine) -> BatchRunner:
    """What a worker runs ``engine``'s requests with."""
    if isinstance(engine, BatchingEngine):
        return engine.batch_runner()
    return IteratorRunner(engine)
