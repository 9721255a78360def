"""Consents RPCs: the statement, recording checks, listing and revocation receipts."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import grpc
import numpy as np
import pytest
import soundfile as sf
from google.protobuf.timestamp_pb2 import Timestamp

from server.api.v1 import consents_pb2 as pb
from server.crypto.receipts import InvalidReceipt, verify_receipt
from tests.server.grpc_app.conftest import Clients, fixture_audio


def _start(clients: Clients, subject: str = "Grace Hopper", **kwargs: object) -> pb.Consent:
    request = pb.StartConsentRequest(subject_name=subject, purposes=[pb.PURPOSE_SYNTHESIS], **kwargs)
    return clients.consents.StartConsent(request, metadata=clients.metadata)


def _record(clients: Clients, consent_id: str, audio: bytes) -> pb.Consent:
    return clients.consents.SubmitConsentRecording(
        pb.SubmitConsentRecordingRequest(consent_id=consent_id, audio=audio), metadata=clients.metadata)


def _wav(samples: np.ndarray, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def test_statement_names_person_and_tenant_and_carries_a_fresh_phrase(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    first, second = _start(clients), _start(clients)
    assert first.status == pb.CONSENT_STATUS_PENDING_RECORDING
    assert "Grace Hopper" in first.statement_text and "Tenant" in first.statement_text
    assert len(first.one_time_phrase.split()) >= 3
    assert all(word in first.statement_text for word in first.one_time_phrase.split())
    assert first.one_time_phrase != second.one_time_phrase
    assert first.recording_deadline.seconds > first.created_at.seconds


@pytest.mark.parametrize("subject,purposes", [("", [pb.PURPOSE_SYNTHESIS]), ("A" * 201, [pb.PURPOSE_SYNTHESIS]),
                                              ("Someone", []), ("Someone", [pb.PURPOSE_UNSPECIFIED])])
def test_bad_start_requests_are_invalid(tenant: tuple[str, Clients], subject: str, purposes: list[int]) -> None:
    _, clients = tenant
    with pytest.raises(grpc.RpcError) as caught:
        clients.consents.StartConsent(pb.StartConsentRequest(subject_name=subject, purposes=purposes),
                                      metadata=clients.metadata)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_statement_names_only_the_purposes_consented_to(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    consent = clients.consents.StartConsent(
        pb.StartConsentRequest(subject_name="Eve Valuator", purposes=[pb.PURPOSE_EVALUATION]),
        metadata=clients.metadata)
    assert "evaluate how well speech technology works with my voice" in consent.statement_text
    assert "synthetic copy" not in consent.statement_text


def test_expiry_in_the_past_is_invalid(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    past = Timestamp()
    past.FromDatetime(datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(grpc.RpcError) as caught:
        _start(clients, expires_at=past)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "expires_at" in caught.value.details()


def test_recording_activates_the_consent_once(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    consent = _start(clients)
    active = _record(clients, consent.consent_id, fixture_audio("consent_1998.flac"))
    assert active.status == pb.CONSENT_STATUS_ACTIVE and active.activated_at.seconds > 0
    with pytest.raises(grpc.RpcError) as caught:
        _record(clients, consent.consent_id, fixture_audio("consent_1998.flac"))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    "audio,expected",
    [
        (b"", "empty"),
        (b"\x00\x01garbage" * 300, "could not be decoded"),
        (_wav(np.zeros(16_000 * 5, dtype=np.float32)), "silent"),
        (_wav(np.full(16_000 * 5, np.nan, dtype=np.float32)), "NaN"),
    ],
)
def test_bad_recordings_are_invalid_and_leave_the_consent_pending(
    tenant: tuple[str, Clients], audio: bytes, expected: str
) -> None:
    _, clients = tenant
    consent = _start(clients)
    with pytest.raises(grpc.RpcError) as caught:
        _record(clients, consent.consent_id, audio)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected.lower() in caught.value.details().lower()
    again = clients.consents.GetConsent(pb.GetConsentRequest(consent_id=consent.consent_id), metadata=clients.metadata)
    assert again.status == pb.CONSENT_STATUS_PENDING_RECORDING


def test_too_short_and_too_long_recordings_say_by_how_much(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    speech, rate = sf.read(io.BytesIO(fixture_audio("consent_1998.flac")), dtype="float32")
    short = _wav(speech[: rate], rate)
    long = _wav(np.tile(speech, 25), rate)
    for audio, word in ((short, "3"), (long, "60")):
        consent = _start(clients)
        with pytest.raises(grpc.RpcError) as caught:
            _record(clients, consent.consent_id, audio)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert word in caught.value.details()


def test_list_pages_newest_first(tenant: tuple[str, Clients]) -> None:
    _, clients = tenant
    ids = [_start(clients, f"Person {i}").consent_id for i in range(3)]
    first = clients.consents.ListConsents(pb.ListConsentsRequest(page_size=2), metadata=clients.metadata)
    second = clients.consents.ListConsents(pb.ListConsentsRequest(page_size=2, page_token=first.next_page_token),
                                           metadata=clients.metadata)
    listed = [c.consent_id for c in first.consents] + [c.consent_id for c in second.consents]
    assert listed == list(reversed(ids))
    assert second.next_page_token == ""


def test_revocation_returns_a_receipt_signed_by_the_server(tenant: tuple[str, Clients], server) -> None:  # type: ignore[no-untyped-def]
    _, clients = tenant
    consent = _start(clients)
    _record(clients, consent.consent_id, fixture_audio("consent_1998.flac"))
    reply = clients.consents.RevokeConsent(pb.RevokeConsentRequest(consent_id=consent.consent_id, reason="asked"),
                                           metadata=clients.metadata)
    assert reply.consent.status == pb.CONSENT_STATUS_REVOKED and reply.consent.revocation_reason == "asked"
    signer = server.running.platform.signer
    from server.crypto.receipts import SignedReceipt

    verified = verify_receipt(SignedReceipt(reply.receipt.payload_json, reply.receipt.signature), signer.public_key)
    assert consent.consent_id in verified.fields["consent_ids"]
    assert json.loads(reply.receipt.payload_json)["fields"]["receipt_id"] == reply.receipt.receipt_id
    tampered = bytearray(reply.receipt.payload_json)
    tampered[-3] ^= 1
    with pytest.raises(InvalidReceipt):
        verify_receipt(SignedReceipt(bytes(tampered), reply.receipt.signature), signer.public_key)
    # Revoking again is idempotent: the very same receipt, and no second audit event.
    platform = server.running.platform
    events_before = len([e for e in platform.audit.events(platform.db) if e["kind"] == "consent.revoked"])
    again = clients.consents.RevokeConsent(pb.RevokeConsentRequest(consent_id=consent.consent_id, reason="again"),
                                           metadata=clients.metadata)
    assert again.receipt == reply.receipt
    assert again.consent.revocation_reason == "asked"
    events_after = len([e for e in platform.audit.events(platform.db) if e["kind"] == "consent.revoked"])
    assert events_after == events_before


def test_malformed_wav_recordings_are_invalid(tenant: tuple[str, Clients]) -> None:
    """Five WAV variants that libsndfile refuses once crashed the fallback decoder (INTERNAL)."""
    from pathlib import Path

    _, clients = tenant
    corpus = Path(__file__).resolve().parents[2] / "fixtures" / "audio_corpus"
    consent = _start(clients)
    for path in sorted(corpus.glob("*.wav")):
        with pytest.raises(grpc.RpcError) as caught:
            _record(clients, consent.consent_id, path.read_bytes())
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, path.name
