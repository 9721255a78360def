"""``voxguard client`` against a real server on 127.0.0.1 (in-process, real gRPC)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.server.cli.conftest import SPEECH, LiveServer, Voxguard


def client(voxguard: Voxguard, server: LiveServer, *args: str, api_key: str | None = None):  # type: ignore[no-untyped-def]
    group, *rest = args
    return voxguard("client", *group.split(), *rest, "--server", server.target,
                    "--api-key", api_key or server.api_key)


def write_wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    sf.write(path, samples, rate, subtype="PCM_16")
    return path


def test_whole_story(voxguard: Voxguard, live_server: LiveServer, tmp_path: Path) -> None:
    started = client(voxguard, live_server, "consent start", "--subject", "Ada Example", "--json")
    assert started.code == 0, started.err
    consent_id = started.json()["consent_id"]
    human = client(voxguard, live_server, "consent get", consent_id)
    assert "pending_recording" in human.out and "Ada Example" in human.out

    recorded = client(voxguard, live_server, "consent record", consent_id,
                      str(SPEECH / "consent_1998.flac"))
    assert recorded.code == 0, recorded.err
    assert f"consent {consent_id}: active" in recorded.out
    listed = client(voxguard, live_server, "consent list", "--json").json()
    assert consent_id in [c["consent_id"] for c in listed]

    # Two files: decoded, joined and re-encoded as one FLAC by the client.
    enrolled = client(voxguard, live_server, "enroll", "--consent", consent_id, "--name", "Ada",
                      str(SPEECH / "enrollment_1998.flac"), str(SPEECH / "1998-15444-0001.flac"),
                      "--json")
    assert enrolled.code == 0, enrolled.err
    voice = enrolled.json()
    assert voice["status"] == "VOICE_STATUS_READY"
    assert voice["quality"]["speech_seconds"] > 25  # more than the first file alone
    voice_id = voice["voice_id"]
    assert voice_id in client(voxguard, live_server, "voices list").out
    assert f"voice {voice_id}: ready" in client(voxguard, live_server, "voices get", voice_id).out

    wav = tmp_path / "hello.wav"
    said = client(voxguard, live_server, "say", "--voice", voice_id, "--text",
                  "Hello from the command line. This sentence is long enough to carry a watermark.", "--out", str(wav), "--json")
    assert said.code == 0, said.err
    generation_id = said.json()["generation_id"]
    audio, rate = sf.read(wav)
    assert rate == said.json()["sample_rate_hz"] and audio.size > rate * 0.5

    flac = tmp_path / "stream.flac"
    streamed = client(voxguard, live_server, "say", "--voice", voice_id, "--text", "Streaming works.",
                      "--format", "flac", "--stream", "--out", str(flac))
    assert streamed.code == 0, streamed.err
    assert "first audio after" in streamed.out
    assert sf.info(flac).format == "FLAC"

    detected = client(voxguard, live_server, "detect", str(wav), "--json").json()
    assert detected["detected"] is True and detected["generation_id"] == generation_id
    assert detected["attribution"]["voice_id"] == voice_id
    record = client(voxguard, live_server, "generation", generation_id)
    assert record.code == 0 and voice_id in record.out

    receipt = tmp_path / "receipt.txt"
    revoked = client(voxguard, live_server, "revoke", consent_id, "--reason", "test",
                     "--receipt-out", str(receipt))
    assert revoked.code == 0, revoked.err
    assert voice_id in revoked.out and "signed receipt: vgr1." in revoked.out
    verified = voxguard("admin", "verify-receipt", str(receipt), "--data-dir", str(live_server.data_dir))
    assert verified.code == 0 and verified.out.startswith("VALID")

    after = client(voxguard, live_server, "say", "--voice", voice_id, "--text", "Gone?",
                   "--out", str(tmp_path / "gone.wav"))
    assert after.code == 2
    assert after.err.startswith(("error: FAILED_PRECONDITION: ", "error: NOT_FOUND: "))
    assert not (tmp_path / "gone.wav").exists()


def test_voice_delete(voxguard: Voxguard, live_server: LiveServer) -> None:
    result = client(voxguard, live_server, "voices delete", "voice_doesnotexist0000000")
    assert result.code == 2
    assert result.err.startswith("error: NOT_FOUND: ")


def test_error_format_with_details_trailer(voxguard: Voxguard, live_server: LiveServer,
                                          tmp_path: Path) -> None:
    consent_id = client(voxguard, live_server, "consent start", "--subject", "Bo", "--json").json()["consent_id"]
    silence = write_wav(tmp_path / "silence.wav", np.zeros(16_000 * 4, dtype=np.float32))
    result = client(voxguard, live_server, "consent record", consent_id, str(silence))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert lines[0].startswith("error: INVALID_ARGUMENT: ")
    assert lines[1].startswith("details: {")
    assert "Traceback" not in result.err


@pytest.mark.parametrize("api_key", ["vxg_not-a-real-key", ""])
def test_bad_or_missing_api_key(voxguard: Voxguard, live_server: LiveServer,
                                monkeypatch: pytest.MonkeyPatch, api_key: str) -> None:
    monkeypatch.delenv("VOXGUARD_API_KEY", raising=False)
    result = voxguard("client", "voices", "list", "--server", live_server.target,
                      *(["--api-key", api_key] if api_key else []))
    assert result.code == 2
    expected = "error: UNAUTHENTICATED: " if api_key else "error: no API key"
    assert result.err.startswith(expected)


def test_api_key_and_server_from_environment(voxguard: Voxguard, live_server: LiveServer,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGUARD_API_KEY", live_server.api_key)
    monkeypatch.setenv("VOXGUARD_SERVER", "0.0.0.0:" + live_server.target.rsplit(":", 1)[1])
    monkeypatch.setenv("VOXGUARD_LISTEN", "127.0.0.1:1")  # the server's bind setting is not used
    result = voxguard("client", "voices", "list", "--json")
    assert result.code == 0, result.err


def test_unreachable_server(voxguard: Voxguard) -> None:
    result = voxguard("client", "voices", "list", "--server", "127.0.0.1:1", "--api-key", "x",
                      "--timeout", "5")
    assert result.code == 2
    assert result.err.startswith("error: UNAVAILABLE: ")


def test_missing_file(voxguard: Voxguard, live_server: LiveServer, tmp_path: Path) -> None:
    result = client(voxguard, live_server, "detect", str(tmp_path / "nope.wav"))
    assert result.code == 2 and "No such file" in result.err


def test_join_as_flac_keeps_every_sample(tmp_path: Path) -> None:
    from server.cli.audio_files import join_as_flac

    a = write_wav(tmp_path / "a.wav", np.full(8_000, 0.25, dtype=np.float32), rate=8_000)
    b = write_wav(tmp_path / "b.wav", np.full(16_000, -0.25, dtype=np.float32))
    joined, rate = sf.read(io.BytesIO(join_as_flac([a, b])))
    assert rate == 16_000 and joined.size == 32_000
    assert joined[8_000] == pytest.approx(0.25, abs=0.01) and joined[-1] == pytest.approx(-0.25, abs=0.01)


def test_a_running_server_blocks_master_key_rotation_on_its_data_dir(voxguard: Voxguard,
                                                                     live_server: LiveServer) -> None:
    refused = voxguard("admin", "rotate-master-key", "--data-dir", str(live_server.data_dir))
    assert refused.code == 2
    assert "a voxguard server is running on" in refused.err
