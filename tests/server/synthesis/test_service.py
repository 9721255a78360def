"""SynthesisService without worker processes: what it decides before a job reaches a worker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest

from server.errors import (
    FailedPrecondition,
    Internal,
    InvalidAudio,
    ModelFilesError,
    Unavailable,
)
from server.grpc_app.errors import status_for
from server.synthesis.records import (
    AudioPiece,
    CancelJob,
    ErrorRecord,
    JobFailed,
    SynthesisJob,
    ToWorker,
)
from server.synthesis.service import SynthesisService
from server.synthesis.worker import WorkerConfig
from tests.server.synthesis.fake_worker import FakeFleet
from tests.server.synthesis.jobs import make_job


def _job(voice_id: str) -> SynthesisJob:
    return make_job(f"job-{voice_id}", voice_id)


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


# -- with fake workers behind the transport seam -----------------------------------------------

def _service(fleet: FakeFleet, workers: int = 1, queue_size: int = 4) -> SynthesisService:
    configs = [WorkerConfig(engine_name="fake", watermark_key_file=Path("k"))] * workers
    return SynthesisService(configs, queue_size=queue_size, launcher=fleet, respawn_delay=60.0)


def _pieces(job: SynthesisJob, count: int) -> list[AudioPiece]:
    return [AudioPiece(job.job_id, job.generation_id, n, b"\x00\x01" * 8, 16_000,
                       final=n == count - 1) for n in range(count)]


async def _collect(service: SynthesisService, job: SynthesisJob) -> list[AudioPiece]:
    return [piece async for piece in service.run(job)]


def _run_scenario(fleet: FakeFleet, job: SynthesisJob, **kwargs: Any) -> list[AudioPiece]:
    async def scenario() -> list[AudioPiece]:
        service = _service(fleet, **kwargs)
        await service.start()
        await service.wait_ready(5)
        try:
            return await asyncio.wait_for(_collect(service, job), 5)
        finally:
            await service.stop()

    return asyncio.run(scenario())


def test_pieces_arrive_in_order_and_the_final_one_ends_the_job() -> None:
    def script(message: ToWorker) -> list[AudioPiece]:
        return _pieces(message, 3) if isinstance(message, SynthesisJob) else []

    pieces = _run_scenario(FakeFleet(script), make_job("job-1"))
    assert [p.sequence for p in pieces] == [0, 1, 2] and pieces[-1].final


def test_an_engine_bug_is_internal_and_names_the_request() -> None:
    def script(message: ToWorker) -> list[JobFailed]:
        if isinstance(message, SynthesisJob):
            return [JobFailed(message.job_id, ErrorRecord.engine_bug(message.request_id))]
        return []

    with pytest.raises(Internal, match="req_bug42") as caught:
        _run_scenario(FakeFleet(script), make_job("job-1", request_id="req_bug42"))
    assert status_for(caught.value) == grpc.StatusCode.INTERNAL
    assert caught.value.details == {"request_id": "req_bug42"}


def test_a_domain_error_crosses_the_pipe_with_its_class_field_and_details() -> None:
    error = InvalidAudio("too quiet", field="audio_chunk", details={"snr_db": 3.5})

    def script(message: ToWorker) -> list[JobFailed]:
        return [JobFailed(message.job_id, ErrorRecord.of(error))] if isinstance(
            message, SynthesisJob) else []

    with pytest.raises(InvalidAudio, match="too quiet") as caught:
        _run_scenario(FakeFleet(script), make_job("job-1"))
    assert caught.value.field == "audio_chunk"
    assert caught.value.details == {"snr_db": 3.5, "field": "audio_chunk"}


def test_a_worker_that_dies_mid_job_fails_it_as_unavailable() -> None:
    fleet = FakeFleet()

    def script(message: ToWorker) -> list[AudioPiece]:
        if isinstance(message, SynthesisJob):
            fleet.workers[0].kill()
            return _pieces(message, 3)[:1]
        return []

    fleet.script = script
    with pytest.raises(Unavailable, match="worker failed"):
        _run_scenario(fleet, make_job("job-1"))


def test_a_caller_who_leaves_cancels_the_running_job() -> None:
    fleet = FakeFleet(lambda message: _pieces(message, 5)[:1] if isinstance(
        message, SynthesisJob) else [])

    async def scenario() -> None:
        service = _service(fleet)
        await service.start()
        await service.wait_ready(5)
        try:
            stream = service.run(make_job("job-1"))
            first = await asyncio.wait_for(anext(stream), 5)
            assert first.sequence == 0
            await stream.aclose()  # the caller went away
            assert [type(m) for m in fleet.workers[0].received] == [SynthesisJob, CancelJob]
        finally:
            await service.stop()

    asyncio.run(scenario())


def test_workers_that_cannot_start_report_why_and_are_not_respawned() -> None:
    broken = ErrorRecord.of(ModelFilesError("s2G2333k.pth is damaged; download it again"))
    fleet = FakeFleet(start_error=broken)

    async def scenario() -> None:
        service = SynthesisService(
            [WorkerConfig(engine_name="fake", watermark_key_file=Path("k"))] * 2,
            queue_size=4, launcher=fleet, respawn_delay=0.01)
        await service.start()
        try:
            with pytest.raises(ModelFilesError, match="s2G2333k.pth is damaged"):
                await service.wait_ready(5)
            failure = await asyncio.wait_for(service.start_failure(), 1)
            assert isinstance(failure, ModelFilesError)
            await asyncio.sleep(0.2)  # a respawn would have happened by now
            assert len(fleet.workers) == 2 and service.ready_workers == 0
        finally:
            await service.stop()

    asyncio.run(scenario())
