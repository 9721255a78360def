"""The outermost interceptor: tag every RPC with a request id, count it by method and
status, and time it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
from opentelemetry import trace

from server.logs import REQUEST_ID, REQUEST_ID_HEADER, request_id_from
from server.metrics import Metrics
from server.tracing import Tracing, context_from_metadata, set_current_tracer

access_log = logging.getLogger("voxguard.access")


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Request id, the RPC's span, ``voxguard_rpc_requests_total`` and its duration."""

    def __init__(self, metrics: Metrics, tracing: Tracing | None = None) -> None:
        self._metrics = metrics
        self._tracer = tracing.tracer if tracing is not None else trace.NoOpTracer()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return _timed(handler, handler_call_details.method, self._metrics, self._tracer)


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


def _timed(handler: grpc.RpcMethodHandler, method: str, metrics: Metrics,
           tracer: trace.Tracer) -> grpc.RpcMethodHandler:
    def open_span(context: grpc.aio.ServicerContext) -> Any:
        set_current_tracer(tracer)
        return tracer.start_as_current_span(
            f"rpc {method}", context=context_from_metadata(context.invocation_metadata()),
            kind=trace.SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.method": method,
                        "voxguard.request_id": REQUEST_ID.get()})

    def record(context: grpc.aio.ServicerContext, started: float, error: BaseException | None) -> None:
        code = _code_of(context, error)
        trace.get_current_span().set_attribute("rpc.grpc.status_code", code)
        seconds = time.perf_counter() - started
        metrics.rpc_requests.labels(method=method, code=code).inc()
        metrics.rpc_duration.labels(method=method).observe(seconds)
        # The access log: which call, how it ended, how long it took (never its content).
        access_log.info("rpc %s %s", method, code,
                        extra={"method": method, "code": code, "duration_ms": round(seconds * 1e3, 1)})

    @asynccontextmanager
    async def observed(context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        """Tag, trace, count and time one call, however its handler is written."""
        started, error = time.perf_counter(), None
        await _tag_request(context)
        with open_span(context):
            try:
                yield
            except BaseException as exc:
                error = exc
                raise
            finally:
                record(context, started, error)

    if handler.unary_unary or handler.stream_unary:
        behavior = handler.unary_unary or handler.stream_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with observed(context):
                return await behavior(request, context)

        factory = (grpc.unary_unary_rpc_method_handler if handler.unary_unary
                   else grpc.stream_unary_rpc_method_handler)
        return factory(unary, request_deserializer=handler.request_deserializer,
                       response_serializer=handler.response_serializer)

    behavior = handler.unary_stream or handler.stream_stream
    factory = (grpc.unary_stream_rpc_method_handler if handler.unary_stream
               else grpc.stream_stream_rpc_method_handler)

    if not inspect.isasyncgenfunction(behavior):
        # A streaming handler may also be a coroutine that sends with ``context.write``
        # (grpcio's own health ``Watch`` is one): await it rather than iterate it.
        async def writing(request: Any, context: grpc.aio.ServicerContext) -> None:
            async with observed(context):
                await behavior(request, context)

        return factory(writing, request_deserializer=handler.request_deserializer,
                       response_serializer=handler.response_serializer)

    async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async with observed(context):
            async for item in behavior(request, context):
                yield item

    return factory(streaming, request_deserializer=handler.request_deserializer,
                   response_serializer=handler.response_serializer)
