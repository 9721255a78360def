"""Structured logs: JSON lines with the request id the caller also gets, and no secrets,
texts or audio in any line."""

from __future__ import annotations

import io
import json
import logging

import grpc
import pytest

from server.api.v1 import synthesis_pb2, voices_pb2
from server.logs import JsonFormatter
from tests.server.grpc_app.conftest import (
    ADMIN_TOKEN,
    Clients,
    ServerThread,
    enroll_voice,
    make_settings,
    new_tenant,
)

SECRET_TEXT = "Purple elephants whisper the launch code seven seven four."


def test_logs_are_json_with_request_ids_and_no_secrets(tmp_path_factory: pytest.TempPathFactory) -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    server = ServerThread(make_settings(tmp_path_factory.mktemp("logs")))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            _, clients = new_tenant(Clients(channel, ADMIN_TOKEN), "Logged tenant")
            _, voice_id = enroll_voice(clients)
            reply, call = clients.synthesis.Synthesize.with_call(
                synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=SECRET_TEXT),
                metadata=(*clients.metadata, ("x-request-id", "client-chosen-id-42")))
            assert dict(call.initial_metadata())["x-request-id"] == "client-chosen-id-42"
            with pytest.raises(grpc.RpcError) as caught:
                clients.voices.GetVoice(voices_pb2.GetVoiceRequest(voice_id="voice_nope"),
                                        metadata=clients.metadata)
            generated_id = dict(caught.value.initial_metadata())["x-request-id"]
            assert generated_id.startswith("req_")
    finally:
        server.stop()
        root.removeHandler(handler)
        root.setLevel(previous)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(e) for e in lines)
    access = {e.get("request_id"): e for e in lines if e["logger"] == "voxguard.access"}
    assert access["client-chosen-id-42"]["code"] == "OK"
    assert access[generated_id]["code"] == "NOT_FOUND"
    text = buffer.getvalue()
    for secret in (SECRET_TEXT, "elephants", clients.token, ADMIN_TOKEN):
        assert secret not in text
    assert reply.audio[:64].hex() not in text
