"""A worker that stops responding is killed and replaced (the engine is frozen with SIGSTOP)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import grpc
import pytest

from server.api.v1 import synthesis_pb2
from tests.server.grpc_app.conftest import Clients, ServerThread, make_settings, tenant_with_voice


@pytest.fixture(scope="module")
def watched_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    thread = ServerThread(make_settings(tmp_path_factory.mktemp("watched"), worker_stop_grace_seconds=1.0,
                                        worker_stall_seconds=3.0))
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def watched(watched_server: ServerThread) -> Iterator[tuple[Clients, str]]:
    with tenant_with_voice(watched_server, "Watched") as (clients, voice_id):
        yield clients, voice_id


def _freeze_the_worker(server: ServerThread) -> int:
    service = server.running.platform.synthesis
    assert service is not None
    (pid,) = service.worker_pids
    os.kill(pid, signal.SIGSTOP)
    return pid


def _wait_for_a_new_worker(server: ServerThread, clients: Clients, voice_id: str, old_pid: int) -> None:
    service = server.running.platform.synthesis
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if service.worker_pids and service.worker_pids != [old_pid]:
            try:
                reply = clients.synthesis.Synthesize(
                    synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Back again."),
                    metadata=clients.metadata, timeout=60)
                assert reply.duration_seconds > 0
                return
            except grpc.RpcError as error:
                assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)
        time.sleep(0.5)
    pytest.fail("the frozen worker was not replaced")


def test_a_worker_that_ignores_a_cancellation_is_replaced(watched_server: ServerThread,
                                                         watched: tuple[Clients, str]) -> None:
    clients, voice_id = watched
    pid = _freeze_the_worker(watched_server)
    with pytest.raises(grpc.RpcError) as caught:
        clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Frozen."),
                                     metadata=clients.metadata, timeout=0.5)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    _wait_for_a_new_worker(watched_server, clients, voice_id, pid)


def test_a_job_that_makes_no_progress_fails_unavailable(watched_server: ServerThread,
                                                         watched: tuple[Clients, str]) -> None:
    clients, voice_id = watched
    pid = _freeze_the_worker(watched_server)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Stalled."),
                                     metadata=clients.metadata, timeout=60)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "stopped responding" in caught.value.details()
    assert time.monotonic() - started < 20
    _wait_for_a_new_worker(watched_server, clients, voice_id, pid)
