"""End-to-end synthesis benchmark through the real gRPC server and worker pool.

Measures what a backend caller sees: real-time factor of ``Synthesize``, time to the
first chunk of ``SynthesizeStream``, and throughput and latency under concurrency
(requests beyond the queue answer RESOURCE_EXHAUSTED and are counted). The server runs
in-process on 127.0.0.1 with a fresh data directory; the voice is enrolled from the
first corpus speaker. The consent statement check is disabled because the corpus holds
no readings of a consent statement (the consent recording is the speaker's 7th clip).

    python benchmarks/synthesis_load.py --corpus ../shared/corpus --workers 2
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._corpus import (
    RESULTS_DIR,
    add_corpus_argument,
    concatenate,
    load_speakers,
    machine_description,
)
from benchmarks.sentences import SENTENCES
from server.api.v1 import (
    consents_pb2,
    consents_pb2_grpc,
    synthesis_pb2,
    synthesis_pb2_grpc,
    tenant_admin_pb2,
    tenant_admin_pb2_grpc,
    voices_pb2,
    voices_pb2_grpc,
)
from server.config import Settings
from server.grpc_app.background import BackgroundServer

ADMIN = "vxa_benchmark-operator-token-000000000000"
PARAGRAPH = " ".join(SENTENCES[:3])


def _flac(audio: Any) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio.samples, audio.sample_rate, format="FLAC")
    return buffer.getvalue()


def _setup(channel: grpc.Channel, corpus: Path) -> tuple[tuple[tuple[str, str], ...], str]:
    operator = (("authorization", f"Bearer {ADMIN}"),)
    admin = tenant_admin_pb2_grpc.TenantAdminStub(channel)
    tenant = admin.CreateTenant(tenant_admin_pb2.CreateTenantRequest(display_name="Benchmark"), metadata=operator)
    key = admin.CreateApiKey(tenant_admin_pb2.CreateApiKeyRequest(
        tenant_id=tenant.tenant_id,
        scopes=[tenant_admin_pb2.SCOPE_CONSENT, tenant_admin_pb2.SCOPE_ENROLL, tenant_admin_pb2.SCOPE_SYNTHESIZE],
    ), metadata=operator)
    md = (("authorization", f"Bearer {key.api_key}"),)
    utterances = next(iter(load_speakers(corpus).values()))
    consents = consents_pb2_grpc.ConsentsStub(channel)
    consent = consents.StartConsent(consents_pb2.StartConsentRequest(
        subject_name="Benchmark Speaker", purposes=[consents_pb2.PURPOSE_SYNTHESIS]), metadata=md)
    consents.SubmitConsentRecording(consents_pb2.SubmitConsentRecordingRequest(
        consent_id=consent.consent_id, audio=_flac(utterances[6].audio)), metadata=md)
    audio = _flac(concatenate(utterances[:6]))
    messages = [voices_pb2.EnrollRequest(metadata=voices_pb2.EnrollMetadata(
        consent_id=consent.consent_id, display_name="bench", language="en"))]
    messages += [voices_pb2.EnrollRequest(audio_chunk=audio[i:i + 262_144]) for i in range(0, len(audio), 262_144)]
    started = time.perf_counter()
    voice = voices_pb2_grpc.VoicesStub(channel).Enroll(iter(messages), metadata=md)
    print(f"enrolled {voice.voice_id} ({voice.quality.speech_seconds:.1f} s speech) "
          f"in {time.perf_counter() - started:.1f} s")
    return md, voice.voice_id


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def single_requests(stub: Any, md: Any, voice_id: str, count: int) -> dict[str, float]:
    """RTF of whole-clip synthesis, one request at a time."""
    rtfs, latencies = [], []
    for sentence in (SENTENCES * 3)[:count]:
        started = time.perf_counter()
        reply = stub.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=sentence), metadata=md)
        elapsed = time.perf_counter() - started
        latencies.append(elapsed)
        rtfs.append(elapsed / reply.duration_seconds)
    return {"requests": count, "rtf_mean": statistics.mean(rtfs), "rtf_p95": _percentile(rtfs, 0.95),
            "latency_p50_s": _percentile(latencies, 0.5)}


def first_chunks(stub: Any, md: Any, voice_id: str, count: int, text: str) -> dict[str, float]:
    """Time from sending SynthesizeStream to receiving its first chunk."""
    firsts, totals = [], []
    for _ in range(count):
        started = time.perf_counter()
        first = None
        for _chunk in stub.SynthesizeStream(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=text),
                                            metadata=md):
            first = first or time.perf_counter() - started
        firsts.append(first or 0.0)
        totals.append(time.perf_counter() - started)
    return {"requests": count, "first_chunk_p50_s": _percentile(firsts, 0.5),
            "first_chunk_p95_s": _percentile(firsts, 0.95), "total_p50_s": _percentile(totals, 0.5)}


def concurrent(stub: Any, md: Any, voice_id: str, clients: int, per_client: int) -> dict[str, float]:
    """``clients`` threads, each sending ``per_client`` paragraph requests back to back."""
    latencies: list[float] = []
    audio_seconds = [0.0]
    refused = [0]
    lock = threading.Lock()

    def run() -> None:
        for _ in range(per_client):
            started = time.perf_counter()
            try:
                reply = stub.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text=PARAGRAPH),
                                        metadata=md, timeout=600)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                    raise
                with lock:
                    refused[0] += 1
                continue
            with lock:
                latencies.append(time.perf_counter() - started)
                audio_seconds[0] += reply.duration_seconds

    threads = [threading.Thread(target=run) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"clients": clients, "completed": len(latencies), "refused": refused[0],
            "audio_seconds_per_second": audio_seconds[0] / wall,
            "latency_p50_s": _percentile(latencies, 0.5) if latencies else 0.0,
            "latency_p95_s": _percentile(latencies, 0.95) if latencies else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_argument(parser)
    parser.add_argument("--workers", type=int, default=2, help="synthesis worker processes")
    parser.add_argument("--requests", type=int, default=10, help="requests per sequential measurement")
    parser.add_argument("--concurrency", default="1,2,4,8", help="client counts to try")
    parser.add_argument("--per-client", type=int, default=3, help="requests per concurrent client")
    parser.add_argument("--engine", default=Settings.model_fields["engine"].default,
                        help="synthesis engine (default: the server's default)")
    parser.add_argument("--out", type=Path, default=None,
                        help="result file (default: results/synthesis_load_<engine>.json)")
    args = parser.parse_args(argv)
    out = args.out or RESULTS_DIR / f"synthesis_load_{args.engine}.json"
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings.load(data_dir=Path(data_dir), listen="127.0.0.1:0", admin_token=ADMIN,
                                 engine=args.engine, cpu_workers=args.workers, consent_verify_statement=False,
                                 rate_limit_per_minute=1_000_000, rate_limit_burst=100_000)
        started = time.perf_counter()
        server = BackgroundServer(settings)
        startup = time.perf_counter() - started
        try:
            with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                md, voice_id = _setup(channel, args.corpus)
                stub = synthesis_pb2_grpc.SynthesisStub(channel)
                stub.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id=voice_id, text="Warm up."), metadata=md)
                results: dict[str, Any] = {
                    "machine": machine_description(),
                    "engine": args.engine,
                    "workers": args.workers,
                    "server_start_seconds": startup,
                    "single": single_requests(stub, md, voice_id, args.requests),
                    "first_chunk_one_sentence": first_chunks(stub, md, voice_id, args.requests, SENTENCES[0]),
                    "first_chunk_paragraph": first_chunks(stub, md, voice_id, max(3, args.requests // 2), PARAGRAPH),
                    "concurrency": [concurrent(stub, md, voice_id, int(n), args.per_client)
                                    for n in args.concurrency.split(",")],
                }
        finally:
            server.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    single, first = results["single"], results["first_chunk_one_sentence"]
    print(f"machine: {results['machine']}, engine {args.engine}, {args.workers} workers")
    print(f"Synthesize, one at a time: RTF mean {single['rtf_mean']:.3f} (p95 {single['rtf_p95']:.3f}), "
          f"latency p50 {single['latency_p50_s'] * 1000:.0f} ms")
    print(f"SynthesizeStream first chunk (one sentence): p50 {first['first_chunk_p50_s'] * 1000:.0f} ms, "
          f"p95 {first['first_chunk_p95_s'] * 1000:.0f} ms")
    para = results["first_chunk_paragraph"]
    print(f"SynthesizeStream first chunk (three sentences): p50 {para['first_chunk_p50_s'] * 1000:.0f} ms, "
          f"whole p50 {para['total_p50_s'] * 1000:.0f} ms")
    print("clients | completed | refused | audio s per s | p50 latency | p95 latency")
    for row in results["concurrency"]:
        print(f"{row['clients']:7d} | {row['completed']:9d} | {row['refused']:7d} | "
              f"{row['audio_seconds_per_second']:13.2f} | {row['latency_p50_s']:9.2f} s | {row['latency_p95_s']:9.2f} s")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
