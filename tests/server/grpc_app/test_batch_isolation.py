"""Failures inside a batch stay with their own requests (gpt-sovits, two batching workers).

A real server with two CPU workers, each taking up to four requests at once (random micro
models from a seed). A revoked voice stops exactly its own requests while another voice's
request in flight at the same moment streams to the end; a killed worker fails exactly
the requests of its batch while the other worker's requests finish.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import numpy as np
import pytest

from server.api.v1 import consents_pb2, synthesis_pb2
from server.watermark import detect
from tests.server.engines.gpt_sovits.model_factory import generate_models
from tests.server.grpc_app.conftest import (
    ADMIN_TOKEN,
    Clients,
    ServerThread,
    enroll_voice,
    make_settings,
    new_tenant,
)

LONG_TEXT = " ".join(f"Sentence number {n} is here." for n in range(1, 13))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    models = tmp_path_factory.mktemp("gsv-micro")
    generate_models("v2", "micro", 7, models)
    settings = make_settings(tmp_path_factory.mktemp("gsv-data"), engine="gpt-sovits",
                             gpt_sovits_models=models, cpu_workers=2,
                             engine_options={"max_new_tokens": 40, "max_batch": 4})
    thread = ServerThread(settings)
    yield thread
    thread.stop()


@dataclass
class Stream:
    """One SynthesizeStream driven from a thread: its chunks, its error, its timeline."""

    clients: Clients
    voice_id: str
    chunks: list[synthesis_pb2.SynthesizeChunk] = field(default_factory=list)
    error: grpc.StatusCode | None = None
    first_chunk: threading.Event = field(default_factory=threading.Event)
    finished_at: float = 0.0

    def run(self) -> None:
        call = self.clients.synthesis.SynthesizeStream(synthesis_pb2.SynthesizeRequest(
            voice_id=self.voice_id, text=LONG_TEXT, top_k=1, text_split="cut5"),
            metadata=self.clients.metadata, timeout=300)
        try:
            for chunk in call:
                self.chunks.append(chunk)
                self.first_chunk.set()
        except grpc.RpcError as error:
            self.error = error.code()
        self.finished_at = time.monotonic()
        self.first_chunk.set()


def _start(streams: list[Stream]) -> list[threading.Thread]:
    threads = [threading.Thread(target=stream.run) for stream in streams]
    for thread in threads:
        thread.start()
    for stream in streams:
        assert stream.first_chunk.wait(120)
    return threads


def _assert_complete_and_marked(server: ServerThread, stream: Stream) -> None:
    assert stream.error is None and stream.chunks[-1].final
    assert [c.sequence for c in stream.chunks] == list(range(len(stream.chunks)))
    audio = np.concatenate([np.frombuffer(c.audio, dtype="<i2") for c in stream.chunks])
    found = detect(audio.astype(np.float32) / 32767.0, stream.chunks[0].sample_rate_hz,
                   server.running.platform.watermark_keys)
    assert found.payload is not None and found.payload.hex() == stream.chunks[0].generation_id


def test_revoking_a_voice_stops_only_its_own_requests(server: ServerThread) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        _, clients = new_tenant(Clients(channel, ADMIN_TOKEN), "Batch isolation tenant")
        consent_a, voice_a = enroll_voice(clients, "Ada Example")
        _, voice_b = enroll_voice(clients, "Bea Example")
        streams = [Stream(clients, voice_a), Stream(clients, voice_a), Stream(clients, voice_b)]
        threads = _start(streams)
        revoked = clients.consents.RevokeConsent(consents_pb2.RevokeConsentRequest(
            consent_id=consent_a, reason="test"), metadata=clients.metadata)
        revoked_at = time.monotonic()
        assert voice_a in revoked.deleted_voice_ids
        for thread in threads:
            thread.join(300)
    for stream in streams[:2]:
        assert stream.error == grpc.StatusCode.FAILED_PRECONDITION
        assert not stream.chunks or not stream.chunks[-1].final
    # B's request was still running when A was revoked, and streamed to its end regardless
    assert streams[2].finished_at > revoked_at
    _assert_complete_and_marked(server, streams[2])


def test_a_killed_worker_fails_only_the_requests_of_its_batch(server: ServerThread) -> None:
    service = server.running.platform.synthesis
    assert service is not None
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        _, clients = new_tenant(Clients(channel, ADMIN_TOKEN), "Crash isolation tenant")
        _, voice_id = enroll_voice(clients)
        streams = [Stream(clients, voice_id) for _ in range(4)]
        threads = _start(streams)
        victim = service.worker_pids[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        for thread in threads:
            thread.join(300)
    failed = [s for s in streams if s.error is not None]
    finished = [s for s in streams if s.error is None]
    # the least-loaded placement put two requests on each worker
    assert len(failed) == 2 and all(s.error == grpc.StatusCode.UNAVAILABLE for s in failed)
    assert len(finished) == 2
    for stream in finished:
        assert stream.finished_at > killed_at
        _assert_complete_and_marked(server, stream)
    deadline = time.monotonic() + 120
    while victim in service.worker_pids or len(service.worker_pids) < 2:
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.5)



def test_a_missed_deadline_ends_only_its_own_request(server: ServerThread) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        _, clients = new_tenant(Clients(channel, ADMIN_TOKEN), "Deadline isolation tenant")
        _, voice_id = enroll_voice(clients)
        others = [Stream(clients, voice_id) for _ in range(2)]
        threads = _start(others)
        hurried = clients.synthesis.SynthesizeStream(synthesis_pb2.SynthesizeRequest(
            voice_id=voice_id, text=LONG_TEXT * 4, top_k=1, text_split="cut5"),
            metadata=clients.metadata, timeout=1.0)
        with pytest.raises(grpc.RpcError) as caught:
            for _ in hurried:
                pass
        missed_at = time.monotonic()
        for thread in threads:
            thread.join(300)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    for stream in others:
        assert stream.finished_at > missed_at
        _assert_complete_and_marked(server, stream)
