"""Limits on a deliberately small server: queue size, uploads, deadlines, crashes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import grpc
import pytest

from server.api.v1 import consents_pb2, synthesis_pb2, voices_pb2
from server.grpc_app.errors import decode_status_details
from tests.server.grpc_app.conftest import Clients, ServerThread, make_settings, tenant_with_voice

# Near the 2,000-character limit: on an idle machine a shorter text finished before the queued
# request's deadline, and the deadline test passed nothing.
LONG_TEXT = " ".join(f"Sentence {n} keeps this single worker busy for a little while." for n in range(30))


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    thread = ServerThread(make_settings(tmp_path_factory.mktemp("small"), queue_size=1,
                                        max_enroll_bytes=600_000, rate_limit_per_minute=60_000,
                                        rate_limit_burst=1_000))
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def small(small_server: ServerThread) -> Iterator[tuple[Clients, str]]:
    with tenant_with_voice(small_server, "Small") as (clients, voice_id):
        yield clients, voice_id


def test_oversized_upload_is_refused(small: tuple[Clients, str]) -> None:
    clients, _ = small
    consents = clients.consents.ListConsents(consents_pb2.ListConsentsRequest(), metadata=clients.metadata)
    consent_id = consents.consents[0].consent_id
    messages = [voices_pb2.EnrollRequest(metadata=voices_pb2.EnrollMetadata(
        consent_id=consent_id, display_name="big"))]
    messages += [voices_pb2.EnrollRequest(audio_chunk=b"\0" * 100_000) for _ in range(7)]
    with pytest.raises(grpc.RpcError) as caught:
        clients.voices.Enroll(iter(messages), metadata=clients.metadata)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than the limit of 600,000 bytes" in caught.value.details()


def _wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_full_queue_answers_resource_exhausted_with_a_retry_hint(small_server: ServerThread,
                                                                small: tuple[Clients, str]) -> None:
    clients, voice_id = small
    service = small_server.running.platform.synthesis
    assert service is not None
    request = synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=LONG_TEXT)
    # The one worker slot is taken (its first chunk arrived), then the one queue place.
    busy = clients.synthesis.SynthesizeStream(request, metadata=clients.metadata)
    next(busy)
    queued = clients.synthesis.Synthesize.future(request, metadata=clients.metadata, timeout=120)
    assert _wait_until(lambda: service.queued_jobs == 1)
    with pytest.raises(grpc.RpcError) as caught:
        clients.synthesis.Synthesize(request, metadata=clients.metadata, timeout=120)
    queued.cancel()
    busy.cancel()
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    exhausted = [caught.value]
    details = decode_status_details(caught.value)
    assert details["reason"] == "RESOURCE_EXHAUSTED" and details["retry_after_seconds"] > 0
    assert "retry_after_seconds" not in details["metadata"]  # RetryInfo carries it, once
    # The audit trail says the refused generations produced nothing.
    platform = small_server.running.platform
    failed = [e for e in platform.audit.events(platform.db) if e["kind"] == "synthesis.failed"]
    refused = [e for e in failed if e["fields"]["reason"] == "RESOURCE_EXHAUSTED"]
    assert len(refused) >= len(exhausted)
    assert all(e["fields"]["delivered_seconds"] == 0 for e in refused)


def test_a_crashed_worker_fails_its_request_unavailable_and_is_replaced(
    small_server: ServerThread, small: tuple[Clients, str]
) -> None:
    clients, voice_id = small
    service = small_server.running.platform.synthesis
    assert service is not None
    stream = clients.synthesis.SynthesizeStream(
        synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=LONG_TEXT), metadata=clients.metadata)
    next(stream)
    (pid,) = service.worker_pids
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(grpc.RpcError) as caught:
        list(stream)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            reply = clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Back again."),
                                                 metadata=clients.metadata, timeout=60)
            break
        except grpc.RpcError as error:
            assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)
            time.sleep(1)
    assert reply.duration_seconds > 0
    assert service.worker_pids and service.worker_pids != [pid]


def test_deadline_and_cancellation_remove_queued_work(small_server: ServerThread, small: tuple[Clients, str]) -> None:
    clients, voice_id = small
    service = small_server.running.platform.synthesis
    assert service is not None
    busy = clients.synthesis.SynthesizeStream(
        synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=LONG_TEXT), metadata=clients.metadata)
    next(busy)
    waiting = synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Waiting.")
    # A queued request whose deadline passes leaves the queue.
    late = clients.synthesis.Synthesize.future(waiting, metadata=clients.metadata, timeout=1.0)
    assert _wait_until(lambda: service.queued_jobs == 1)
    with pytest.raises(grpc.RpcError) as caught:
        late.result()
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert _wait_until(lambda: service.queued_jobs == 0, seconds=5)
    # So does one whose caller cancels it.
    cancelled = clients.synthesis.Synthesize.future(waiting, metadata=clients.metadata, timeout=120)
    assert _wait_until(lambda: service.queued_jobs == 1)
    cancelled.cancel()
    assert _wait_until(lambda: service.queued_jobs == 0, seconds=5)
    busy.cancel()


def test_cancelled_and_timed_out_syntheses_leave_a_failed_event(small_server: ServerThread,
                                                               small: tuple[Clients, str]) -> None:
    """docs/operations.md promises a synthesis.failed event for every unfinished generation."""
    clients, voice_id = small
    platform = small_server.running.platform
    busy = clients.synthesis.SynthesizeStream(
        synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=LONG_TEXT), metadata=clients.metadata)
    first = next(busy)
    with pytest.raises(grpc.RpcError):
        clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Late."),
                                     metadata=clients.metadata, timeout=0.5)
    busy.cancel()
    deadline = time.monotonic() + 10
    reasons: dict[str, dict] = {}
    while time.monotonic() < deadline and len(reasons) < 2:
        events = platform.audit.events(platform.db)
        reasons = {e["fields"]["reason"]: e["fields"] for e in events
                   if e["kind"] == "synthesis.failed"
                   and e["fields"]["reason"] in ("CANCELLED", "DEADLINE_EXCEEDED")}
        time.sleep(0.2)
    assert set(reasons) == {"CANCELLED", "DEADLINE_EXCEEDED"}
    assert reasons["DEADLINE_EXCEEDED"]["delivered_seconds"] == 0
    cancelled = [e for e in platform.audit.events(platform.db) if e["kind"] == "synthesis.failed"
                 and e["fields"]["reason"] == "CANCELLED" and e["fields"]["generation_id"]
                 == first.generation_id]
    assert cancelled and cancelled[0]["fields"]["delivered_seconds"] > 0
