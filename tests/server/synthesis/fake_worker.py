"""An in-process stand-in for a worker process, behind the service's transport seam.

``FakeWorker`` answers each message with what its ``script`` returns, from a thread (as
the real reader thread does), so :class:`SynthesisService`'s own rules can be tested
without spawning processes or loading engines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from server.synthesis.pool import ExitCallback, MessageCallback
from server.synthesis.records import ErrorRecord, FromWorker, ToWorker, WorkerFailed, WorkerReady
from server.synthesis.worker import WorkerConfig

Script = Callable[[ToWorker], Sequence[FromWorker]]


def silent(message: ToWorker) -> Sequence[FromWorker]:
    """A worker that answers nothing."""
    return ()


@dataclass
class FakeWorker:
    """One fake worker: records what it was sent and replies as scripted."""

    worker_id: int
    on_message: MessageCallback
    on_exit: ExitCallback
    script: Script
    slots: int = 1
    #: What the worker reports once started: ready, or the error that stops its engine.
    start_error: ErrorRecord | None = None
    received: list[ToWorker] = field(default_factory=list)
    alive: bool = True

    def __post_init__(self) -> None:
        if self.start_error is None:
            self._reply([WorkerReady(engine="fake", engine_version="1.0", slots=self.slots)])
        else:  # like a real worker: the message, then the exit, in that order
            self.alive = False
            failed = WorkerFailed(self.start_error)

            def fail() -> None:
                self.on_message(self.worker_id, failed)
                self.on_exit(self.worker_id)

            threading.Thread(target=fail).start()

    @property
    def pid(self) -> int | None:
        return None

    def send(self, message: ToWorker) -> bool:
        if not self.alive:
            return False
        self.received.append(message)
        self._reply(list(self.script(message)))
        return True

    def stop(self, timeout: float = 5.0) -> None:
        self.alive = False

    def kill(self) -> None:
        if self.alive:
            self.alive = False
            threading.Thread(target=self.on_exit, args=(self.worker_id,)).start()

    def _reply(self, messages: list[FromWorker]) -> None:
        def deliver() -> None:
            for message in messages:
                self.on_message(self.worker_id, message)

        threading.Thread(target=deliver).start()


class FakeFleet:
    """A :data:`~server.synthesis.pool.WorkerLauncher` that starts :class:`FakeWorker`\\ s."""

    def __init__(self, script: Script = silent, slots: int = 1,
                 start_error: ErrorRecord | None = None) -> None:
        self.script = script
        self.slots = slots
        self.start_error = start_error
        self.workers: list[FakeWorker] = []

    def __call__(self, worker_id: int, config: WorkerConfig, on_message: MessageCallback,
                 on_exit: ExitCallback) -> FakeWorker:
        worker = FakeWorker(worker_id, on_message, on_exit, self.script, self.slots,
                            self.start_error)
        self.workers.append(worker)
        return worker
