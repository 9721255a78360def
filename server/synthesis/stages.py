"""The input and output stages of a worker, each on its own thread beside the batch loop.

The loop (:mod:`server.synthesis.worker`) only admits prepared requests and steps the
runner. What is slow and concerns one request at a time runs beside it, so co-batched
requests never wait for it:

- :class:`InputStage`: parsing the voice model and the engine's request preparation (text
  front end, voice preparation) and enrollment work, one job at a time, in arrival order;
- :class:`OutputStage`: everything that leaves the process (the gpt-sovits SoVITS decode of a
  finished segment, watermarking, PCM16 encoding, sending on the pipe). Each job's pieces keep
  their order and nothing is sent for a job after its failure; between jobs, the one whose
  listener runs out of audio first goes first (see :class:`OutputStage`). Audio leaves only
  after the job's :class:`~server.watermark.StreamingEmbedder` marked it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from server.engines.base import AudioChunk
from server.synthesis.records import AudioPiece, ErrorRecord, FromWorker, JobFailed, SynthesisJob

log = logging.getLogger(__name__)

#: What a finished preparation hands back: its key and its result, or the exception it raised.
Outcome = tuple[str, Any, BaseException | None]


class InputStage:
    """Preparation work off the loop, one job at a time; results are collected by the loop."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="voxguard-input")
        self._done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._pending = 0

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet collected."""
        return self._pending

    def submit(self, key: str, work: Callable[[], Any]) -> None:
        """Run ``work`` on the input thread; its outcome comes back from :meth:`collect`."""
        self._pending += 1
        future = self._executor.submit(work)

        def report(finished: Future[Any]) -> None:
            error = finished.exception()
            self._done.put((key, None if error is not None else finished.result(), error))

        future.add_done_callback(report)

    def collect(self, timeout: float | None = 0.0) -> list[Outcome]:
        """The outcomes finished so far (waiting up to ``timeout`` s for the first one)."""
        outcomes: list[Outcome] = []
        try:
            outcomes.append(self._done.get(timeout=timeout) if timeout else self._done.get_nowait())
            while True:
                outcomes.append(self._done.get_nowait())
        except queue.Empty:
            pass
        self._pending -= len(outcomes)
        return outcomes

    def close(self) -> None:
        """Stop the thread once the submitted work is done."""
        self._executor.shutdown(wait=True)


@dataclass(frozen=True)
class _Item:
    kind: str  # "open", "chunk", "render", "finish", "fail", "send"
    job_id: str = ""
    payload: Any = field(default=None, repr=False)


@dataclass
class _JobOutput:
    """The output side of one job (touched by the output thread only)."""

    job: SynthesisJob
    span: Any
    #: When the job reached the worker (monotonic seconds).
    opened_at: float
    embedder: Any = None
    sequence: int = 0
    rate: int = 0
    #: When its first audio left, and how many seconds of audio left so far.
    first_sent_at: float | None = None
    sent_seconds: float = 0.0
    #: Its work not done yet, in order.
    pending: deque[_Item] = field(default_factory=deque)

    def runs_dry_at(self) -> float:
        """When a listener playing its audio in real time runs out of it.

        A job that sent nothing yet is due since it arrived; the earliest arrival goes first.
        """
        if self.first_sent_at is None:
            return self.opened_at
        return self.first_sent_at + self.sent_seconds


class OutputStage:
    """Decode, watermark, encode and send on one thread, most urgent job first.

    Each job's pieces are handled in the order the loop queued them. Between jobs the stage
    picks the job whose listener runs out of audio first (:meth:`_JobOutput.runs_dry_at`):
    a request still waiting for its first chunk goes before the next segment of one that is
    already playing several seconds of audio, so a burst of new requests does not queue its
    first chunks behind everyone's later segments (earliest deadline first). Messages that
    are not audio (enrollment results, failures) go out as soon as the thread sees them.
    ``clock`` is injectable for tests.
    """

    def __init__(self, conn: Connection, keyring: Any, tracer: Any,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._conn = conn
        self._keyring = keyring
        self._tracer = tracer
        self._clock = clock
        self._items: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._jobs: dict[str, _JobOutput] = {}
        self._thread = threading.Thread(target=self._run, name="voxguard-output", daemon=True)
        self._thread.start()

    def open(self, job: SynthesisJob, span: Any) -> None:
        """Start a job's output (its trace span ends when the job does)."""
        self._items.put(_Item("open", job.job_id, (job, span, self._clock())))

    def chunk(self, job_id: str, chunk: AudioChunk) -> None:
        """Mark and send a job's next audio."""
        self._items.put(_Item("chunk", job_id, chunk))

    def render(self, job_id: str, render: Callable[[], AudioChunk]) -> None:
        """Compute a job's next audio here (a gpt-sovits SoVITS decode), then mark and send it."""
        self._items.put(_Item("render", job_id, render))

    def finish(self, job_id: str) -> None:
        """Send the job's marked tail as its final piece."""
        self._items.put(_Item("finish", job_id))

    def fail(self, job_id: str, error: ErrorRecord) -> None:
        """End the job with ``error``; its audio not sent yet is dropped."""
        self._items.put(_Item("fail", job_id, error))

    def send(self, message: FromWorker) -> None:
        """Send any other message now, ahead of queued audio."""
        self._items.put(_Item("send", payload=message))

    def close(self, timeout: float = 30.0) -> None:
        """Send everything queued, then stop the thread."""
        self._items.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        closing = False
        while True:
            item: _Item | None
            try:
                while True:  # take in everything queued; block only when there is nothing to do
                    busy = any(output.pending for output in self._jobs.values())
                    if closing and not busy:
                        return
                    item = self._items.get_nowait() if busy or closing else self._items.get()
                    if item is None:
                        closing = True
                    elif not self._take(item):
                        return
            except queue.Empty:
                pass
            output = min((job for job in self._jobs.values() if job.pending),
                         key=_JobOutput.runs_dry_at)
            if not self._guarded(output.pending.popleft()):
                return

    def _take(self, item: _Item) -> bool:
        """File a queued item: audio work waits in its job's queue, the rest is done now."""
        if item.kind == "open":
            job, span, opened_at = item.payload
            self._jobs[item.job_id] = _JobOutput(job=job, span=span, opened_at=opened_at)
            return True
        if item.kind in ("chunk", "render", "finish") and item.job_id in self._jobs:
            self._jobs[item.job_id].pending.append(item)
            return True
        return self._guarded(item)

    def _guarded(self, item: _Item) -> bool:
        """Apply ``item``; a bug fails its job alone. False once the pipe is gone."""
        try:
            self._apply(item)
        except (OSError, ValueError, BrokenPipeError):
            return False  # the server is gone; the worker exits with its loop
        except Exception:
            log.exception("the output stage failed on %s for job %s", item.kind, item.job_id)
            if item.job_id in self._jobs:
                return self._guarded(_Item("fail", item.job_id, ErrorRecord.engine_bug(
                    self._jobs[item.job_id].job.request_id)))
        return True

    def _apply(self, item: _Item) -> None:
        if item.kind == "send":
            self._conn.send(item.payload)
        elif item.kind == "fail":
            output = self._jobs.pop(item.job_id, None)
            self._conn.send(JobFailed(item.job_id, item.payload))
            if output is not None:
                output.span.end()
        elif item.job_id in self._jobs:
            if item.kind == "chunk":
                self._send_chunk(self._jobs[item.job_id], item.payload)
            elif item.kind == "render":
                self._send_chunk(self._jobs[item.job_id], item.payload())
            else:
                self._finish(self._jobs.pop(item.job_id))

    def _send_chunk(self, output: _JobOutput, chunk: AudioChunk) -> None:
        from opentelemetry import trace

        from server.watermark import StreamingEmbedder

        job = output.job
        if output.embedder is None:
            output.rate = chunk.sample_rate
            output.embedder = StreamingEmbedder(self._keyring, bytes.fromhex(job.generation_id),
                                                output.rate)
        with self._tracer.start_as_current_span(
                "watermark", context=trace.set_span_in_context(output.span)):
            marked = output.embedder.push(np.asarray(chunk.samples, dtype=np.float32))
        if marked.size:
            self._conn.send(AudioPiece(job.job_id, job.generation_id, output.sequence,
                                       pcm16(marked), output.rate, final=False))
            output.sequence += 1
            if output.first_sent_at is None:
                output.first_sent_at = self._clock()
            output.sent_seconds += marked.size / output.rate

    def _finish(self, output: _JobOutput) -> None:
        job = output.job
        tail = output.embedder.finish() if output.embedder is not None else np.zeros(0)
        self._conn.send(AudioPiece(job.job_id, job.generation_id, output.sequence, pcm16(tail),
                                   output.rate, final=True))
        output.span.end()


def pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as little-endian 16-bit PCM."""
    pcm: np.ndarray = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    return pcm.tobytes()
