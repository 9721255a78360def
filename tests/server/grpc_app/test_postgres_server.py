"""The whole story through a real server whose database is PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from server.api.v1 import consents_pb2, provenance_pb2, synthesis_pb2, voices_pb2
from tests.conftest import fresh_postgres_database
from tests.server.grpc_app.conftest import (
    ADMIN_TOKEN,
    Clients,
    ServerThread,
    enroll_voice,
    make_settings,
    new_tenant,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres_server(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with fresh_postgres_database(postgres_server_url) as url:
        thread = ServerThread(make_settings(tmp_path_factory.mktemp("pg-data"), database_url=url))
        try:
            yield thread
        finally:
            thread.stop()


def test_story_and_isolation_on_postgresql(postgres_server: ServerThread) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{postgres_server.running.port}") as channel:
        operator = Clients(channel, ADMIN_TOKEN)
        _, clients = new_tenant(operator, "Postgres tenant")
        _, other = new_tenant(operator, "Other tenant")
        consent_id, voice_id = enroll_voice(clients)
        spoken = clients.synthesis.Synthesize(
            synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Stored in PostgreSQL. Spoken on the CPU."),
            metadata=clients.metadata)
        found = clients.provenance.DetectWatermark(provenance_pb2.DetectWatermarkRequest(audio=spoken.audio),
                                                   metadata=clients.metadata)
        assert found.detected and found.generation_id == spoken.generation_id
        assert found.attribution.voice_id == voice_id

        with pytest.raises(grpc.RpcError) as caught:
            other.voices.GetVoice(voices_pb2.GetVoiceRequest(voice_id=voice_id), metadata=other.metadata)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND

        revoked = clients.consents.RevokeConsent(consents_pb2.RevokeConsentRequest(consent_id=consent_id),
                                                 metadata=clients.metadata)
        assert list(revoked.deleted_voice_ids) == [voice_id]
        with pytest.raises(grpc.RpcError) as caught:
            clients.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Gone."),
                                         metadata=clients.metadata)
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        again = clients.provenance.GetGeneration(
            provenance_pb2.GetGenerationRequest(generation_id=spoken.generation_id), metadata=clients.metadata)
        assert again.generation_id == spoken.generation_id
