"""Two replicas on one PostgreSQL: a revocation on one stops a stream on the other."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from server.api.v1 import consents_pb2, synthesis_pb2
from server.config import Settings
from server.platform import Platform
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

LONG_TEXT = " ".join(f"Sentence {n} keeps this replica busy for a good while." for n in range(30))


@pytest.fixture(scope="module")
def replicas(postgres_server_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, ServerThread, Settings]]:
    data_dir = tmp_path_factory.mktemp("shared-data")  # shared blobs and keys, one database
    with fresh_postgres_database(postgres_server_url) as url:
        first = ServerThread(make_settings(data_dir, database_url=url))
        second = ServerThread(make_settings(data_dir, database_url=url))
        try:
            yield first, second, make_settings(data_dir, database_url=url)
        finally:
            second.stop()
            first.stop()


def _stream_until_error(clients: Clients, voice_id: str, outcome: dict[str, object],
                        started: threading.Event) -> None:
    stream = clients.synthesis.SynthesizeStream(
        synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=LONG_TEXT), metadata=clients.metadata,
        timeout=300)
    try:
        for _ in stream:
            started.set()
        outcome["finished"] = True
    except grpc.RpcError as error:
        outcome["code"] = error.code()
        outcome["at"] = time.monotonic()
    started.set()


def test_revocation_on_one_replica_stops_a_stream_on_the_other(replicas) -> None:  # type: ignore[no-untyped-def]
    first, second, _ = replicas
    with grpc.insecure_channel(f"127.0.0.1:{first.port}") as one, \
            grpc.insecure_channel(f"127.0.0.1:{second.port}") as two:
        _tenant_id, on_first = new_tenant(Clients(one, ADMIN_TOKEN), "Replicated")
        consent_id, voice_id = enroll_voice(on_first)
        on_second = Clients(two, on_first.token)
        outcome: dict[str, object] = {}
        started = threading.Event()
        runner = threading.Thread(target=_stream_until_error,
                                  args=(on_second, voice_id, outcome, started))
        runner.start()
        assert started.wait(120) and "code" not in outcome
        revoked_at = time.monotonic()
        on_first.consents.RevokeConsent(consents_pb2.RevokeConsentRequest(
            consent_id=consent_id, reason="stop everywhere"), metadata=on_first.metadata)
        runner.join(60)
        assert outcome.get("code") == grpc.StatusCode.FAILED_PRECONDITION, outcome
        assert float(outcome["at"]) - revoked_at < 1.0  # type: ignore[arg-type]


def test_an_offline_tenant_deletion_reaches_live_replicas(replicas) -> None:  # type: ignore[no-untyped-def]
    _first, second, settings = replicas
    with grpc.insecure_channel(f"127.0.0.1:{second.port}") as two:
        tenant_id, clients = new_tenant(Clients(two, ADMIN_TOKEN), "Deleted offline")
        _, voice_id = enroll_voice(clients)
        outcome: dict[str, object] = {}
        started = threading.Event()
        runner = threading.Thread(target=_stream_until_error, args=(clients, voice_id, outcome, started))
        runner.start()
        assert started.wait(120)
        offline = Platform.open(settings)  # what `voxguard admin tenant delete` opens
        try:
            deleted_at = time.monotonic()
            offline.tenants.delete(tenant_id)
        finally:
            offline.db.dispose()
        runner.join(60)
        assert outcome.get("code") in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNAVAILABLE,
                                       grpc.StatusCode.UNAUTHENTICATED), outcome
        assert float(outcome["at"]) - deleted_at < 1.0  # type: ignore[arg-type]
