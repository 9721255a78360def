"""Synthesis RPCs: formats, streaming, watermarking of every output, validation."""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest

from server.api.v1 import provenance_pb2
from server.api.v1 import synthesis_pb2 as pb
from server.audio import decode_audio
from server.watermark import detect
from tests.server.grpc_app.conftest import EnrolledVoice, ServerThread

TEXT = "The quick brown fox jumps over the lazy dog. Then it rests in the warm afternoon sun."


def _synthesize(enrolled: EnrolledVoice, **kwargs: object) -> pb.SynthesizeResponse:
    request = pb.SynthesizeRequest(voice_id=enrolled.voice_id, text=kwargs.pop("text", TEXT), **kwargs)
    return enrolled.clients.synthesis.Synthesize(request, metadata=enrolled.clients.metadata)


@pytest.mark.parametrize("fmt", [pb.AUDIO_FORMAT_WAV, pb.AUDIO_FORMAT_FLAC, pb.AUDIO_FORMAT_OGG_OPUS, pb.AUDIO_FORMAT_MP3])
def test_every_format_decodes_and_carries_the_generation_watermark(
    enrolled: EnrolledVoice, server: ServerThread, fmt: int
) -> None:
    reply = _synthesize(enrolled, audio_format=fmt)
    audio = decode_audio(reply.audio)
    assert reply.duration_seconds > 2.0 and len(reply.generation_id) == 16
    assert abs(audio.duration_seconds - reply.duration_seconds) < 0.2
    found = detect(audio.samples, audio.sample_rate, server.running.platform.watermark_keys)
    assert found.detected and found.payload is not None and found.payload.hex() == reply.generation_id


def test_pcm16_output_and_requested_rate_and_speed(enrolled: EnrolledVoice) -> None:
    normal = _synthesize(enrolled, audio_format=pb.AUDIO_FORMAT_PCM16, sample_rate_hz=16_000)
    assert normal.sample_rate_hz == 16_000
    samples = np.frombuffer(normal.audio, "<i2")
    assert len(samples) / 16_000 == pytest.approx(normal.duration_seconds, abs=0.01)
    fast = _synthesize(enrolled, audio_format=pb.AUDIO_FORMAT_PCM16, sample_rate_hz=16_000, speed=1.5)
    assert fast.duration_seconds < normal.duration_seconds * 0.85


def test_the_generation_records_the_rate_that_was_delivered(enrolled: EnrolledVoice) -> None:
    # Ogg Opus has no 22.05 kHz mode: the audio is delivered at 24 kHz, and recorded so.
    reply = _synthesize(enrolled, audio_format=pb.AUDIO_FORMAT_OGG_OPUS, sample_rate_hz=22_050)
    assert reply.sample_rate_hz == 24_000
    generation = enrolled.clients.provenance.GetGeneration(
        provenance_pb2.GetGenerationRequest(generation_id=reply.generation_id), metadata=enrolled.clients.metadata)
    assert generation.sample_rate_hz == 24_000
    assert generation.duration_seconds == pytest.approx(reply.duration_seconds, abs=0.01)


def test_stream_sends_ordered_chunks_with_one_generation_id(enrolled: EnrolledVoice, server: ServerThread) -> None:
    chunks = list(enrolled.clients.synthesis.SynthesizeStream(
        pb.SynthesizeRequest(voice_id=enrolled.voice_id, text=TEXT), metadata=enrolled.clients.metadata))
    assert [c.sequence for c in chunks] == list(range(len(chunks)))
    assert len(chunks) >= 2 and chunks[-1].final and not any(c.final for c in chunks[:-1])
    assert len({c.generation_id for c in chunks}) == 1
    pcm = np.frombuffer(b"".join(c.audio for c in chunks), "<i2").astype(np.float32) / 32767
    found = detect(pcm, chunks[0].sample_rate_hz, server.running.platform.watermark_keys)
    assert found.detected and found.payload.hex() == chunks[0].generation_id
    generation = enrolled.clients.provenance.GetGeneration(
        provenance_pb2.GetGenerationRequest(generation_id=chunks[0].generation_id), metadata=enrolled.clients.metadata)
    assert generation.streamed and generation.duration_seconds == pytest.approx(len(pcm) / chunks[0].sample_rate_hz, abs=0.01)


def test_the_first_chunk_arrives_long_before_the_last(enrolled: EnrolledVoice) -> None:
    # Ten sentences are rendered one after another; a stream that waited for the whole text
    # would deliver its first chunk at about the same time as its last.
    text = " ".join(f"Sentence number {n} of a longer reading goes here." for n in range(10))
    started = time.monotonic()
    arrivals = [time.monotonic() - started for _ in enrolled.clients.synthesis.SynthesizeStream(
        pb.SynthesizeRequest(voice_id=enrolled.voice_id, text=text), metadata=enrolled.clients.metadata)]
    assert len(arrivals) >= 10
    assert arrivals[0] < 0.5 * arrivals[-1], arrivals


def test_mixed_chinese_and_english_in_a_chinese_region_tag(enrolled: EnrolledVoice, server: ServerThread) -> None:
    # Users mix Chinese and English; "zh-CN" is spoken with the Mandarin voice.
    reply = _synthesize(enrolled, text="今天我们用iPhone打电话。会议在下午三点开始，请准时到达。", language="zh-CN")
    audio = decode_audio(reply.audio)
    assert reply.duration_seconds > 2.0
    found = detect(audio.samples, audio.sample_rate, server.running.platform.watermark_keys)
    assert found.detected and found.payload is not None and found.payload.hex() == reply.generation_id


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"text": ""}, "text is empty"),
        ({"text": "x" * 2001}, "at most 2000"),
        ({"speed": 3.0}, "speed"),
        ({"sample_rate_hz": 12345}, "sample_rate_hz"),
        ({"audio_format": 42}, "audio_format"),
        ({"language": "xx"}, "language"),
        ({"top_k": 0}, "top_k 0 is out of range"),
        ({"top_p": 1.5}, "top_p"),
        ({"temperature": 0.0}, "temperature"),
        ({"repetition_penalty": 5.0}, "repetition_penalty"),
        ({"text_split": "cut9"}, "text_split 'cut9' is unknown"),
        # valid values the embedded engine cannot honour are refused, not ignored
        ({"top_k": 5, "seed": 7}, "engine 'embedded' cannot honour top_k, seed"),
        ({"text_split": "cut5"}, "cannot honour text_split"),
    ],
)
def test_bad_requests_are_invalid(enrolled: EnrolledVoice, changes: dict, expected: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _synthesize(enrolled, **changes)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in caught.value.details()


def test_unknown_voice_is_not_found(enrolled: EnrolledVoice) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        enrolled.clients.synthesis.Synthesize(pb.SynthesizeRequest(voice_id="voice_unknown", text="Hello."),
                                              metadata=enrolled.clients.metadata)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
