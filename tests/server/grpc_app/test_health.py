"""Health follows the worker pool and the database; reflection answers v1 and v1alpha."""

from __future__ import annotations

import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from server.db.session import Database
from server.grpc_app.health_monitor import database_answers
from tests.server.grpc_app.conftest import ServerThread, make_settings

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_lists_the_services_in_both_versions(channel: grpc.Channel, version: str) -> None:
    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    replies = list(call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=30))
    names = {s.name for s in replies[0].list_services_response.service}
    assert {"voxguard.v1.Synthesis", "voxguard.v1.Voices", "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection"} <= names
    files = list(call(iter([reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="voxguard.v1.Synthesis")]), timeout=30))
    assert files[0].file_descriptor_response.file_descriptor_proto


def _status(stub: health_pb2_grpc.HealthStub, service: str) -> int:
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status


def _wait_for(stub: health_pb2_grpc.HealthStub, service: str, status: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _status(stub, service) == status:
            return True
        time.sleep(0.1)
    return False


def test_health_is_not_serving_without_live_workers(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = ServerThread(make_settings(tmp_path_factory.mktemp("health")))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            assert _wait_for(stub, "", SERVING)
            synthesis = server.running.platform.synthesis
            assert synthesis is not None
            server.call(synthesis.stop())  # every worker gone (as if they all crashed for good)
            assert _wait_for(stub, "", NOT_SERVING, seconds=5)
            assert _status(stub, "voxguard.v1.Synthesis") == NOT_SERVING
            # what needs no worker still serves
            assert _status(stub, "voxguard.v1.Consents") == SERVING
    finally:
        server.stop()


def test_the_database_check_sees_an_unreachable_database(sqlite_url: str) -> None:
    assert database_answers(Database(sqlite_url))
    unreachable = Database("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    assert not database_answers(unreachable)


def test_watch_streams_each_change_of_the_overall_status(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    # The port is bound before the worker loads its engine: NOT_SERVING, then SERVING once it
    # is ready, then NOT_SERVING again when the workers are gone.
    server = ServerThread(make_settings(tmp_path_factory.mktemp("watch")), wait_ready=False)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            updates = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=120)
            assert next(updates).status == NOT_SERVING
            assert next(updates).status == SERVING
            synthesis = server.running.platform.synthesis
            assert synthesis is not None and synthesis.ready_workers == 1
            server.call(synthesis.stop())
            assert next(updates).status == NOT_SERVING
            updates.cancel()
    finally:
        server.stop()
