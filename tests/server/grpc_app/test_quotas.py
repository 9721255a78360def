"""Per-tenant rate limits and the request size limit, end to end on a small server."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from server.api.v1 import consents_pb2, provenance_pb2
from server.grpc_app.errors import decode_status_details
from tests.server.grpc_app.conftest import (
    ADMIN_TOKEN,
    Clients,
    ServerThread,
    make_settings,
    new_tenant,
)

BURST = 5


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    # One request a minute after a burst of BURST: the bucket cannot refill during the test.
    thread = ServerThread(make_settings(tmp_path_factory.mktemp("strict"), rate_limit_per_minute=1,
                                        rate_limit_burst=BURST, max_request_bytes=4096))
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def operator(strict_server: ServerThread) -> Iterator[Clients]:
    with grpc.insecure_channel(f"127.0.0.1:{strict_server.running.port}") as channel:
        yield Clients(channel, ADMIN_TOKEN)


def _list(clients: Clients) -> consents_pb2.ListConsentsResponse:
    return clients.consents.ListConsents(consents_pb2.ListConsentsRequest(), metadata=clients.metadata)


def test_a_tenant_over_its_rate_is_told_when_to_retry_and_others_are_unaffected(operator: Clients) -> None:
    _, busy = new_tenant(operator, "Busy tenant")
    _, quiet = new_tenant(operator, "Quiet tenant")
    for _ in range(BURST):
        _list(busy)
    with pytest.raises(grpc.RpcError) as caught:
        _list(busy)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "rate limit" in caught.value.details()
    retry_after = decode_status_details(caught.value)["retry_after_seconds"]
    assert 0 < retry_after <= 60
    assert _list(quiet).consents == []


def test_a_request_over_the_size_limit_is_refused(operator: Clients) -> None:
    _, clients = new_tenant(operator, "Large uploads")
    with pytest.raises(grpc.RpcError) as caught:
        clients.provenance.DetectWatermark(provenance_pb2.DetectWatermarkRequest(audio=b"\0" * 8192),
                                           metadata=clients.metadata)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in caught.value.details()
