"""Prometheus metrics of one server, served on ``VOXGUARD_METRICS_LISTEN`` at ``/metrics``.

Each server has its own registry (tests start several servers in one process). Labels
are bounded sets only: the RPC method, the gRPC status code, the detection result.
Tenant ids are never labels: every tenant would add a time series per metric, and the
ids themselves are customer data that has no business in a monitoring system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

#: Latency buckets (seconds) from a fast unary call to a long synthesis stream.
_RPC_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_FIRST_CHUNK_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30)


@dataclass
class Metrics:
    """Every metric voxguard exports (see docs/operations.md for the table)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.rpc_requests = Counter("voxguard_rpc_requests", "RPCs handled, by method and status.",
                                    ["method", "code"], registry=r)
        self.rpc_duration = Histogram("voxguard_rpc_duration_seconds",
                                      "Time from the call's start to its status, by method.",
                                      ["method"], buckets=_RPC_BUCKETS, registry=r)
        self.queue_depth = Gauge("voxguard_synthesis_queue_depth",
                                 "Synthesis jobs waiting for a worker.", registry=r)
        self.first_chunk = Histogram("voxguard_synthesis_first_chunk_seconds",
                                     "Time from an accepted synthesis request to its first audio.",
                                     buckets=_FIRST_CHUNK_BUCKETS, registry=r)
        self.audio_seconds = Counter("voxguard_synthesis_audio_seconds",
                                     "Seconds of watermarked audio delivered.", registry=r)
        self.workers_alive = Gauge("voxguard_workers_alive", "Live synthesis worker processes.",
                                   registry=r)
        self.worker_restarts = Counter("voxguard_worker_restarts",
                                       "Synthesis workers replaced after a crash or a kill.",
                                       registry=r)
        self.detections = Counter("voxguard_watermark_detections",
                                  "DetectWatermark answers, by result.", ["result"], registry=r)

    def follow(self, queue_depth: Callable[[], float], workers_alive: Callable[[], float]) -> None:
        """Read the pool's gauges at scrape time."""
        self.queue_depth.set_function(queue_depth)
        self.workers_alive.set_function(workers_alive)

    def serve(self, listen: str) -> Any:
        """Start the HTTP endpoint on ``host:port``; returns the server (``shutdown()``)."""
        host, _, port = listen.rpartition(":")
        server, _thread = start_http_server(int(port), addr=host or "127.0.0.1",
                                            registry=self.registry)
        return server
