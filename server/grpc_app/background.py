"""A server running on its own event-loop thread, for the demo, benchmarks and tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from server.config import Settings
from server.grpc_app.app import RunningServer, start_server

T = TypeVar("T")


class BackgroundServer:
    """Starts :func:`start_server` on a private loop thread; ``stop`` shuts it down.

    Blocking callers (synchronous gRPC clients, pytest) can then talk to a real server in
    the same process. Unless ``wait_ready`` is False it returns once a worker is ready.
    """

    def __init__(self, settings: Settings, start_timeout: float = 600.0, *,
                 wait_ready: bool = True) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="voxguard-server", daemon=True)
        self._thread.start()
        try:
            self.running: RunningServer = self.call(start_server(settings), start_timeout)
            if wait_ready:  # the callers here want a worker, not just a bound port
                self.call(self.running.wait_ready(start_timeout), start_timeout + 5)
        except BaseException:
            if hasattr(self, "running"):
                self.call(self.running.stop(grace=0), 60)
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self.running.port

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 600.0) -> T:
        """Run a coroutine on the server loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self, grace: float = 1.0) -> None:
        """Stop serving, stop the workers, end the loop thread."""
        try:
            self.call(self.running.stop(grace=grace))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
