"""Where an engine's enrollment work runs: in a synthesis worker once the pool is up.

The voice service (``tenants/``) calls one plain function, ``enroll(audio, hints)``, from a
request thread. Before the worker pool starts (offline commands, start-up) it runs in this
process; afterwards it is sent to the least busy worker, which already holds the models, and
the calling thread waits for the result. So a GPU engine's enrollment runs on its GPU and
the gRPC process never loads the models.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from server.audio import Audio
from server.engines.base import EnrollmentHints, SynthesisEngine, VoiceModel
from server.logs import REQUEST_ID

if TYPE_CHECKING:
    from server.synthesis.service import SynthesisService

#: Longest wait for a worker's enrollment (a first call may load a speech recogniser).
ENROLL_TIMEOUT_SECONDS = 600.0


class EnrollmentRouter:
    """Runs ``engine.enroll`` here until :meth:`use_workers`, then in the worker pool."""

    def __init__(self, engine: SynthesisEngine) -> None:
        self.engine = engine
        self._service: SynthesisService | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def use_workers(self, service: SynthesisService, loop: asyncio.AbstractEventLoop) -> None:
        """From now on enrollments go to ``service``'s workers (``loop`` is its event loop)."""
        self._service, self._loop = service, loop

    def enroll(self, audio: Audio, hints: EnrollmentHints) -> VoiceModel:
        """Build the voice model (blocking; call it from a thread, not the event loop)."""
        if self._service is None or self._loop is None:
            return self.engine.enroll(audio.samples, audio.sample_rate, hints)
        future = asyncio.run_coroutine_threadsafe(
            self._service.enroll(audio.samples, audio.sample_rate, hints,
                                 timeout=ENROLL_TIMEOUT_SECONDS, request_id=REQUEST_ID.get()),
            self._loop)
        return future.result()
