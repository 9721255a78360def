"""The whole story on a real server running the gpt-sovits engine (random micro models).

The model folder is generated from a seed in the official formats (nothing downloaded),
so the audio is noise-like; what is checked is the platform around the engine: consent,
enrollment (reference clip, transcript, sealed voice model), WAV and streamed synthesis,
the watermark, the sampling options, revocation, and clear errors for bad model folders.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
import soundfile as sf

from server.api.v1 import consents_pb2, provenance_pb2, synthesis_pb2
from server.errors import FailedPrecondition
from server.watermark import detect
from tests.server.engines.gpt_sovits.model_factory import generate_models
from tests.server.grpc_app.conftest import (
    ADMIN_TOKEN,
    Clients,
    ServerThread,
    enroll_messages,
    fixture_audio,
    make_settings,
    new_tenant,
)

TRANSCRIPT = (
    "Hello, this is a test of the enrollment audio. It has several sentences, and short "
    "pauses between them."
)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gsv-micro-v2")
    generate_models("v2", "micro", 7, folder)
    return folder


@pytest.fixture(scope="module")
def server(models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = make_settings(
        tmp_path_factory.mktemp("gsv-data"), engine="gpt-sovits", gpt_sovits_models=models,
        engine_options={"max_new_tokens": 40},
    )
    thread = ServerThread(settings)
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def voice(server: ServerThread) -> Iterator[tuple[Clients, str, str]]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        _, clients = new_tenant(Clients(channel, ADMIN_TOKEN), "GPT-SoVITS tenant")
        consent = clients.consents.StartConsent(
            consents_pb2.StartConsentRequest(subject_name="Ada Example",
                                             purposes=[consents_pb2.PURPOSE_SYNTHESIS]),
            metadata=clients.metadata)
        clients.consents.SubmitConsentRecording(
            consents_pb2.SubmitConsentRecordingRequest(consent_id=consent.consent_id,
                                                       audio=fixture_audio("consent_1998.flac")),
            metadata=clients.metadata)
        voice = clients.voices.Enroll(
            enroll_messages(consent.consent_id, fixture_audio("enrollment_1998.flac")),
            metadata=clients.metadata)
        assert voice.engine == "gpt-sovits"
        yield clients, voice.voice_id, consent.consent_id


def _request(voice_id: str, **fields: object) -> synthesis_pb2.SynthesizeRequest:
    return synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Hello there. How are you?",
                                           top_k=1, **fields)


def test_enrollment_runs_in_a_worker_not_in_the_grpc_process(
        server: ServerThread, voice: tuple[Clients, str, str]) -> None:
    """The voice was enrolled (fixture) by a worker: this process never loaded the models."""
    router = server.running.platform.enrollment
    assert router is not None and router.local_engine is None  # never built in this process
    clients, _, _ = voice
    consent = clients.consents.StartConsent(consents_pb2.StartConsentRequest(
        subject_name="Ada Example", purposes=[consents_pb2.PURPOSE_SYNTHESIS]),
        metadata=clients.metadata)
    clients.consents.SubmitConsentRecording(consents_pb2.SubmitConsentRecordingRequest(
        consent_id=consent.consent_id, audio=fixture_audio("consent_1998.flac")),
        metadata=clients.metadata)
    # the engine refuses a Mandarin voice without a transcript: raised in the worker, it
    # reaches the caller as the same clear INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as caught:
        clients.voices.Enroll(enroll_messages(consent.consent_id,
                                              fixture_audio("enrollment_1998.flac"), language="zh"),
                              metadata=clients.metadata)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "transcript" in (caught.value.details() or "")
    assert router.local_engine is None


def test_synthesize_returns_watermarked_32khz_audio(server: ServerThread,
                                                    voice: tuple[Clients, str, str]) -> None:
    clients, voice_id, _ = voice
    reply = clients.synthesis.Synthesize(_request(voice_id), metadata=clients.metadata, timeout=300)
    samples, rate = sf.read(io.BytesIO(reply.audio), dtype="float32")
    assert rate == 32_000 == reply.sample_rate_hz and len(samples) > rate * 0.3
    found = detect(samples, rate, server.running.platform.watermark_keys)
    assert found.detected and found.payload is not None
    assert found.payload.hex() == reply.generation_id
    # greedy decoding with the same voice and text is repeatable
    again = clients.synthesis.Synthesize(_request(voice_id), metadata=clients.metadata, timeout=300)
    assert abs(again.duration_seconds - reply.duration_seconds) < 1e-6


def test_stream_sends_a_chunk_per_segment(voice: tuple[Clients, str, str]) -> None:
    clients, voice_id, _ = voice
    text = "First sentence here. Second one, with a comma. Third one! And a fourth? Fifth."
    chunks = list(clients.synthesis.SynthesizeStream(
        synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=text, top_k=1, text_split="cut5"),
        metadata=clients.metadata, timeout=300))
    assert chunks[-1].final and len({c.generation_id for c in chunks}) == 1
    assert len([c for c in chunks if c.audio]) >= 3
    assert [c.sequence for c in chunks] == list(range(len(chunks)))


def test_sampling_options_are_honoured_and_validated(voice: tuple[Clients, str, str]) -> None:
    clients, voice_id, _ = voice
    seeded = synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Hello there.", top_k=20,
                                             top_p=0.9, temperature=0.8, seed=42,
                                             repetition_penalty=1.2)
    one = clients.synthesis.Synthesize(seeded, metadata=clients.metadata, timeout=300)
    two = clients.synthesis.Synthesize(seeded, metadata=clients.metadata, timeout=300)
    first, _ = sf.read(io.BytesIO(one.audio), dtype="float32")
    second, _ = sf.read(io.BytesIO(two.audio), dtype="float32")
    assert len(first) == len(second)  # same seed, same tokens (the watermarks differ)
    with pytest.raises(grpc.RpcError) as caught:
        clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(
            voice_id=voice_id, text="Hi.", top_k=500), metadata=clients.metadata, timeout=60)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_mandarin_and_mixed_text(voice: tuple[Clients, str, str]) -> None:
    clients, voice_id, _ = voice
    reply = clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(
        voice_id=voice_id, text="我们用GPT模型生成语音，效果很好。", language="zh", top_k=1),
        metadata=clients.metadata, timeout=300)
    assert reply.duration_seconds > 0.3
    with pytest.raises(grpc.RpcError) as caught:
        clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(
            voice_id=voice_id, text="Bonjour.", language="fr"), metadata=clients.metadata, timeout=60)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_concurrent_requests_share_one_batch_and_a_cancelled_one_leaves_alone(
        server: ServerThread, voice: tuple[Clients, str, str]) -> None:
    """Four streams on one worker run together (their chunks interleave); one is cancelled
    after its first chunk and the other three finish, each marked with its own generation."""
    clients, voice_id, _ = voice
    texts = ["One two three. Four five six.", "Red and blue. Green and gold.",
             "Come here now. Go there later.", "Cats sleep a lot. Dogs run fast."]
    start = threading.Barrier(len(texts))
    events: list[tuple[float, int, str]] = []
    results: dict[int, list[synthesis_pb2.SynthesizeChunk]] = {}

    def stream(index: int) -> None:
        call = clients.synthesis.SynthesizeStream(synthesis_pb2.SynthesizeRequest(
            voice_id=voice_id, text=texts[index], top_k=1, text_split="cut5"),
            metadata=clients.metadata, timeout=300)
        start.wait()
        chunks = []
        for chunk in call:
            if chunk.audio:
                events.append((time.monotonic(), index, "final" if chunk.final else "chunk"))
            chunks.append(chunk)
            if index == 3:
                call.cancel()
                break
        results[index] = chunks

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    for index in range(3):
        chunks = results[index]
        assert chunks[-1].final and [c.sequence for c in chunks] == list(range(len(chunks)))
        audio = np.concatenate([np.frombuffer(c.audio, dtype="<i2") for c in chunks])
        found = detect(audio.astype(np.float32) / 32767.0, chunks[0].sample_rate_hz,
                       server.running.platform.watermark_keys)
        assert found.payload is not None and found.payload.hex() == chunks[0].generation_id
    assert len({results[i][0].generation_id for i in range(4)}) == 4
    # a one-at-a-time worker would finish each request before starting the next; the
    # batching worker gives every request its first chunk before any request is done
    events.sort()
    first_final = min(t for t, _, kind in events if kind == "final")
    assert {index for t, index, _ in events if t < first_final} == {0, 1, 2, 3}


def test_detect_and_revoke(server: ServerThread, voice: tuple[Clients, str, str]) -> None:
    clients, voice_id, consent_id = voice
    reply = clients.synthesis.Synthesize(_request(voice_id), metadata=clients.metadata, timeout=300)
    found = clients.provenance.DetectWatermark(provenance_pb2.DetectWatermarkRequest(
        audio=reply.audio), metadata=clients.metadata, timeout=120)
    assert found.detected and found.generation_id == reply.generation_id
    revoked = clients.consents.RevokeConsent(consents_pb2.RevokeConsentRequest(
        consent_id=consent_id, reason="test"), metadata=clients.metadata)
    assert voice_id in revoked.deleted_voice_ids
    with pytest.raises(grpc.RpcError) as caught:
        clients.synthesis.Synthesize(_request(voice_id), metadata=clients.metadata, timeout=60)
    assert caught.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION)


def test_a_bad_model_folder_stops_the_server_at_start(models: Path,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    empty = tmp_path_factory.mktemp("no-models")
    with pytest.raises(FailedPrecondition, match="pretrained_models|missing"):
        ServerThread(make_settings(tmp_path_factory.mktemp("d1"), engine="gpt-sovits",
                                   gpt_sovits_models=empty))
    truncated = tmp_path_factory.mktemp("truncated")
    for path in models.rglob("*"):
        if path.is_file():
            target = truncated / path.relative_to(models)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = path.read_bytes()
            target.write_bytes(data[: len(data) // 2] if path.suffix == ".pth" else data)
    with pytest.raises(FailedPrecondition, match="s2G2333k.pth"):
        ServerThread(make_settings(tmp_path_factory.mktemp("d2"), engine="gpt-sovits",
                                   gpt_sovits_models=truncated))
