"""Where an engine's enrollment work runs: in a synthesis worker once the pool is up.

The voice service (``tenants/``) calls one plain function, ``enroll(audio, hints)``, from a
request thread. A server routes it to its workers from the moment it starts them
(:meth:`EnrollmentRouter.use_workers`): the least busy worker, which already holds the
models, runs it and the calling thread waits for the result, so a GPU engine's enrollment
runs on its GPU and the gRPC process never loads the models (before a worker is ready the
call answers UNAVAILABLE). Without workers (offline commands, domain tests) the engine is
built in this process on first use.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from server.audio import Audio
from server.engines.base import EnrollmentHints, SynthesisEngine, VoiceModel
from server.logs import REQUEST_ID

if TYPE_CHECKING:
    from server.synthesis.service import SynthesisService

#: Longest wait for a worker's enrollment (a first call may load a speech recogniser).
ENROLL_TIMEOUT_SECONDS = 600.0


class EnrollmentRouter:
    """Runs enrollment in the worker pool once :meth:`use_workers` was called, else here."""

    def __init__(self, make_engine: Callable[[], SynthesisEngine]) -> None:
        self._make_engine = make_engine
        #: The engine built in this process, if an enrollment ever ran here.
        self.local_engine: SynthesisEngine | None = None
        self._building = threading.Lock()  # concurrent first calls build one engine, not two
        self._service: SynthesisService | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def use_workers(self, service: SynthesisService, loop: asyncio.AbstractEventLoop) -> None:
        """From now on enrollments go to ``service``'s workers (``loop`` is its event loop)."""
        self._service, self._loop = service, loop

    def __call__(self, audio: Audio, language: str, transcript: str | None) -> VoiceModel:
        """Build the voice model (blocking; call it from a thread, not the event loop)."""
        return self.enroll(audio, EnrollmentHints(language=language, transcript=transcript))

    def enroll(self, audio: Audio, hints: EnrollmentHints) -> VoiceModel:
        """Build the voice model (blocking; call it from a thread, not the event loop)."""
        if self._service is None or self._loop is None:
            with self._building:
                if self.local_engine is None:
                    self.local_engine = self._make_engine()
            return self.local_engine.enroll(audio.samples, audio.sample_rate, hints)
        future = asyncio.run_coroutine_threadsafe(
            self._service.enroll(audio.samples, audio.sample_rate, hints,
                                 timeout=ENROLL_TIMEOUT_SECONDS, request_id=REQUEST_ID.get()),
            self._loop)
        return future.result()
