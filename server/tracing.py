"""OpenTelemetry traces: a span per RPC with child spans for what the request waits on.

Off unless ``VOXGUARD_OTLP_ENDPOINT`` names an OTLP/gRPC collector (e.g.
``http://127.0.0.1:4317``). Each process (the server and every synthesis worker) has its
own tracer provider exporting in batches; nothing is global, so tests can run several
servers in one process.

Spans: ``rpc <method>`` (kind SERVER, parented on the caller's W3C ``traceparent``
metadata when present), and inside it ``authorize``, ``db.<operation>``, ``synthesis.queue``
(waiting for a worker), ``synthesis.worker`` (in the worker process, continuing the trace
through the job) with ``watermark`` children. Span attributes hold method names, status
codes, ids and sizes: never request text, audio or credentials.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_NO_TRACER = trace.NoOpTracer()
#: The tracer of the server handling the current RPC (None: tracing is off).
_CURRENT: contextvars.ContextVar[trace.Tracer | None] = contextvars.ContextVar(
    "voxguard_tracer", default=None
)


def set_current_tracer(tracer: trace.Tracer) -> None:
    """Make ``tracer`` the one :func:`span` uses in this context (the RPC's task)."""
    _CURRENT.set(tracer)


def current_tracer() -> trace.Tracer:
    """The current server's tracer, or a no-op one."""
    return _CURRENT.get() or _NO_TRACER


class Tracing:
    """One process's tracer provider (or a no-op when no endpoint is configured)."""

    def __init__(self, endpoint: str | None, service_name: str = "voxguard") -> None:
        self.endpoint = endpoint
        self._provider: Any = None
        if endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            self._provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
            insecure = not endpoint.startswith("https://")
            exporter = OTLPSpanExporter(endpoint=endpoint, insecure=insecure)
            self._provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
        self.tracer: trace.Tracer = (
            self._provider.get_tracer("voxguard") if self._provider else trace.NoOpTracer()
        )

    def shutdown(self) -> None:
        """Flush and stop the exporter."""
        if self._provider is not None:
            self._provider.shutdown()


def context_from_metadata(metadata: Any) -> Context:
    """The caller's trace context from gRPC metadata (``traceparent``/``tracestate``)."""
    carrier = {str(k): str(v) for k, v in metadata or () if k in ("traceparent", "tracestate")}
    return _PROPAGATOR.extract(carrier)


def current_carrier() -> dict[str, str]:
    """The current trace context as W3C headers (to hand to a worker process)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def context_from_carrier(carrier: Mapping[str, str] | None) -> Context:
    """Inverse of :func:`current_carrier`."""
    return _PROPAGATOR.extract(dict(carrier or {}))


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[trace.Span]:
    """A child span of the current one, made by the current server's tracer."""
    with current_tracer().start_as_current_span(name, attributes=attributes) as current:
        yield current
