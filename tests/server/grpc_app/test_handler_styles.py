"""Both interceptors serve streaming handlers written either way: async generators that
yield, and coroutines that send with ``context.write`` (as grpcio's health ``Watch`` does)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from server.grpc_app.interceptors import _wrap
from server.grpc_app.rpc_metrics import MetricsInterceptor
from server.metrics import Metrics
from tenants.records import Principal


async def _yielding(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    for part in (b"one", b"two"):
        yield part + request


async def _writing(request: bytes, context: grpc.aio.ServicerContext) -> None:
    for part in (b"one", b"two"):
        await context.write(part + request)


async def _admit() -> Principal:
    return Principal(tenant_id="tenant_x", key_id="key_x")


class _Generic(grpc.GenericRpcHandler):
    def __init__(self, behavior: Any) -> None:
        self._handler = _wrap(grpc.unary_stream_rpc_method_handler(behavior), _admit)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        return self._handler


async def _call(behavior: Any) -> list[bytes]:
    server = grpc.aio.server(interceptors=[MetricsInterceptor(Metrics())])
    server.add_generic_rpc_handlers((_Generic(behavior),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_stream("/test.Styles/Stream")(b"!", timeout=10)
            return [message async for message in call]
    finally:
        await server.stop(0)


@pytest.mark.parametrize("behavior", [_yielding, _writing], ids=["yields", "writes"])
def test_a_streaming_handler_of_either_style_reaches_the_client(behavior: Any) -> None:
    assert asyncio.run(_call(behavior)) == [b"one!", b"two!"]
