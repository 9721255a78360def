"""Synthesis: whole-clip and streamed synthesis through the worker pool."""

from __future__ import annotations

import asyncio
import time
from asyncio import to_thread
from collections.abc import AsyncIterator

import grpc
import numpy as np

from server.api.v1 import synthesis_pb2 as pb
from server.api.v1 import synthesis_pb2_grpc
from server.audio import AudioFormat, encode_audio
from server.engines.request import SynthesisParams
from server.errors import InvalidArgument, Unavailable, VoxguardError
from server.grpc_app.errors import status_for
from server.grpc_app.servicers import caller_tenant
from server.logs import REQUEST_ID
from server.platform import Platform
from server.synthesis.records import AudioPiece, SynthesisJob
from server.tracing import current_carrier, current_tracer, span
from tenants.generations import GenerationFacts
from tenants.ids import new_id

FORMATS: dict[pb.AudioFormat, AudioFormat] = {
    pb.AUDIO_FORMAT_UNSPECIFIED: AudioFormat.WAV,
    pb.AUDIO_FORMAT_WAV: AudioFormat.WAV,
    pb.AUDIO_FORMAT_PCM16: AudioFormat.PCM16,
    pb.AUDIO_FORMAT_FLAC: AudioFormat.FLAC,
    pb.AUDIO_FORMAT_OGG_OPUS: AudioFormat.OGG_OPUS,
    pb.AUDIO_FORMAT_MP3: AudioFormat.MP3,
}
FORMAT_TO_PROTO = {fmt: value for value, fmt in FORMATS.items() if value != pb.AUDIO_FORMAT_UNSPECIFIED}


class SynthesisServicer(synthesis_pb2_grpc.SynthesisServicer):
    """Maps Synthesis RPCs onto generation records and the worker pool."""

    def __init__(self, platform: Platform) -> None:
        self._p = platform

    async def Synthesize(self, request: pb.SynthesizeRequest,
                         context: grpc.aio.ServicerContext) -> pb.SynthesizeResponse:
        fmt = _format(request.audio_format)
        pcm: list[bytes] = []
        rate = 0
        generation_id = ""
        async for piece in self._run(request, context, fmt.value, streamed=False):
            pcm.append(piece.pcm16)
            rate, generation_id = piece.sample_rate, piece.generation_id
        samples = np.frombuffer(b"".join(pcm), "<i2").astype(np.float32) / 32767.0
        audio, out_rate = await to_thread(encode_audio, samples, rate, fmt)
        # Recorded after encoding: Ogg Opus may deliver another rate than the worker's.
        await to_thread(self._p.generations.complete, generation_id, len(samples) / rate, out_rate)
        return pb.SynthesizeResponse(audio=audio, audio_format=FORMAT_TO_PROTO[fmt],
                                     sample_rate_hz=out_rate, generation_id=generation_id,
                                     duration_seconds=len(samples) / rate)

    async def SynthesizeStream(self, request: pb.SynthesizeRequest,
                               context: grpc.aio.ServicerContext) -> AsyncIterator[pb.SynthesizeChunk]:
        async for piece in self._run(request, context, AudioFormat.PCM16.value, streamed=True):
            yield pb.SynthesizeChunk(audio=piece.pcm16, sequence=piece.sequence,
                                     generation_id=piece.generation_id, final=piece.final,
                                     sample_rate_hz=piece.sample_rate)

    async def _run(self, request: pb.SynthesizeRequest, context: grpc.aio.ServicerContext,
                   fmt: str, *, streamed: bool) -> AsyncIterator[AudioPiece]:
        service = self._p.synthesis
        if service is None:
            raise Unavailable("synthesis workers are not running; retry shortly")
        remaining = context.time_remaining()
        deadline = time.monotonic() + remaining if remaining is not None else None
        # Every field is checked here, once, before anything is recorded or queued.
        checked = self._p.request_rules.check(request.text, request.language,
                                              synthesis_params(request))
        facts = GenerationFacts(voice_id=request.voice_id, text=checked.text, audio_format=fmt,
                                sample_rate=request.sample_rate_hz, streamed=streamed)
        with span("db.begin_generation"):
            record = await to_thread(self._p.generations.begin, caller_tenant(), facts)
        job_id, generation_id = new_id("job"), record.generation_id
        submitted_ns = time.time_ns()
        samples = 0
        rate = 0
        accepted = time.monotonic()
        metrics = self._p.metrics
        try:
            job = SynthesisJob(
                job_id=job_id, request_id=REQUEST_ID.get(), tenant_id=record.tenant_id,
                voice_id=record.voice_id, voice_model=record.voice_model,
                generation_id=generation_id, deadline=deadline, trace_context=current_carrier(),
                request=self._p.request_rules.for_voice(checked, record.voice_language))
            async for piece in service.run(job):
                if samples == 0 and piece.pcm16:
                    metrics.first_chunk.observe(time.monotonic() - accepted)
                    queued_until = service.assigned_at_ns(job_id) or time.time_ns()
                    current_tracer().start_span(
                        "synthesis.queue", start_time=submitted_ns).end(end_time=queued_until)
                metrics.audio_seconds.inc(len(piece.pcm16) / 2 / max(piece.sample_rate, 1))
                samples += len(piece.pcm16) // 2
                rate = piece.sample_rate
                yield piece
        except VoxguardError as error:
            await to_thread(self._p.generations.fail, generation_id, status_for(error).name,
                            samples / max(rate, 1))
            raise
        except asyncio.CancelledError:
            # The caller went away or its deadline passed: gRPC cancels this coroutine. The
            # generation still gets its synthesis.failed event (shielded from the cancel).
            remaining = context.time_remaining()
            reason = "DEADLINE_EXCEEDED" if remaining is not None and remaining <= 0 else "CANCELLED"
            await asyncio.shield(to_thread(self._p.generations.fail, generation_id, reason,
                                           samples / max(rate, 1)))
            raise
        if streamed:
            await to_thread(self._p.generations.complete, generation_id, samples / max(rate, 1), rate)


def synthesis_params(request: pb.SynthesizeRequest) -> SynthesisParams:
    """The request's speed, output rate and the sampling options the caller set; building
    the record checks their ranges (``speed`` 0 means 1.0, ``sample_rate_hz`` 0 native)."""
    sampling = {
        name: getattr(request, name)
        for name in ("top_k", "top_p", "temperature", "repetition_penalty", "seed")
        if request.HasField(name)
    }
    return SynthesisParams(
        speed=request.speed or 1.0, sample_rate=request.sample_rate_hz or None,
        text_split=request.text_split.strip().lower() or None, **sampling)


def _format(value: pb.AudioFormat) -> AudioFormat:
    try:
        return FORMATS[value]
    except KeyError as exc:
        raise InvalidArgument("audio_format must be WAV, PCM16, FLAC, OGG_OPUS or MP3",
                              field="audio_format") from exc
