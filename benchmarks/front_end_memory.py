"""Memory of the gRPC process (workers excluded) once a server is ready, and its start-up times.

    python benchmarks/front_end_memory.py [--engine embedded-neural] [--runs 3]

Starts ``voxguard serve`` on a fresh data directory, watches gRPC health until it reports
SERVING, then reads the server process's resident memory (``VmRSS`` of that process only,
not of its synthesis workers) and stops it with SIGTERM. Also prints when the port answered
and when the server became SERVING. Numbers go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def _voxguard(*args: str) -> list[str]:
    return [sys.executable, "-c", "from server.cli.main import main; raise SystemExit(main())",
            *args]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def measure(engine: str) -> tuple[float, float, float]:
    """(seconds to a bound port, seconds to SERVING, RSS in MB of the gRPC process)."""
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXGUARD_")}
        env.update(VOXGUARD_DATA_DIR=data, VOXGUARD_ENGINE=engine, VOXGUARD_CPU_WORKERS="1")
        subprocess.run(_voxguard("admin", "init"), env=env, check=True, capture_output=True)
        port = _free_port()
        started = time.monotonic()
        server = subprocess.Popen(_voxguard("serve", "--listen", f"127.0.0.1:{port}"), env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not _accepts(port):
                time.sleep(0.02)
            bound = time.monotonic() - started
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                while stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status \
                        != health_pb2.HealthCheckResponse.SERVING:
                    time.sleep(0.1)
            serving = time.monotonic() - started
            time.sleep(2.0)  # let start-up allocations settle
            return bound, serving, _rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="embedded-neural")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    results = [measure(args.engine) for _ in range(args.runs)]
    bound, serving, rss = (statistics.median(column) for column in zip(*results, strict=True))
    print(f"engine {args.engine}: port bound after {bound:.1f} s, SERVING after {serving:.1f} s, "
          f"gRPC process RSS {rss:.0f} MB (median of {args.runs})")
    if args.out is not None:
        args.out.write_text(json.dumps({
            "engine": args.engine, "runs": args.runs, "bound_seconds": round(bound, 2),
            "serving_seconds": round(serving, 2), "grpc_process_rss_mb": round(rss),
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
