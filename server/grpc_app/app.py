"""Building and running the gRPC server around a :class:`~server.platform.Platform`."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import _async as reflection_async
from grpc_reflection.v1alpha import reflection, reflection_pb2

from server.api.v1 import (
    consents_pb2,
    consents_pb2_grpc,
    provenance_pb2,
    provenance_pb2_grpc,
    synthesis_pb2,
    synthesis_pb2_grpc,
    tenant_admin_pb2,
    tenant_admin_pb2_grpc,
    voices_pb2,
    voices_pb2_grpc,
)
from server.config import Settings
from server.db.erasure_channel import ErasureListener
from server.errors import FailedPrecondition
from server.grpc_app.health_monitor import follow_health
from server.grpc_app.interceptors import Authenticator, TokenBucket, VoxguardInterceptor
from server.grpc_app.rpc_metrics import MetricsInterceptor
from server.grpc_app.servicers.consents import ConsentsServicer
from server.grpc_app.servicers.provenance import ProvenanceServicer
from server.grpc_app.servicers.synthesis import SynthesisServicer
from server.grpc_app.servicers.tenant_admin import TenantAdminServicer
from server.grpc_app.servicers.voices import VoicesServicer
from server.metrics import Metrics
from server.platform import Platform
from server.tracing import Tracing
from tenants.audit import AuditLog

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    tenant_admin_pb2.DESCRIPTOR.services_by_name["TenantAdmin"].full_name,
    consents_pb2.DESCRIPTOR.services_by_name["Consents"].full_name,
    voices_pb2.DESCRIPTOR.services_by_name["Voices"].full_name,
    synthesis_pb2.DESCRIPTOR.services_by_name["Synthesis"].full_name,
    provenance_pb2.DESCRIPTOR.services_by_name["Provenance"].full_name,
)
SYNTHESIS_SERVICE = synthesis_pb2.DESCRIPTOR.services_by_name["Synthesis"].full_name
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
EXPIRY_INTERVAL_SECONDS = 60.0
#: Committed synthesis audit events are chained this often (PostgreSQL; see tenants/audit.py).
AUDIT_CHAIN_INTERVAL_SECONDS = 0.5
#: Every five minutes a replica finishes erasures that a crashed replica left half done.
ORPHAN_SWEEP_INTERVAL_SECONDS = 300.0
_SERVING = health_pb2.HealthCheckResponse.SERVING


@dataclass
class RunningServer:
    """A started server: the gRPC server, the port it got, and the platform behind it."""

    server: grpc.aio.Server
    port: int
    platform: Platform
    health: health.aio.HealthServicer
    _expiry: asyncio.Task[None]
    _health_task: asyncio.Task[None] | None = None
    _erasures: ErasureListener | None = None
    _metrics_http: Any = None

    async def wait_ready(self, timeout: float = 600.0) -> None:
        """Wait until a synthesis worker has loaded its engine and health says SERVING
        (RuntimeError after ``timeout``, or the workers' own error if none can start)."""
        assert self.platform.synthesis is not None
        started = time.monotonic()
        await self.platform.synthesis.wait_ready(timeout)
        request = health_pb2.HealthCheckRequest(service="")
        while (await self.health.Check(request, None)).status != _SERVING:
            if time.monotonic() - started > timeout:
                raise RuntimeError("health did not turn SERVING; see the server log")
            await asyncio.sleep(0.02)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting calls, let running ones finish for ``grace`` s, stop workers."""
        if self._health_task is not None:
            self._health_task.cancel()
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        self._expiry.cancel()
        if self._erasures is not None:
            await asyncio.to_thread(self._erasures.stop)
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
        await self.server.stop(grace)
        await self.platform.close()


async def start_server(settings: Settings, platform: Platform | None = None) -> RunningServer:
    """Bind the port, open the platform, start serving, then start the workers.

    The order matters to operators: a taken address fails within a second or two, before
    anything slow; health reports NOT_SERVING while the workers load their engines and
    SERVING once one is ready (``health_monitor.py``). Synthesis jobs that arrive meanwhile
    queue, and enrollments wait, for the first ready worker.
    """
    metrics = platform.metrics if platform is not None else Metrics()
    tracing = platform.tracing if platform is not None else Tracing(settings.otlp_endpoint)
    guard = VoxguardInterceptor(None, TokenBucket(settings.rate_limit_per_minute,
                                                  settings.rate_limit_burst))
    server = grpc.aio.server(
        interceptors=[MetricsInterceptor(metrics, tracing), guard],
        options=[
            ("grpc.max_receive_message_length", settings.max_request_bytes),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            # gRPC turns SO_REUSEPORT on by default, so a second server on a taken address
            # would start and silently take part of the traffic. Only an operator who asks
            # for port sharing gets it.
            ("grpc.so_reuseport", 1 if settings.listen_reuse_port else 0),
        ],
    )
    try:
        port = _bind(server, settings)
    except FailedPrecondition:
        if platform is not None:
            await platform.close()
        raise
    if platform is None:
        platform = await asyncio.to_thread(Platform.open, settings, metrics=metrics,
                                           tracing=tracing)
    platform.data_dir_lock.acquire_shared()
    guard.attach(Authenticator(platform.admin_token, platform.api_keys.authenticate))
    tenant_admin_pb2_grpc.add_TenantAdminServicer_to_server(TenantAdminServicer(platform), server)
    consents_pb2_grpc.add_ConsentsServicer_to_server(ConsentsServicer(platform), server)
    voices_pb2_grpc.add_VoicesServicer_to_server(VoicesServicer(platform), server)
    synthesis_pb2_grpc.add_SynthesisServicer_to_server(SynthesisServicer(platform), server)
    provenance_pb2_grpc.add_ProvenanceServicer_to_server(ProvenanceServicer(platform), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflected = (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME, REFLECTION_V1)
    reflection.enable_server_reflection(reflected, server)
    _serve_reflection_v1(server, reflected)
    for name in ("", *SERVICE_NAMES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.start()
    await platform.start_workers()
    expiry = asyncio.create_task(_housekeeping(platform))
    monitor = asyncio.create_task(follow_health(health_servicer, platform, SERVICE_NAMES,
                                                SYNTHESIS_SERVICE))
    erasures = await asyncio.to_thread(_listen_for_erasures, platform, asyncio.get_running_loop())
    metrics_http = platform.metrics.serve(settings.metrics_listen) if settings.metrics_listen else None
    log.info("voxguard listening on port %d; synthesis workers are loading", port)
    return RunningServer(server, port, platform, health_servicer, expiry, monitor, erasures,
                         metrics_http)


def _listen_for_erasures(platform: Platform,
                         loop: asyncio.AbstractEventLoop) -> ErasureListener | None:
    """On PostgreSQL, evict voices erased by any replica or offline command (LISTEN/NOTIFY)."""
    if platform.db.dialect != "postgresql" or platform.synthesis is None:
        return None
    service = platform.synthesis

    def evict(voice_ids: list[str]) -> None:
        loop.call_soon_threadsafe(service.evict_voices, voice_ids)

    listener = ErasureListener(platform.settings.resolved_database_url, evict)
    listener.start()
    return listener


def _serve_reflection_v1(server: grpc.aio.Server, service_names: tuple[str, ...]) -> None:
    """Serve ``grpc.reflection.v1`` too (grpcio-reflection ships only v1alpha).

    The two versions have the same messages, field for field, under another package name,
    so the v1alpha servicer answers v1 requests unchanged.
    """
    servicer = reflection_async.ReflectionServicer(service_names)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": handler}),)
    )


def _bind(server: grpc.aio.Server, settings: Settings) -> int:
    """Bind the listen address; a taken or unusable address is one clear error."""
    try:
        if settings.tls_cert_file is not None and settings.tls_key_file is not None:
            credentials = grpc.ssl_server_credentials(
                [(settings.tls_key_file.read_bytes(), settings.tls_cert_file.read_bytes())]
            )
            port = server.add_secure_port(settings.listen, credentials)
        else:
            port = server.add_insecure_port(settings.listen)
    except RuntimeError:  # grpcio raises instead of returning 0 on some bind failures
        port = 0
    if port == 0:
        raise FailedPrecondition(
            f"cannot listen on {settings.listen}: the address is in use or not available here; "
            "stop the other server or set VOXGUARD_LISTEN to a free address (port sharing "
            "needs VOXGUARD_LISTEN_REUSE_PORT=true)"
        )
    return port


async def _housekeeping(platform: Platform) -> None:
    """Chain pending audit events often; expire consents and sweep orphaned blobs now and then."""
    last_expiry = 0.0
    last_sweep = time.monotonic()  # Platform.open swept at start
    while True:
        try:
            await asyncio.to_thread(AuditLog.chain_pending, platform.db)
            if time.monotonic() - last_expiry >= EXPIRY_INTERVAL_SECONDS:
                last_expiry = time.monotonic()
                expired = await asyncio.to_thread(platform.consents.expire_due)
                if expired:
                    log.info("expired %d consents and destroyed their voices", expired)
            if time.monotonic() - last_sweep >= ORPHAN_SWEEP_INTERVAL_SECONDS:
                last_sweep = time.monotonic()
                swept = await asyncio.to_thread(platform.sweep_orphaned_blobs)
                if swept:
                    log.info("erased %d blobs left by interrupted deletions", swept)
        except Exception:
            log.exception("audit chaining, consent expiry or orphan sweep failed")
        await asyncio.sleep(AUDIT_CHAIN_INTERVAL_SECONDS)


async def serve_forever(settings: Settings, on_ready: Callable[[RunningServer], None] | None = None) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully.

    If no worker can start its engine (damaged model files, a missing device), the server
    stops and raises that error: a configuration that cannot serve must not look healthy.
    """
    running = await start_server(settings)
    if on_ready is not None:
        on_ready(running)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    assert running.platform.synthesis is not None
    failure = asyncio.create_task(running.platform.synthesis.start_failure())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({failure, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if failure.done():
        log.error("no synthesis worker can start its engine; stopping the server")
        await running.stop(grace=0)
        raise failure.result()
    failure.cancel()
    log.info("shutting down: draining for up to %.0f s", settings.shutdown_grace_seconds)
    await running.stop(grace=settings.shutdown_grace_seconds)
