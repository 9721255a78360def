"""Tenant isolation: another tenant's ids answer exactly like ids that never existed."""

from __future__ import annotations

import grpc
import pytest

from server.api.v1 import consents_pb2, provenance_pb2, synthesis_pb2, voices_pb2
from tests.server.grpc_app.conftest import (
    Clients,
    EnrolledVoice,
    enroll_messages,
    fixture_audio,
    new_tenant,
)


def _failure(call) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code(), caught.value.details()


def test_every_tenant_rpc_hides_other_tenants_objects(operator: Clients, enrolled: EnrolledVoice) -> None:
    owner = enrolled.clients
    generation = owner.synthesis.Synthesize(
        synthesis_pb2.SynthesizeRequest(voice_id=enrolled.voice_id, text="Isolation check."), metadata=owner.metadata)
    _, other = new_tenant(operator, "Isolation probe")
    md = other.metadata
    ids = {"consent": enrolled.consent_id, "voice": enrolled.voice_id, "generation": generation.generation_id}
    unknown = {"consent": "consent_" + "z" * 20, "voice": "voice_" + "z" * 20, "generation": "fedcba9876543210"}

    def calls(which: dict[str, str]):  # type: ignore[no-untyped-def]
        return [
            lambda: other.consents.GetConsent(consents_pb2.GetConsentRequest(consent_id=which["consent"]), metadata=md),
            lambda: other.consents.SubmitConsentRecording(consents_pb2.SubmitConsentRecordingRequest(
                consent_id=which["consent"], audio=fixture_audio("consent_1998.flac")), metadata=md),
            lambda: other.consents.RevokeConsent(consents_pb2.RevokeConsentRequest(consent_id=which["consent"]),
                                                 metadata=md),
            lambda: other.voices.Enroll(enroll_messages(which["consent"], fixture_audio("enrollment_1998.flac")),
                                        metadata=md),
            lambda: other.voices.GetVoice(voices_pb2.GetVoiceRequest(voice_id=which["voice"]), metadata=md),
            lambda: other.voices.DeleteVoice(voices_pb2.DeleteVoiceRequest(voice_id=which["voice"]), metadata=md),
            lambda: other.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=which["voice"], text="Hi."),
                                               metadata=md),
            lambda: list(other.synthesis.SynthesizeStream(
                synthesis_pb2.SynthesizeRequest(voice_id=which["voice"], text="Hi."), metadata=md)),
            lambda: other.provenance.GetGeneration(
                provenance_pb2.GetGenerationRequest(generation_id=which["generation"]), metadata=md),
        ]

    for theirs, never in zip(calls(ids), calls(unknown), strict=True):
        code_theirs, details_theirs = _failure(theirs)
        code_never, details_never = _failure(never)
        assert code_theirs == code_never == grpc.StatusCode.NOT_FOUND
        for kind, value in ids.items():
            details_theirs = details_theirs.replace(value, "<id>")
            details_never = details_never.replace(unknown[kind], "<id>")
        assert details_theirs == details_never
    assert not other.consents.ListConsents(consents_pb2.ListConsentsRequest(), metadata=md).consents
    assert not other.voices.ListVoices(voices_pb2.ListVoicesRequest(include_deleted=True), metadata=md).voices
    still = owner.voices.GetVoice(voices_pb2.GetVoiceRequest(voice_id=enrolled.voice_id), metadata=owner.metadata)
    assert still.status == voices_pb2.VOICE_STATUS_READY
