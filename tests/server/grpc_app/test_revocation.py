"""Revocation destroys the voice for good: keys, blobs, caches, running jobs."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest

from server.api.v1 import consents_pb2, synthesis_pb2, voices_pb2
from server.db.models import ConsentRow, VoiceRow
from tenants.consents import PURPOSE_RECORDING
from tenants.voices import PURPOSE_MODEL
from tests.server.grpc_app.conftest import Clients, ServerThread, enroll_voice

LONG_TEXT = " ".join(f"This is sentence number {n} of a long reading that keeps the worker busy." for n in range(25))


def _plaintexts(server: ServerThread, tenant_id: str, consent_id: str, voice_id: str) -> list[bytes]:
    platform = server.running.platform
    with platform.db.transaction(write=False) as session:
        voice = session.get(VoiceRow, voice_id)
        consent = session.get(ConsentRow, consent_id)
        tenant_key = platform.tenants  # noqa: F841 - the vault opens keys itself
        from server.db.models import TenantRow

        wrapped_tenant = session.get(TenantRow, tenant_id).wrapped_key
        voice_key = platform.vault.object_key(tenant_id, wrapped_tenant, voice_id, voice.wrapped_key)
        consent_key = platform.vault.object_key(tenant_id, wrapped_tenant, consent_id, consent.wrapped_key)
        return [platform.vault.get(voice_key, PURPOSE_MODEL, voice.model_blob),
                platform.vault.get(consent_key, PURPOSE_RECORDING, consent.recording_blob)]


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_revocation_leaves_nothing_readable_and_stops_running_jobs(server: ServerThread,
                                                                   tenant: tuple[str, Clients]) -> None:
    tenant_id, clients = tenant
    consent_id, voice_id = enroll_voice(clients)
    secrets = _plaintexts(server, tenant_id, consent_id, voice_id)
    assert all(len(s) > 1000 for s in secrets)
    data_dir = server.running.platform.settings.data_dir
    probes = [s[len(s) // 2: len(s) // 2 + 64] for s in secrets]
    assert any(probe in path.read_bytes() for path in _files(data_dir) for probe in probes) is False
    # What crypto-shredding must remove: the wrapped data keys and the sealed embedding.
    # Each is present in the data directory now, and must be in no file afterwards (the
    # SQLite write-ahead log included).
    with server.running.platform.db.transaction(write=False) as session:
        consent_row = session.get(ConsentRow, consent_id)
        sealed = [session.get(VoiceRow, voice_id).wrapped_key, consent_row.wrapped_key,
                  consent_row.sealed_embedding]
    sealed_probes = [bytes(value)[-32:] for value in sealed]
    assert all(any(probe in path.read_bytes() for path in _files(data_dir)) for probe in sealed_probes)

    stream = clients.synthesis.SynthesizeStream(
        synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=LONG_TEXT), metadata=clients.metadata)
    first = next(stream)
    assert first.sequence == 0
    outcome: dict[str, object] = {}

    def drain() -> None:
        try:
            outcome["chunks"] = sum(1 for _ in stream)
        except grpc.RpcError as error:
            outcome["code"] = error.code()

    reader = threading.Thread(target=drain)
    reader.start()
    reply = clients.consents.RevokeConsent(consents_pb2.RevokeConsentRequest(consent_id=consent_id, reason="test"),
                                           metadata=clients.metadata)
    reader.join(60)
    assert reply.deleted_voice_ids == [voice_id]
    assert outcome.get("code") == grpc.StatusCode.FAILED_PRECONDITION

    with pytest.raises(grpc.RpcError) as caught:
        clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Hello."),
                                     metadata=clients.metadata)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    voice = clients.voices.GetVoice(voices_pb2.GetVoiceRequest(voice_id=voice_id), metadata=clients.metadata)
    assert voice.status == voices_pb2.VOICE_STATUS_DELETED

    platform = server.running.platform
    with platform.db.transaction(write=False) as session:
        assert session.get(VoiceRow, voice_id).wrapped_key is None
        assert session.get(ConsentRow, consent_id).wrapped_key is None
        assert session.get(ConsentRow, consent_id).sealed_embedding is None
    assert not [k for k in platform.vault.blobs.iter_keys("tenants") if voice_id in k or consent_id in k]
    for path in _files(data_dir):
        content = path.read_bytes()
        assert not any(probe in content for probe in probes), f"plaintext found in {path.name}"
        assert not any(probe in content for probe in sealed_probes), f"destroyed key material in {path.name}"
