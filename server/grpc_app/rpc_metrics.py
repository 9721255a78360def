"""The outermost interceptor: tag every RPC with a request id, count it by method and
status, and time it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from server.logs import REQUEST_ID, REQUEST_ID_HEADER, request_id_from
from server.metrics import Metrics

access_log = logging.getLogger("voxguard.access")


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Feeds ``voxguard_rpc_requests_total`` and ``voxguard_rpc_duration_seconds``."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return _timed(handler, handler_call_details.method, self._metrics)


async def _tag_request(context: grpc.aio.ServicerContext) -> None:
    """Give the call its request id (logs carry it) and tell the caller which it is."""
    request_id = request_id_from(context.invocation_metadata())
    REQUEST_ID.set(request_id)
    await context.send_initial_metadata(((REQUEST_ID_HEADER, request_id),))


def _code_of(context: grpc.aio.ServicerContext, error: BaseException | None) -> str:
    if isinstance(error, asyncio.CancelledError):
        return "CANCELLED"
    code = context.code() if hasattr(context, "code") else None
    if isinstance(code, grpc.StatusCode):
        return code.name
    if isinstance(code, int):
        return next((c.name for c in grpc.StatusCode if c.value[0] == code), "UNKNOWN")
    return "OK" if error is None else "UNKNOWN"


def _timed(handler: grpc.RpcMethodHandler, method: str, metrics: Metrics) -> grpc.RpcMethodHandler:
    def record(context: grpc.aio.ServicerContext, started: float, error: BaseException | None) -> None:
        code = _code_of(context, error)
        seconds = time.perf_counter() - started
        metrics.rpc_requests.labels(method=method, code=code).inc()
        metrics.rpc_duration.labels(method=method).observe(seconds)
        # The access log: which call, how it ended, how long it took (never its content).
        access_log.info("rpc %s %s", method, code,
                        extra={"method": method, "code": code, "duration_ms": round(seconds * 1e3, 1)})

    if handler.unary_unary or handler.stream_unary:
        behavior = handler.unary_unary or handler.stream_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started, error = time.perf_counter(), None
            await _tag_request(context)
            try:
                return await behavior(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                record(context, started, error)

        factory = (grpc.unary_unary_rpc_method_handler if handler.unary_unary
                   else grpc.stream_unary_rpc_method_handler)
        return factory(unary, request_deserializer=handler.request_deserializer,
                       response_serializer=handler.response_serializer)

    behavior = handler.unary_stream or handler.stream_stream

    async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        started, error = time.perf_counter(), None
        await _tag_request(context)
        try:
            async for item in behavior(request, context):
                yield item
        except BaseException as exc:
            error = exc
            raise
        finally:
            record(context, started, error)

    factory = (grpc.unary_stream_rpc_method_handler if handler.unary_stream
               else grpc.stream_stream_rpc_method_handler)
    return factory(streaming, request_deserializer=handler.request_deserializer,
                   response_serializer=handler.response_serializer)
