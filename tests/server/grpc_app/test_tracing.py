"""OpenTelemetry traces reach a real OTLP/gRPC receiver, joined to the caller's trace."""

from __future__ import annotations

import threading
import time
from concurrent import futures

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from server.api.v1 import synthesis_pb2
from tests.server.grpc_app.conftest import (
    ADMIN_TOKEN,
    Clients,
    ServerThread,
    enroll_voice,
    make_settings,
    new_tenant,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP trace collector that keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, object]] = []  # (service.name, span)
        self._lock = threading.Lock()

    def Export(self, request, context):  # type: ignore[no-untyped-def]
        with self._lock:
            for resource_spans in request.resource_spans:
                service = next((a.value.string_value for a in resource_spans.resource.attributes
                                if a.key == "service.name"), "")
                for scope in resource_spans.scope_spans:
                    self.spans += [(service, s) for s in scope.spans]
        return trace_service_pb2.ExportTraceServiceResponse()


def test_a_synthesis_is_traced_end_to_end(tmp_path_factory: pytest.TempPathFactory) -> None:
    receiver = Receiver()
    collector = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, collector)
    port = collector.add_insecure_port("127.0.0.1:0")
    collector.start()
    server = ServerThread(make_settings(tmp_path_factory.mktemp("traced"),
                                        otlp_endpoint=f"http://127.0.0.1:{port}"))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            _, clients = new_tenant(Clients(channel, ADMIN_TOKEN), "Traced tenant")
            _, voice_id = enroll_voice(clients)
            clients.synthesis.Synthesize(
                synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Trace this request."),
                metadata=(*clients.metadata, ("traceparent", f"00-{TRACE_ID}-{CALLER_SPAN}-01")))
        deadline = time.monotonic() + 20
        wanted = {"rpc /voxguard.v1.Synthesis/Synthesize", "authorize", "db.begin_generation",
                  "synthesis.queue", "synthesis.worker", "watermark"}
        while time.monotonic() < deadline:
            ours = {s.name for _, s in receiver.spans if s.trace_id.hex() == TRACE_ID}
            if wanted <= ours:
                break
            time.sleep(0.2)
    finally:
        server.stop()
        collector.stop(0)
    in_trace = [(service, s) for service, s in receiver.spans if s.trace_id.hex() == TRACE_ID]
    names = {s.name for _, s in in_trace}
    assert wanted <= names, names
    by_name = {s.name: (service, s) for service, s in in_trace}
    _, rpc = by_name["rpc /voxguard.v1.Synthesis/Synthesize"]
    assert rpc.parent_span_id.hex() == CALLER_SPAN  # joined to the caller's trace
    assert by_name["authorize"][1].parent_span_id == rpc.span_id
    worker_service, worker = by_name["synthesis.worker"]
    assert worker_service == "voxguard-worker"  # exported by the worker process itself
    assert by_name["watermark"][1].parent_span_id == worker.span_id
    assert all("Trace this request" not in str(s) for _, s in in_trace)  # no text in spans
