"""Consents: the consent lifecycle for the caller's tenant."""

from __future__ import annotations

from asyncio import to_thread

import grpc

from server.api.v1 import consents_pb2 as pb
from server.api.v1 import consents_pb2_grpc
from server.errors import about_field
from server.grpc_app import convert
from server.grpc_app.servicers import caller_tenant
from server.platform import Platform


class ConsentsServicer(consents_pb2_grpc.ConsentsServicer):
    """Maps Consents RPCs onto the consent service."""

    def __init__(self, platform: Platform) -> None:
        self._p = platform

    async def StartConsent(self, request: pb.StartConsentRequest,
                           context: grpc.aio.ServicerContext) -> pb.Consent:
        expires_at = convert.from_timestamp(request.expires_at) if request.HasField("expires_at") else None
        purposes = convert.purposes_from_proto(list(request.purposes))
        consent = await to_thread(self._p.consents.start, caller_tenant(), request.subject_name,
                                  purposes, expires_at)
        return convert.consent_to_proto(consent)

    async def SubmitConsentRecording(self, request: pb.SubmitConsentRecordingRequest,
                                     context: grpc.aio.ServicerContext) -> pb.Consent:
        with about_field("audio"):
            consent = await to_thread(self._p.consents.submit_recording, caller_tenant(),
                                      request.consent_id, request.audio)
        return convert.consent_to_proto(consent)

    async def GetConsent(self, request: pb.GetConsentRequest, context: grpc.aio.ServicerContext) -> pb.Consent:
        return convert.consent_to_proto(await to_thread(self._p.consents.get, caller_tenant(), request.consent_id))

    async def ListConsents(self, request: pb.ListConsentsRequest,
                           context: grpc.aio.ServicerContext) -> pb.ListConsentsResponse:
        page = await to_thread(self._p.consents.list, caller_tenant(), request.page_size, request.page_token)
        return pb.ListConsentsResponse(consents=[convert.consent_to_proto(c) for c in page.items],
                                       next_page_token=page.next_page_token)

    async def RevokeConsent(self, request: pb.RevokeConsentRequest,
                            context: grpc.aio.ServicerContext) -> pb.RevokeConsentResponse:
        consent, deletion = await to_thread(self._p.consents.revoke, caller_tenant(),
                                            request.consent_id, request.reason)
        return pb.RevokeConsentResponse(consent=convert.consent_to_proto(consent),
                                        deleted_voice_ids=list(deletion.voice_ids),
                                        receipt=convert.receipt_to_proto(deletion.receipt))
