"""Cross-cutting concerns of every RPC: authentication, scopes, rate limits, errors.

One server interceptor wraps each method handler: it resolves the bearer credential to a
:class:`~tenants.records.Principal` (operator or tenant key), checks the scope the
service needs, applies the tenant's rate limit, exposes the principal to the servicer
through :data:`CURRENT_PRINCIPAL`, and turns domain exceptions into gRPC statuses.
Unexpected exceptions become INTERNAL with a generic message (details go to the log
only), so internals never reach a caller.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message

from server.errors import (
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    VoxguardError,
)
from server.grpc_app.bounds import check_identifier_bounds
from server.grpc_app.errors import status_for, trailing_metadata
from server.tracing import span
from tenants.records import Principal, Scope

log = logging.getLogger(__name__)

CURRENT_PRINCIPAL: contextvars.ContextVar[Principal] = contextvars.ContextVar("voxguard_principal")

OPERATOR = "operator"
SERVICE_ACCESS: dict[str, str | Scope] = {
    "voxguard.v1.TenantAdmin": OPERATOR,
    "voxguard.v1.Consents": Scope.CONSENT,
    "voxguard.v1.Voices": Scope.ENROLL,
    "voxguard.v1.Synthesis": Scope.SYNTHESIZE,
    "voxguard.v1.Provenance": Scope.DETECT,
}
PUBLIC_SERVICES = frozenset({"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
                             "grpc.reflection.v1.ServerReflection"})


class TokenBucket:
    """Per-tenant request budget: ``rate`` per second, up to ``burst`` at once."""

    def __init__(self, rate_per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate_per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, tenant_id: str) -> None:
        """Spend one request, or raise RESOURCE_EXHAUSTED with the wait until the next."""
        now = self._clock()
        tokens, last = self._state.get(tenant_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1.0:
            self._state[tenant_id] = (tokens, now)
            wait = (1.0 - tokens) / self._rate
            raise ResourceExhausted(
                "this tenant's request rate limit is exhausted; slow down and retry",
                retry_after_seconds=wait,
            )
        self._state[tenant_id] = (tokens - 1.0, now)


@dataclass(frozen=True)
class Authenticator:
    """Resolves bearer credentials: the operator token or a tenant API key."""

    admin_token: str
    authenticate_key: Callable[[str], Principal]

    def resolve(self, metadata: tuple[tuple[str, Any], ...] | None) -> Principal:
        """The principal for the call's metadata, or UNAUTHENTICATED."""
        header = next((value for key, value in metadata or () if key == "authorization"), None)
        if not isinstance(header, str) or not header.startswith("Bearer "):
            raise Unauthenticated("missing credential; send `authorization: Bearer <api key>` metadata")
        token = header[len("Bearer "):].strip()
        if hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return Principal(tenant_id=None, key_id=None)
        return self.authenticate_key(token)


class VoxguardInterceptor(grpc.aio.ServerInterceptor):
    """Authentication, authorisation, rate limiting and error mapping for every RPC."""

    def __init__(self, authenticator: Authenticator | None, limiter: TokenBucket) -> None:
        self._authenticator = authenticator
        self._limiter = limiter

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        service = handler_call_details.method.lstrip("/").rsplit("/", 1)[0]
        if service in PUBLIC_SERVICES:
            return handler
        access = SERVICE_ACCESS.get(service)
        metadata = handler_call_details.invocation_metadata
        return _wrap(handler, lambda: self._admit(access, metadata))

    async def _admit(self, access: str | Scope | None, metadata: Any) -> Principal:
        with span("authorize"):
            return await self._authorize(access, metadata)

    def attach(self, authenticator: Authenticator) -> None:
        """Set the credential check once the platform is open (the server binds its port
        before that, and serves no call until it is set)."""
        self._authenticator = authenticator

    async def _authorize(self, access: str | Scope | None, metadata: Any) -> Principal:
        if self._authenticator is None:
            raise Unavailable("the server is starting; retry shortly")
        principal = await asyncio.to_thread(self._authenticator.resolve, metadata)
        if access is None:
            raise PermissionDenied("this method is not available")
        if access == OPERATOR:
            if not principal.is_operator:
                raise PermissionDenied("this method needs the operator credential")
            return principal
        if principal.is_operator:
            raise PermissionDenied("the operator credential cannot call tenant APIs; use an API key")
        assert isinstance(access, Scope) and principal.tenant_id is not None
        if access not in principal.scopes:
            raise PermissionDenied(f"the API key lacks the {access.value!r} scope this method needs")
        self._limiter.take(principal.tenant_id)
        return principal


async def _abort(context: grpc.aio.ServicerContext, error: BaseException) -> None:
    if isinstance(error, VoxguardError):
        await context.abort(status_for(error), error.message, trailing_metadata(error))
    log.exception("unhandled error in RPC", exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; the incident was logged")


def _parser(handler: grpc.RpcMethodHandler) -> Callable[[bytes], Any]:
    """Deserialise request bytes inside the RPC, so malformed bytes become INVALID_ARGUMENT.

    Left to gRPC, a bad message ends as UNKNOWN with the parser's internals in the message.
    """
    deserialize = handler.request_deserializer
    message = getattr(getattr(deserialize, "__self__", None), "DESCRIPTOR", None)
    name = message.full_name if message is not None else "request"

    def parse(raw: bytes) -> Any:
        if deserialize is None:
            return raw
        try:
            request = deserialize(raw)
        except Exception as exc:  # DecodeError, RuntimeWarning-as-error, ...: all bad input
            raise InvalidArgument(
                f"the request is not a valid {name} message; build it with stubs generated "
                "from protos/voxguard/v1"
            ) from exc
        if isinstance(request, Message):
            check_identifier_bounds(request)
        return request

    return parse


async def _parsed_stream(requests: AsyncIterator[bytes], parse: Callable[[bytes], Any]) -> AsyncIterator[Any]:
    async for raw in requests:
        yield parse(raw)


def _wrap(handler: grpc.RpcMethodHandler, admit: Callable[[], Awaitable[Principal]]) -> grpc.RpcMethodHandler:
    parse = _parser(handler)
    streaming_request = bool(handler.stream_unary or handler.stream_stream)

    def request_of(raw: Any) -> Any:
        return _parsed_stream(raw, parse) if streaming_request else parse(raw)

    @asynccontextmanager
    async def admitted(context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        """Authorise the call, then turn what it raises into its gRPC status."""
        try:
            CURRENT_PRINCIPAL.set(await admit())
            yield
        except (VoxguardError, Exception) as error:
            if isinstance(error, asyncio.CancelledError) or _is_abort(error):
                raise
            await _abort(context, error)

    if handler.unary_unary or handler.stream_unary:
        behavior = handler.unary_unary or handler.stream_unary

        async def unary_response(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with admitted(context):
                return await behavior(request_of(request), context)

        factory = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
        return factory(unary_response, request_deserializer=None,
                       response_serializer=handler.response_serializer)

    behavior = handler.unary_stream or handler.stream_stream
    factory = grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler

    if not inspect.isasyncgenfunction(behavior):
        # A coroutine that sends with ``context.write``: awaited, not iterated.
        async def write_response(request: Any, context: grpc.aio.ServicerContext) -> None:
            async with admitted(context):
                await behavior(request_of(request), context)

        return factory(write_response, request_deserializer=None,
                       response_serializer=handler.response_serializer)

    async def stream_response(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async with admitted(context):
            async for item in behavior(request_of(request), context):
                yield item

    return factory(stream_response, request_deserializer=None,
                   response_serializer=handler.response_serializer)


def _is_abort(error: BaseException) -> bool:
    return type(error).__name__ == "AbortError"
