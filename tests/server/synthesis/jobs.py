"""Synthesis jobs for tests of the scheduler, the service and the worker loop."""

from __future__ import annotations

from server.engines.request import SynthesisRequest
from server.synthesis.records import SynthesisJob


def make_job(job_id: str, voice_id: str = "voice-a", *, tenant_id: str = "t",
             voice_model: bytes = b"m", deadline: float | None = None,
             request_id: str = "req_test", text: str = "Hello.") -> SynthesisJob:
    """A job for ``voice_id`` saying ``text`` (a short English sentence by default)."""
    return SynthesisJob(job_id=job_id, request_id=request_id, tenant_id=tenant_id,
                        voice_id=voice_id, voice_model=voice_model, generation_id="00" * 8,
                        request=SynthesisRequest(text=text, language="en"),
                        deadline=deadline)
