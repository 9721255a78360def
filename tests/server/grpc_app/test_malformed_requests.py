"""Bytes that are not the expected protobuf message answer INVALID_ARGUMENT, plainly."""

from __future__ import annotations

import grpc
import pytest

from tests.server.grpc_app.conftest import Clients, EnrolledVoice

# Field 1 announced as a 1,000-byte string, then the message ends: a truncated message.
TRUNCATED = b"\x0a\xe8\x07abc"
# An invalid wire type (7) in the first tag.
BAD_WIRE_TYPE = b"\x0f\x01\x02"


@pytest.mark.parametrize("raw", [TRUNCATED, BAD_WIRE_TYPE])
@pytest.mark.parametrize("method", [
    "/voxguard.v1.Voices/GetVoice",
    "/voxguard.v1.Consents/ListConsents",
    "/voxguard.v1.Provenance/DetectWatermark",
])
def test_unary_methods(enrolled: EnrolledVoice, method: str, raw: bytes) -> None:
    call = enrolled.clients.channel.unary_unary(method)  # bytes in, bytes out
    with pytest.raises(grpc.RpcError) as caught:
        call(raw, metadata=enrolled.clients.metadata, timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = caught.value.details()
    assert "not a valid voxguard.v1." in details
    assert "DecodeError" not in details and "Unexpected" not in details


def test_server_streaming_method(enrolled: EnrolledVoice) -> None:
    call = enrolled.clients.channel.unary_stream("/voxguard.v1.Synthesis/SynthesizeStream")
    with pytest.raises(grpc.RpcError) as caught:
        list(call(TRUNCATED, metadata=enrolled.clients.metadata, timeout=30))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid voxguard.v1.SynthesizeRequest message" in caught.value.details()


def test_client_streaming_enroll(enrolled: EnrolledVoice) -> None:
    call = enrolled.clients.channel.stream_unary("/voxguard.v1.Voices/Enroll")
    with pytest.raises(grpc.RpcError) as caught:
        call(iter([TRUNCATED]), metadata=enrolled.clients.metadata, timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid voxguard.v1.EnrollRequest message" in caught.value.details()


def test_credentials_are_checked_before_the_bytes(operator: Clients) -> None:
    call = operator.channel.unary_unary("/voxguard.v1.Voices/GetVoice")
    with pytest.raises(grpc.RpcError) as caught:
        call(TRUNCATED, timeout=30)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_huge_id_is_refused_without_being_echoed(enrolled: EnrolledVoice) -> None:
    from server.api.v1 import synthesis_pb2, voices_pb2

    huge = "v" * 100_000
    clients = enrolled.clients
    for call, request in [
        (clients.voices.GetVoice, voices_pb2.GetVoiceRequest(voice_id=huge)),
        (clients.synthesis.Synthesize, synthesis_pb2.SynthesizeRequest(voice_id=huge, text="Hi.")),
        (clients.voices.ListVoices, voices_pb2.ListVoicesRequest(page_token=huge)),
    ]:
        with pytest.raises(grpc.RpcError) as caught:
            call(request, metadata=clients.metadata, timeout=30)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        details = caught.value.details()
        assert "longer than" in details and "vvvvvvvvvv" not in details and len(details) < 200


def test_forged_page_tokens_are_invalid(enrolled: EnrolledVoice, operator: Clients) -> None:
    """Crafted cursors (years 1 and 9999 with extreme offsets) once answered INTERNAL."""
    import base64
    import json

    from server.api.v1 import consents_pb2, tenant_admin_pb2, voices_pb2

    forged = [base64.urlsafe_b64encode(json.dumps(c).encode()).decode().rstrip("=")
              for c in (["0001-01-01T00:00:00+14:00", "x"], ["9999-12-31T23:59:59-14:00", "x"],
                        ["2026-01-01T00:00:00", "voice_x"])]
    clients = enrolled.clients
    calls = [
        (clients.consents.ListConsents, consents_pb2.ListConsentsRequest, clients.metadata),
        (clients.voices.ListVoices, voices_pb2.ListVoicesRequest, clients.metadata),
        (operator.admin.ListTenants, tenant_admin_pb2.ListTenantsRequest, operator.metadata),
    ]
    for call, request, metadata in calls:
        for token in forged:
            with pytest.raises(grpc.RpcError) as caught:
                call(request(page_token=token, page_size=1), metadata=metadata, timeout=30)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "page_token is not valid" in caught.value.details()
