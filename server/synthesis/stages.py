"""The input and output stages of a worker, each on its own thread beside the batch loop.

The loop (:mod:`server.synthesis.worker`) only admits prepared requests and steps the
runner. What is slow and concerns one request at a time runs beside it, so co-batched
requests never wait for it:

- :class:`InputStage`: parsing the voice model and the engine's request preparation (text
  front end, voice preparation) and enrollment work, one job at a time, in arrival order;
- :class:`OutputStage`: everything that leaves the process (the gpt-sovits SoVITS decode of a
  finished segment, watermarking, PCM16 encoding, sending on the pipe), in one FIFO, so each job's pieces keep their order and nothing is
  sent for a job after its failure. Audio leaves only through :meth:`OutputStage.chunk`,
  which sends what the job's :class:`~server.watermark.StreamingEmbedder` returned.
"""

from __future__ import annotations

import logging
import queue
import threading
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


@dataclass
class _JobOutput:
    """The output side of one job (touched by the output thread only)."""

    job: SynthesisJob
    span: Any
    embedder: Any = None
    sequence: int = 0
    rate: int = 0


@dataclass(frozen=True)
class _Item:
    kind: str  # "open", "chunk", "render", "finish", "fail", "send"
    job_id: str = ""
    payload: Any = field(default=None, repr=False)


class OutputStage:
    """Watermark, encode and send, in order, on one thread (see the module docstring)."""

    def __init__(self, conn: Connection, keyring: Any, tracer: Any) -> None:
        self._conn = conn
        self._keyring = keyring
        self._tracer = tracer
        self._items: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._jobs: dict[str, _JobOutput] = {}
        self._thread = threading.Thread(target=self._run, name="voxguard-output", daemon=True)
        self._thread.start()

    def open(self, job: SynthesisJob, span: Any) -> None:
        """Start a job's output (its trace span ends when the job does)."""
        self._items.put(_Item("open", job.job_id, (job, span)))

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
        """End the job with ``error``; anything queued for it after this is dropped."""
        self._items.put(_Item("fail", job_id, error))

    def send(self, message: FromWorker) -> None:
        """Send any other message, in order with the audio."""
        self._items.put(_Item("send", payload=message))

    def close(self, timeout: float = 30.0) -> None:
        """Send everything queued, then stop the thread."""
        self._items.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (item := self._items.get()) is not None:
            try:
                self._apply(item)
            except (OSError, ValueError, BrokenPipeError):
                return  # the server is gone; the worker exits with its loop
            except Exception:
                log.exception("the output stage failed on %s for job %s", item.kind, item.job_id)
                if item.job_id in self._jobs:
                    self._apply(_Item("fail", item.job_id, ErrorRecord.engine_bug(
                        self._jobs[item.job_id].job.request_id)))

    def _apply(self, item: _Item) -> None:
        if item.kind == "send":
            self._conn.send(item.payload)
        elif item.kind == "open":
            job, span = item.payload
            self._jobs[item.job_id] = _JobOutput(job=job, span=span)
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
