"""SynthesisService without worker processes: what it decides before a job reaches a worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.errors import FailedPrecondition
from server.synthesis.records import SynthesisJob
from server.synthesis.service import SynthesisService
from server.synthesis.worker import WorkerConfig


def _job(voice_id: str) -> SynthesisJob:
    return SynthesisJob(job_id=f"job-{voice_id}", tenant_id="tenant", voice_id=voice_id, voice_model=b"model",
                        text="Hello.", language="en", speed=1.0, sample_rate=None, generation_id="0" * 16)


def test_a_voice_deleted_before_its_job_is_queued_is_refused() -> None:
    # A request may open the voice model just before a deletion commits; the eviction
    # that follows the commit must still stop it from being synthesised.
    service = SynthesisService([WorkerConfig(engine_name="embedded", watermark_key_file=Path("k"))],
                               queue_size=4)

    async def scenario() -> None:
        assert service.evict_voices(["voice_gone"]) == 0
        with pytest.raises(FailedPrecondition, match="deleted"):
            async for _ in service.run(_job("voice_gone")):
                pass
        assert service.queued_jobs == 0

    asyncio.run(asyncio.wait_for(scenario(), timeout=5))
