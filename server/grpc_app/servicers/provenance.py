"""Provenance: watermark detection and generation look-up, attribution only to the owner."""

from __future__ import annotations

from asyncio import to_thread

import grpc

from server.api.v1 import provenance_pb2 as pb
from server.api.v1 import provenance_pb2_grpc
from server.audio import Audio, decode_audio
from server.errors import about_field
from server.grpc_app import convert
from server.grpc_app.servicers import caller_tenant
from server.platform import Platform
from server.watermark import Detection, detect_any_speed

MAX_DETECT_SECONDS = 600.0


class ProvenanceServicer(provenance_pb2_grpc.ProvenanceServicer):
    """Maps Provenance RPCs onto the watermark detector and generation records."""

    def __init__(self, platform: Platform) -> None:
        self._p = platform

    async def DetectWatermark(self, request: pb.DetectWatermarkRequest,
                              context: grpc.aio.ServicerContext) -> pb.DetectWatermarkResponse:
        with about_field("audio"):
            audio = await to_thread(decode_audio, request.audio, max_seconds=MAX_DETECT_SECONDS)
        found = await to_thread(self._detect, audio)
        self._p.metrics.detections.labels(
            result="detected" if found.detected else "not_detected").inc()
        if not found.detected or found.payload is None:
            return pb.DetectWatermarkResponse(detected=False, confidence=found.confidence)
        generation = await to_thread(self._p.generations.find, caller_tenant(), found.payload.hex())
        if generation is None:
            return pb.DetectWatermarkResponse(detected=True, confidence=found.confidence)
        return pb.DetectWatermarkResponse(
            detected=True, confidence=found.confidence, generation_id=generation.generation_id,
            attribution=convert.attribution_to_proto(generation),
        )

    async def GetGeneration(self, request: pb.GetGenerationRequest,
                            context: grpc.aio.ServicerContext) -> pb.Generation:
        generation = await to_thread(self._p.generations.get, caller_tenant(), request.generation_id)
        return convert.generation_to_proto(generation)

    def _detect(self, audio: Audio) -> Detection:
        return detect_any_speed(audio.samples, audio.sample_rate, self._p.watermark_keys)
