"""Worker processes and the pipes to them.

:class:`WorkerLink` is what :class:`~server.synthesis.service.SynthesisService` needs of a
worker: send it a typed message, stop it, kill it. :class:`WorkerHandle` is the link to a
``spawn``-started process (no inherited locks, threads or CUDA state) with one reader
thread that turns messages from the pipe into callbacks; a test (or another transport)
passes its own :data:`WorkerLauncher` instead. The pool never interprets messages; the
service does.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from typing import Protocol

from server.synthesis.records import FromWorker, PipeProtocolError, Shutdown, ToWorker, from_worker
from server.synthesis.worker import WorkerConfig, worker_main

log = logging.getLogger(__name__)

MessageCallback = Callable[[int, FromWorker], None]
ExitCallback = Callable[[int], None]


class WorkerLink(Protocol):
    """One worker, seen from the server."""

    worker_id: int

    @property
    def pid(self) -> int | None:
        """Operating-system process id, when the worker is a local process."""

    def send(self, message: ToWorker) -> bool:
        """Send a message; False if the worker is gone."""

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout`` seconds."""

    def kill(self) -> None:
        """End the worker now; its exit callback follows."""


#: Starts worker ``worker_id`` with ``config``; messages and its exit reach the callbacks.
WorkerLauncher = Callable[[int, WorkerConfig, MessageCallback, ExitCallback], WorkerLink]


class WorkerHandle:
    """One synthesis worker process seen from the server."""

    def __init__(
        self,
        worker_id: int,
        config: WorkerConfig,
        on_message: MessageCallback,
        on_exit: ExitCallback,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.worker_id = worker_id
        self._conn, child_conn = context.Pipe(duplex=True)
        self._send_lock = threading.Lock()
        self.process = context.Process(
            target=worker_main,
            args=(child_conn, config),
            name=f"voxguard-worker-{worker_id}",
            daemon=True,
        )
        self.process.start()
        child_conn.close()
        self._on_message = on_message
        self._on_exit = on_exit
        self._reader = threading.Thread(
            target=self._read_loop, name=f"voxguard-worker-{worker_id}-reader", daemon=True
        )
        self._reader.start()

    @property
    def pid(self) -> int | None:
        """Operating-system process id."""
        return self.process.pid

    def send(self, message: ToWorker) -> bool:
        """Send a message; False if the worker is gone."""
        try:
            with self._send_lock:
                self._conn.send(message)
            return True
        except (OSError, ValueError, BrokenPipeError):
            return False

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout`` seconds."""
        self.send(Shutdown())
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self._conn.close()

    def kill(self) -> None:
        """End the process now (the reader thread then reports its exit)."""
        self.process.kill()

    def _read_loop(self) -> None:
        while True:
            try:
                message = from_worker(self._conn.recv())
            except (EOFError, OSError):
                break
            except PipeProtocolError:
                # A worker that speaks another protocol cannot be trusted with jobs.
                log.exception("worker %s sent an unknown message; replacing it", self.worker_id)
                self.process.kill()
                break
            except Exception:
                log.exception("unreadable message from worker %s", self.worker_id)
                self.process.kill()
                break
            self._on_message(self.worker_id, message)
        self.process.join(1.0)
        self._on_exit(self.worker_id)
