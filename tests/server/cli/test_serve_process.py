"""``voxguard serve`` as an operator runs it: a real process whose stderr is JSON lines only."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.api.v1 import synthesis_pb2
from tests.server.grpc_app.conftest import Clients, enroll_voice, new_tenant

pytestmark = pytest.mark.slow


def _voxguard(*args: str) -> list[str]:
    return [sys.executable, "-c", "from server.cli.main import main; raise SystemExit(main())",
            *args]


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VOXGUARD_")}
    env.update(VOXGUARD_DATA_DIR=str(tmp_path / "data"), VOXGUARD_ENGINE="embedded",
               VOXGUARD_CONSENT_VERIFY_STATEMENT="false", VOXGUARD_CPU_WORKERS="1",
               PYTHONWARNINGS="always")  # every warning shown: each must be a JSON line
    subprocess.run(_voxguard("admin", "init"), env=env, check=True, capture_output=True, timeout=120)
    return env


def test_a_taken_address_exits_non_zero_within_three_seconds(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        started = time.monotonic()
        done = subprocess.run(_voxguard("serve", "--listen", address), env=env, check=False,
                              capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
    assert done.returncode != 0
    assert f"cannot listen on {address}: the address is in use" in done.stderr
    assert elapsed < 3.0, f"took {elapsed:.1f} s to give up"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, str, list[str]]]:
    env = _environment(tmp_path)
    process = subprocess.Popen(_voxguard("serve", "--listen", "127.0.0.1:0"), env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(process.stderr or []), daemon=True)
    reader.start()
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        assert "voxguard listening on 127.0.0.1:" in ready, (ready, stderr)
        port = int(ready.split("127.0.0.1:")[1].split()[0])
        token = (tmp_path / "data" / "admin.token").read_text().strip()
        yield process, port, token, stderr
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        reader.join(10)


def test_stderr_is_json_lines_only_through_a_whole_session(
        served: tuple[subprocess.Popen[str], int, str, list[str]]) -> None:
    process, port, token, stderr = served
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=60)
        assert next(watch).status in (health_pb2.HealthCheckResponse.SERVING,
                                      health_pb2.HealthCheckResponse.NOT_SERVING)
        watch.cancel()
        _, clients = new_tenant(Clients(channel, token), "Process tenant")
        _, voice_id = enroll_voice(clients)
        reply = clients.synthesis.Synthesize(
            synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="A short sentence."),
            metadata=clients.metadata, timeout=120)
        assert reply.audio
        with pytest.raises(grpc.RpcError):
            clients.synthesis.Synthesize(
                synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Hi.", speed=9.0),
                metadata=clients.metadata, timeout=60)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    lines = [line for line in stderr if line.strip()]
    assert lines, "the server logged nothing"
    not_json = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            not_json.append(line)
            continue
        assert {"time", "level", "logger", "message"} <= set(entry), line
    assert not_json == []
    assert not any("never awaited" in line for line in lines)
