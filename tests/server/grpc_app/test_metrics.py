"""Prometheus metrics on VOXGUARD_METRICS_LISTEN: RPCs, synthesis, workers, detections."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Iterator

import grpc
import pytest

from server.api.v1 import provenance_pb2, synthesis_pb2, voices_pb2
from tests.server.grpc_app.conftest import (
    ADMIN_TOKEN,
    Clients,
    ServerThread,
    enroll_voice,
    make_settings,
    new_tenant,
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, int]]:
    port = _free_port()
    server = ServerThread(make_settings(tmp_path_factory.mktemp("metrics"),
                                        metrics_listen=f"127.0.0.1:{port}"))
    yield server, port
    server.stop()


def _scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_metrics_follow_what_the_server_does(metered: tuple[ServerThread, int]) -> None:
    server, port = metered
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        tenant_id, clients = new_tenant(Clients(channel, ADMIN_TOKEN), "Metered tenant")
        _, voice_id = enroll_voice(clients)
        reply = clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(
            voice_id=voice_id, text="Hello there, this is measured."), metadata=clients.metadata)
        clients.provenance.DetectWatermark(provenance_pb2.DetectWatermarkRequest(audio=reply.audio),
                                           metadata=clients.metadata)
        with pytest.raises(grpc.RpcError):
            clients.voices.GetVoice(voices_pb2.GetVoiceRequest(voice_id="voice_missing"),
                                    metadata=clients.metadata)
    ok = 'voxguard_rpc_requests_total{code="OK",method="/voxguard.v1.Synthesis/Synthesize"}'
    missing = 'voxguard_rpc_requests_total{code="NOT_FOUND",method="/voxguard.v1.Voices/GetVoice"}'
    # The interceptor counts an RPC once its answer has been sent, which a fast client can
    # overtake on a loaded machine: wait (briefly) for the last call to be counted.
    deadline = time.monotonic() + 10
    values = _scrape(port)
    while missing not in values and time.monotonic() < deadline:
        time.sleep(0.05)
        values = _scrape(port)
    assert values[ok] == 1.0 and values[missing] == 1.0
    assert values['voxguard_rpc_duration_seconds_count{method="/voxguard.v1.Synthesis/Synthesize"}'] == 1
    assert values["voxguard_synthesis_first_chunk_seconds_count"] == 1.0
    assert abs(values["voxguard_synthesis_audio_seconds_total"] - reply.duration_seconds) < 0.05
    assert values['voxguard_watermark_detections_total{result="detected"}'] == 1.0
    assert values["voxguard_workers_alive"] == 1.0
    assert values["voxguard_synthesis_queue_depth"] == 0.0
    assert values["voxguard_worker_restarts_total"] == 0.0
    assert not any(tenant_id in name for name in values)  # tenant ids are never labels
