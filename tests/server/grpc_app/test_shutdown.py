"""Graceful shutdown: stop accepting, report NOT_SERVING, let running requests finish."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.api.v1 import synthesis_pb2
from tests.server.grpc_app.conftest import (
    ADMIN_TOKEN,
    Clients,
    ServerThread,
    enroll_voice,
    make_settings,
    new_tenant,
)

LONG_TEXT = " ".join(f"Sentence {n} keeps the worker busy while the server drains." for n in range(8))


def test_a_draining_server_finishes_running_syntheses(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = ServerThread(make_settings(tmp_path_factory.mktemp("drain")))
    stopped = threading.Event()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            _, clients = new_tenant(Clients(channel, ADMIN_TOKEN), "Drain")
            _, voice_id = enroll_voice(clients)
            stream = clients.synthesis.SynthesizeStream(
                synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=LONG_TEXT),
                metadata=clients.metadata, timeout=300)
            chunks = [next(stream)]
            stopper = threading.Thread(target=lambda: (server.stop(grace=120), stopped.set()))
            stopper.start()
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 5
            status = None
            while time.monotonic() < deadline:
                try:
                    status = health.Check(health_pb2.HealthCheckRequest(), timeout=2).status
                except grpc.RpcError:
                    status = "refused"  # new calls are no longer accepted: also fine
                if status != health_pb2.HealthCheckResponse.SERVING:
                    break
                time.sleep(0.05)
            assert status != health_pb2.HealthCheckResponse.SERVING
            chunks += list(stream)  # the running request is not cut off
            assert chunks[-1].final
            assert sum(len(c.audio) for c in chunks) / 2 / chunks[0].sample_rate_hz > 5.0
            stopper.join(120)
            assert stopped.is_set()
    finally:
        if not stopped.is_set():
            server.stop()
