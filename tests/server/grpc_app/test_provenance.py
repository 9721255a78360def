"""Provenance RPCs: detection after attacks, attribution only for the owner."""

from __future__ import annotations

import io
from pathlib import Path

import av
import grpc
import numpy as np
import pytest
import soundfile as sf

from server.api.v1 import provenance_pb2 as pb
from server.api.v1 import synthesis_pb2
from tests.server.grpc_app.conftest import Clients, EnrolledVoice, fixture_audio, new_tenant

TEXT = ("Provenance matters. Every clip we produce carries a mark that names the generation "
        "that made it, and the mark survives compression and resampling.")


@pytest.fixture(scope="module")
def generated(enrolled: EnrolledVoice) -> synthesis_pb2.SynthesizeResponse:
    return enrolled.clients.synthesis.Synthesize(
        synthesis_pb2.SynthesizeRequest(voice_id=enrolled.voice_id, text=TEXT,
                                        audio_format=synthesis_pb2.AUDIO_FORMAT_WAV),
        metadata=enrolled.clients.metadata)


def _mp3_at_8khz(wav: bytes) -> bytes:
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.bit_rate = 64_000
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def test_owner_gets_attribution_even_after_mp3(enrolled: EnrolledVoice, generated) -> None:  # type: ignore[no-untyped-def]
    reply = enrolled.clients.provenance.DetectWatermark(pb.DetectWatermarkRequest(audio=_mp3_at_8khz(generated.audio)),
                                                        metadata=enrolled.clients.metadata)
    assert reply.detected and reply.confidence > 0.5
    assert reply.generation_id == generated.generation_id
    assert reply.attribution.voice_id == enrolled.voice_id
    assert reply.attribution.duration_seconds == pytest.approx(generated.duration_seconds, abs=0.05)
    import hashlib

    assert reply.attribution.text_sha256 == hashlib.sha256(TEXT.encode()).hexdigest()


def test_a_clip_replayed_faster_is_still_attributed(enrolled: EnrolledVoice, generated) -> None:  # type: ignore[no-untyped-def]
    samples, rate = sf.read(io.BytesIO(generated.audio), dtype="float32")
    faster = io.BytesIO()
    # Played 4 % fast: the same samples declared at a higher rate.
    sf.write(faster, samples, int(rate * 1.04), format="WAV")
    reply = enrolled.clients.provenance.DetectWatermark(pb.DetectWatermarkRequest(audio=faster.getvalue()),
                                                        metadata=enrolled.clients.metadata)
    assert reply.detected and reply.generation_id == generated.generation_id


def test_other_tenants_learn_only_that_a_mark_exists(operator: Clients, generated) -> None:  # type: ignore[no-untyped-def]
    _, other = new_tenant(operator, "Curious other tenant")
    reply = other.provenance.DetectWatermark(pb.DetectWatermarkRequest(audio=generated.audio), metadata=other.metadata)
    assert reply.detected
    assert reply.generation_id == "" and not reply.HasField("attribution")
    with pytest.raises(grpc.RpcError) as caught:
        other.provenance.GetGeneration(pb.GetGenerationRequest(generation_id=generated.generation_id),
                                       metadata=other.metadata)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_real_unmarked_speech_is_not_detected(enrolled: EnrolledVoice) -> None:
    reply = enrolled.clients.provenance.DetectWatermark(
        pb.DetectWatermarkRequest(audio=fixture_audio("enrollment_1998.flac")), metadata=enrolled.clients.metadata)
    assert not reply.detected and reply.generation_id == ""


MALFORMED = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "audio_corpus").glob("*.wav"))


@pytest.mark.parametrize("audio", [b"", b"not audio" * 100] + [p.read_bytes() for p in MALFORMED])
def test_undecodable_input_is_invalid(enrolled: EnrolledVoice, audio: bytes) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        enrolled.clients.provenance.DetectWatermark(pb.DetectWatermarkRequest(audio=audio),
                                                    metadata=enrolled.clients.metadata)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_get_generation_validates_the_id(enrolled: EnrolledVoice, generated) -> None:  # type: ignore[no-untyped-def]
    clients = enrolled.clients
    record = clients.provenance.GetGeneration(pb.GetGenerationRequest(generation_id=generated.generation_id),
                                              metadata=clients.metadata)
    assert record.voice_id == enrolled.voice_id and not record.streamed
    with pytest.raises(grpc.RpcError) as caught:
        clients.provenance.GetGeneration(pb.GetGenerationRequest(generation_id="xyz"), metadata=clients.metadata)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as caught:
        clients.provenance.GetGeneration(pb.GetGenerationRequest(generation_id="0123456789abcdef"),
                                         metadata=clients.metadata)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert np.isfinite(record.duration_seconds)
