"""Every INVALID_ARGUMENT about one field names it in a ``google.rpc.BadRequest``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from server.api.v1 import consents_pb2, provenance_pb2, synthesis_pb2, voices_pb2
from server.grpc_app.errors import decode_status_details
from tests.server.grpc_app.conftest import EnrolledVoice, enroll_messages, fixture_audio

Call = Callable[[EnrolledVoice], Any]


def _synthesize(**fields: Any) -> Call:
    def call(enrolled: EnrolledVoice) -> Any:
        request = synthesis_pb2.SynthesizeRequest(voice_id=enrolled.voice_id, **fields)
        return enrolled.clients.synthesis.Synthesize(request, metadata=enrolled.clients.metadata,
                                                     timeout=60)
    return call


def _enroll(**metadata: Any) -> Call:
    def call(enrolled: EnrolledVoice) -> Any:
        return enrolled.clients.voices.Enroll(
            enroll_messages(enrolled.consent_id, fixture_audio("enrollment_1998.flac"), **metadata),
            metadata=enrolled.clients.metadata, timeout=60)
    return call


def _start_consent(enrolled: EnrolledVoice) -> Any:
    request = consents_pb2.StartConsentRequest(subject_name="",
                                               purposes=[consents_pb2.PURPOSE_SYNTHESIS])
    return enrolled.clients.consents.StartConsent(request, metadata=enrolled.clients.metadata)


def _list_voices(enrolled: EnrolledVoice) -> Any:
    return enrolled.clients.voices.ListVoices(voices_pb2.ListVoicesRequest(page_size=5000),
                                              metadata=enrolled.clients.metadata)


def _list_with_foreign_token(enrolled: EnrolledVoice) -> Any:
    request = voices_pb2.ListVoicesRequest(page_token="not-a-token")
    return enrolled.clients.voices.ListVoices(request, metadata=enrolled.clients.metadata)


def _detect(enrolled: EnrolledVoice) -> Any:
    request = provenance_pb2.DetectWatermarkRequest(audio=b"not audio at all" * 64)
    return enrolled.clients.provenance.DetectWatermark(request, metadata=enrolled.clients.metadata)


def _get_generation(enrolled: EnrolledVoice) -> Any:
    request = provenance_pb2.GetGenerationRequest(generation_id="xyz")
    return enrolled.clients.provenance.GetGeneration(request, metadata=enrolled.clients.metadata)


CASES: list[tuple[str, Call, str]] = [
    ("speed", _synthesize(text="Hello there.", speed=7.0), "speed"),
    ("empty text", _synthesize(text="   "), "text"),
    ("unspeakable text", _synthesize(text="?!"), "text"),
    ("language", _synthesize(text="Hello there.", language="tlh"), "language"),
    ("sample rate", _synthesize(text="Hello there.", sample_rate_hz=12345), "sample_rate_hz"),
    ("top_k", _synthesize(text="Hello there.", top_k=500), "top_k"),
    ("audio format", _synthesize(text="Hello there.", audio_format=99), "audio_format"),
    ("display name", _enroll(name=""), "metadata.display_name"),
    ("enroll language", _enroll(language="x y"), "metadata.language"),
    ("subject name", _start_consent, "subject_name"),
    ("page size", _list_voices, "page_size"),
    ("page token", _list_with_foreign_token, "page_token"),
    ("detect audio", _detect, "audio"),
    ("generation id", _get_generation, "generation_id"),
]


@pytest.mark.parametrize(("call", "field"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_the_bad_field_is_named(enrolled: EnrolledVoice, call: Call, field: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(enrolled)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    details = decode_status_details(caught.value)
    assert details is not None
    assert details["field_violations"] == [field]
    assert "field" not in details["metadata"]  # BadRequest carries it, once
