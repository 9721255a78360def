"""Voices RPCs: enrollment under consent, speaker checks, audio checks, management."""

from __future__ import annotations

import io
import json
from pathlib import Path

import grpc
import numpy as np
import pytest
import soundfile as sf

from server.api.v1 import consents_pb2, voices_pb2
from server.grpc_app.errors import decode_status_details
from tests.server.grpc_app.conftest import (
    Clients,
    EnrolledVoice,
    enroll_messages,
    enroll_voice,
    fixture_audio,
)


def _active_consent(clients: Clients, purposes: list[int] | None = None) -> str:
    consent = clients.consents.StartConsent(
        consents_pb2.StartConsentRequest(subject_name="Ada Example",
                                         purposes=purposes or [consents_pb2.PURPOSE_SYNTHESIS]),
        metadata=clients.metadata)
    clients.consents.SubmitConsentRecording(
        consents_pb2.SubmitConsentRecordingRequest(consent_id=consent.consent_id,
                                                   audio=fixture_audio("consent_1998.flac")),
        metadata=clients.metadata)
    return consent.consent_id


def _enroll_error(clients: Clients, messages) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        clients.voices.Enroll(messages, metadata=clients.metadata)
    return caught.value


def test_enrolled_voice_reports_quality_and_is_listed(enrolled: EnrolledVoice) -> None:
    clients = enrolled.clients
    voice = clients.voices.GetVoice(voices_pb2.GetVoiceRequest(voice_id=enrolled.voice_id), metadata=clients.metadata)
    assert voice.status == voices_pb2.VOICE_STATUS_READY and voice.consent_id == enrolled.consent_id
    assert voice.quality.speech_seconds >= 20 and voice.quality.snr_db > 15
    assert voice.quality.speaker_match > 0.8
    assert voice.engine == "embedded" and voice.language == "en"
    listed = clients.voices.ListVoices(voices_pb2.ListVoicesRequest(), metadata=clients.metadata)
    assert enrolled.voice_id in [v.voice_id for v in listed.voices]


def test_impostor_is_refused_with_the_score(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    consent_id = _active_consent(clients)
    enrollment, rate = sf.read(io.BytesIO(fixture_audio("enrollment_1998.flac")), dtype="float32")
    impostor, _ = sf.read(io.BytesIO(fixture_audio("impostor_2414.flac")), dtype="float32")
    mixed = np.concatenate([impostor] * 8)
    buffer = io.BytesIO()
    sf.write(buffer, mixed, rate, format="FLAC")
    error = _enroll_error(clients, enroll_messages(consent_id, buffer.getvalue()))
    assert error.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT)
    if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
        details = decode_status_details(error)
        assert details["reason"] == "FAILED_PRECONDITION" and details["domain"] == "voxguard.dev"
        assert details["metadata"]["speaker_match"] < details["metadata"]["threshold"]
    assert len(enrollment) > 0


def test_enrollment_needs_an_active_consent_with_synthesis(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    audio = fixture_audio("enrollment_1998.flac")
    pending = clients.consents.StartConsent(
        consents_pb2.StartConsentRequest(subject_name="P", purposes=[consents_pb2.PURPOSE_SYNTHESIS]),
        metadata=clients.metadata)
    error = _enroll_error(clients, enroll_messages(pending.consent_id, audio))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "active" in error.details()
    evaluation_only = _active_consent(clients, [consents_pb2.PURPOSE_EVALUATION])
    error = _enroll_error(clients, enroll_messages(evaluation_only, audio))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "PURPOSE_SYNTHESIS" in error.details()
    error = _enroll_error(clients, enroll_messages("consent_missing", audio))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_stream_shape_and_metadata_are_checked(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    consent_id = _active_consent(clients)
    only_audio = iter([voices_pb2.EnrollRequest(audio_chunk=b"abc")])
    assert _enroll_error(clients, only_audio).code() == grpc.StatusCode.INVALID_ARGUMENT
    no_audio = iter(list(enroll_messages(consent_id, b""))[:1])
    assert "no audio" in _enroll_error(clients, no_audio).details()
    bad_language = enroll_messages(consent_id, b"x", language="klingon")
    assert _enroll_error(clients, bad_language).code() == grpc.StatusCode.INVALID_ARGUMENT
    empty_name = enroll_messages(consent_id, b"x", name=" ")
    assert "display_name" in _enroll_error(clients, empty_name).details()
    long_transcript = enroll_messages(consent_id, b"x", transcript="word " * 1001)
    error = _enroll_error(clients, long_transcript)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "transcript is longer than 5,000 characters" in error.details()


def test_short_and_garbage_enrollment_audio_is_invalid(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    consent_id = _active_consent(clients)
    error = _enroll_error(clients, enroll_messages(consent_id, fixture_audio("consent_1998.flac")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "20" in error.details()
    error = _enroll_error(clients, enroll_messages(consent_id, b"RIFF....WAVEfmt " + b"\x07" * 5000))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    corpus = Path(__file__).resolve().parents[2] / "fixtures" / "audio_corpus"
    for path in sorted(corpus.glob("*.wav")):
        error = _enroll_error(clients, enroll_messages(consent_id, path.read_bytes()))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, path.name


def test_over_five_minutes_is_refused(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    consent_id = _active_consent(clients)
    speech, rate = sf.read(io.BytesIO(fixture_audio("enrollment_1998.flac")), dtype="float32")
    long = np.tile(speech, int(310 / (len(speech) / rate)) + 1)
    buffer = io.BytesIO()
    sf.write(buffer, long, rate, format="FLAC")
    error = _enroll_error(clients, enroll_messages(consent_id, buffer.getvalue()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "300" in error.details()


def test_delete_voice_is_permanent_and_idempotent(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    _, voice_id = enroll_voice(clients)
    reply = clients.voices.DeleteVoice(voices_pb2.DeleteVoiceRequest(voice_id=voice_id), metadata=clients.metadata)
    assert reply.voice.status == voices_pb2.VOICE_STATUS_DELETED and reply.receipt.signature
    again = clients.voices.DeleteVoice(voices_pb2.DeleteVoiceRequest(voice_id=voice_id), metadata=clients.metadata)
    assert again.voice.status == voices_pb2.VOICE_STATUS_DELETED
    # The first receipt records the destruction; a repeat says the key was already gone.
    first = json.loads(reply.receipt.payload_json)["fields"]
    repeat = json.loads(again.receipt.payload_json)["fields"]
    assert first["destroyed_keys"] == [f"voice:{voice_id}"] and first["already_destroyed_keys"] == []
    assert repeat["destroyed_keys"] == [] and repeat["already_destroyed_keys"] == [f"voice:{voice_id}"]
    live = clients.voices.ListVoices(voices_pb2.ListVoicesRequest(), metadata=clients.metadata)
    assert voice_id not in [v.voice_id for v in live.voices]
    everything = clients.voices.ListVoices(voices_pb2.ListVoicesRequest(include_deleted=True),
                                           metadata=clients.metadata)
    assert voice_id in [v.voice_id for v in everything.voices]
