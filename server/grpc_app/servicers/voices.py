"""Voices: streaming enrollment and voice management for the caller's tenant."""

from __future__ import annotations

from asyncio import to_thread
from collections.abc import AsyncIterator

import grpc

from server.api.v1 import voices_pb2 as pb
from server.api.v1 import voices_pb2_grpc
from server.audio import decode_audio
from server.errors import InvalidArgument, ResourceExhausted, about_field
from server.grpc_app import convert
from server.grpc_app.servicers import caller_tenant
from server.platform import Platform


class VoicesServicer(voices_pb2_grpc.VoicesServicer):
    """Maps Voices RPCs onto the voice service."""

    def __init__(self, platform: Platform) -> None:
        self._p = platform

    async def Enroll(self, request_iterator: AsyncIterator[pb.EnrollRequest],
                     context: grpc.aio.ServicerContext) -> pb.Voice:
        tenant_id = caller_tenant()
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("payload") != "metadata":
            raise InvalidArgument("the first Enroll message must carry metadata", field="metadata")
        meta = first.metadata
        await to_thread(self._p.voices.check_request, tenant_id, meta.consent_id,
                        meta.display_name, meta.language, meta.transcript)
        data = await self._read_audio(request_iterator)
        with about_field("audio_chunk"):
            audio = await to_thread(decode_audio, data,
                                    max_seconds=self._p.voices.limits.max_duration_seconds)
            voice = await to_thread(self._p.voices.enroll, tenant_id, meta.consent_id,
                                    meta.display_name, meta.language, audio, meta.transcript)
        return convert.voice_to_proto(voice)

    async def _read_audio(self, request_iterator: AsyncIterator[pb.EnrollRequest]) -> bytes:
        limit = self._p.settings.max_enroll_bytes
        parts: list[bytes] = []
        total = 0
        async for message in request_iterator:
            if message.WhichOneof("payload") != "audio_chunk":
                raise InvalidArgument("only the first Enroll message may carry metadata",
                                      field="metadata")
            total += len(message.audio_chunk)
            if total > limit:
                # Like gRPC's own answer to an over-size message: RESOURCE_EXHAUSTED.
                raise ResourceExhausted(
                    f"enrollment audio is larger than the limit of {limit:,} bytes; send at most "
                    "5 minutes of audio (compressed formats such as FLAC or Ogg help)",
                    details={"limit_bytes": limit},
                )
            parts.append(message.audio_chunk)
        if not parts:
            raise InvalidArgument("no audio received; send audio_chunk messages after the metadata",
                                  field="audio_chunk")
        return b"".join(parts)

    async def GetVoice(self, request: pb.GetVoiceRequest, context: grpc.aio.ServicerContext) -> pb.Voice:
        return convert.voice_to_proto(await to_thread(self._p.voices.get, caller_tenant(), request.voice_id))

    async def ListVoices(self, request: pb.ListVoicesRequest,
                         context: grpc.aio.ServicerContext) -> pb.ListVoicesResponse:
        page = await to_thread(self._p.voices.list, caller_tenant(), request.page_size,
                               request.page_token, request.include_deleted)
        return pb.ListVoicesResponse(voices=[convert.voice_to_proto(v) for v in page.items],
                                     next_page_token=page.next_page_token)

    async def DeleteVoice(self, request: pb.DeleteVoiceRequest,
                          context: grpc.aio.ServicerContext) -> pb.DeleteVoiceResponse:
        voice, deletion = await to_thread(self._p.voices.delete, caller_tenant(), request.voice_id)
        return pb.DeleteVoiceResponse(voice=convert.voice_to_proto(voice),
                                      receipt=convert.receipt_to_proto(deletion.receipt))
