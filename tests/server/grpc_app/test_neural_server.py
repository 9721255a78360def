"""The whole story on a real server running the default engine, embedded-neural.

Consent, enrollment in a worker, WAV and streamed synthesis in the speaker's voice with the
words intact, the watermark, Mandarin, and revocation; on real speech (LibriSpeech fixtures).
The rest of the platform tests run on the faster first-generation engine (tests/conftest.py).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
import soundfile as sf

from server.api.v1 import consents_pb2, synthesis_pb2, voices_pb2
from server.audio import Audio
from server.config import Settings
from server.speech.asr import Transcriber
from server.watermark import detect
from tests.server.grpc_app.conftest import (
    ADMIN_TOKEN,
    Clients,
    ServerThread,
    enroll_voice,
    make_settings,
    new_tenant,
)

TEXT = ("Please put the green cups on the top shelf of the cupboard. "
        "A cold wind blew across the open field all afternoon.")


def test_embedded_neural_is_the_default_engine() -> None:
    assert Settings.model_fields["engine"].default == "embedded-neural"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    thread = ServerThread(make_settings(tmp_path_factory.mktemp("neural-data"), engine="embedded-neural"))
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def voice(server: ServerThread) -> Iterator[tuple[Clients, str, str]]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        _, clients = new_tenant(Clients(channel, ADMIN_TOKEN), "Neural tenant")
        consent_id, voice_id = enroll_voice(clients)
        described = clients.voices.GetVoice(voices_pb2.GetVoiceRequest(voice_id=voice_id),
                                            metadata=clients.metadata)
        assert described.engine == "embedded-neural"
        yield clients, voice_id, consent_id


def test_synthesize_speaks_the_words_in_watermarked_22khz_audio(
        server: ServerThread, voice: tuple[Clients, str, str]) -> None:
    clients, voice_id, _ = voice
    reply = clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=TEXT),
                                         metadata=clients.metadata, timeout=300)
    samples, rate = sf.read(io.BytesIO(reply.audio), dtype="float32")
    assert rate == 22_050 == reply.sample_rate_hz and len(samples) > rate * 2
    found = detect(samples, rate, server.running.platform.watermark_keys)
    assert found.detected and found.payload is not None
    assert found.payload.hex() == reply.generation_id
    heard = set(re.sub(r"[^a-z ]+", " ", Transcriber().transcribe(Audio(samples, rate)).lower()).split())
    # Whisper tiny may split a word ("cup board"); most content words must come through.
    content = {"green", "cups", "top", "shelf", "cupboard", "cold", "wind", "blew", "open", "field",
               "afternoon"}
    assert len(content & heard) >= 9, heard


def test_stream_sends_several_chunks_per_sentence(voice: tuple[Clients, str, str]) -> None:
    clients, voice_id, _ = voice
    chunks = list(clients.synthesis.SynthesizeStream(
        synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=TEXT), metadata=clients.metadata, timeout=300))
    assert chunks[-1].final and len({c.generation_id for c in chunks}) == 1
    assert len([c for c in chunks if c.audio]) >= 3
    assert [c.sequence for c in chunks] == list(range(len(chunks)))


def test_mandarin(voice: tuple[Clients, str, str]) -> None:
    clients, voice_id, _ = voice
    reply = clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(
        voice_id=voice_id, text="今天天气很好。", language="cmn"), metadata=clients.metadata, timeout=300)
    samples, _ = sf.read(io.BytesIO(reply.audio), dtype="float32")
    assert reply.duration_seconds > 0.8 and float(np.sqrt(np.mean(samples**2))) > 0.01


def test_revoking_consent_deletes_the_voice(voice: tuple[Clients, str, str]) -> None:
    clients, voice_id, consent_id = voice
    clients.consents.RevokeConsent(consents_pb2.RevokeConsentRequest(consent_id=consent_id),
                                   metadata=clients.metadata)
    with pytest.raises(grpc.RpcError) as caught:
        clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=TEXT),
                                     metadata=clients.metadata, timeout=60)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "was deleted" in (caught.value.details() or "")
