"""Domain records to protobuf messages and back (no logic beyond field mapping)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from server.api.v1 import (
    common_pb2,
    consents_pb2,
    provenance_pb2,
    tenant_admin_pb2,
    voices_pb2,
)
from server.errors import InvalidArgument
from tenants.records import (
    ApiKey,
    Consent,
    ConsentStatus,
    Generation,
    Purpose,
    Receipt,
    Scope,
    Tenant,
    Voice,
    VoiceStatus,
)

SCOPES: dict[tenant_admin_pb2.Scope, Scope] = {
    tenant_admin_pb2.SCOPE_CONSENT: Scope.CONSENT,
    tenant_admin_pb2.SCOPE_ENROLL: Scope.ENROLL,
    tenant_admin_pb2.SCOPE_SYNTHESIZE: Scope.SYNTHESIZE,
    tenant_admin_pb2.SCOPE_DETECT: Scope.DETECT,
}
PURPOSES: dict[consents_pb2.Purpose, Purpose] = {
    consents_pb2.PURPOSE_SYNTHESIS: Purpose.SYNTHESIS,
    consents_pb2.PURPOSE_EVALUATION: Purpose.EVALUATION,
}
CONSENT_STATUS = {
    ConsentStatus.PENDING_RECORDING: consents_pb2.CONSENT_STATUS_PENDING_RECORDING,
    ConsentStatus.ACTIVE: consents_pb2.CONSENT_STATUS_ACTIVE,
    ConsentStatus.REVOKED: consents_pb2.CONSENT_STATUS_REVOKED,
    ConsentStatus.EXPIRED: consents_pb2.CONSENT_STATUS_EXPIRED,
}
VOICE_STATUS = {
    VoiceStatus.READY: voices_pb2.VOICE_STATUS_READY,
    VoiceStatus.DELETED: voices_pb2.VOICE_STATUS_DELETED,
}


def timestamp(moment: datetime | None) -> Timestamp | None:
    """A protobuf Timestamp, or None to leave the field unset."""
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def from_timestamp(stamp: Timestamp) -> datetime:
    """A protobuf Timestamp as an aware UTC datetime."""
    return stamp.ToDatetime(tzinfo=UTC)


def scopes_from_proto(values: Sequence[tenant_admin_pb2.Scope]) -> list[Scope]:
    """Enum values to scopes; INVALID_ARGUMENT for unspecified or unknown ones."""
    try:
        return [SCOPES[v] for v in values]
    except KeyError as exc:
        raise InvalidArgument("scopes must be SCOPE_CONSENT, SCOPE_ENROLL, SCOPE_SYNTHESIZE or SCOPE_DETECT",
                              field="scopes") from exc


def purposes_from_proto(values: Sequence[consents_pb2.Purpose]) -> list[Purpose]:
    """Enum values to purposes; INVALID_ARGUMENT for unspecified or unknown ones."""
    try:
        return [PURPOSES[v] for v in values]
    except KeyError as exc:
        raise InvalidArgument("purposes must be PURPOSE_SYNTHESIS or PURPOSE_EVALUATION",
                              field="purposes") from exc


def tenant_to_proto(tenant: Tenant) -> tenant_admin_pb2.Tenant:
    """Tenant record to message."""
    return tenant_admin_pb2.Tenant(tenant_id=tenant.tenant_id, display_name=tenant.display_name,
                                   created_at=timestamp(tenant.created_at))


def api_key_to_proto(key: ApiKey) -> tenant_admin_pb2.ApiKey:
    """API key record to message."""
    reverse = {scope: value for value, scope in SCOPES.items()}
    return tenant_admin_pb2.ApiKey(
        key_id=key.key_id, tenant_id=key.tenant_id, scopes=[reverse[s] for s in key.scopes],
        label=key.label, created_at=timestamp(key.created_at), revoked_at=timestamp(key.revoked_at),
    )


def receipt_to_proto(receipt: Receipt) -> common_pb2.DeletionReceipt:
    """Receipt record to message."""
    return common_pb2.DeletionReceipt(
        receipt_id=receipt.receipt_id, payload_json=receipt.payload_json,
        signature=receipt.signature, signing_key_id=receipt.signing_key_id,
    )


def consent_to_proto(consent: Consent) -> consents_pb2.Consent:
    """Consent record to message."""
    reverse = {purpose: value for value, purpose in PURPOSES.items()}
    return consents_pb2.Consent(
        consent_id=consent.consent_id, subject_name=consent.subject_name,
        status=CONSENT_STATUS[consent.status], statement_text=consent.statement_text,
        purposes=[reverse[p] for p in consent.purposes], created_at=timestamp(consent.created_at),
        expires_at=timestamp(consent.expires_at),
        recording_deadline=timestamp(consent.recording_deadline),
        activated_at=timestamp(consent.activated_at), revoked_at=timestamp(consent.revoked_at),
        revocation_reason=consent.revocation_reason, one_time_phrase=consent.one_time_phrase,
    )


def voice_to_proto(voice: Voice) -> voices_pb2.Voice:
    """Voice record to message."""
    return voices_pb2.Voice(
        voice_id=voice.voice_id, consent_id=voice.consent_id, display_name=voice.display_name,
        status=VOICE_STATUS[voice.status], created_at=timestamp(voice.created_at),
        quality=voices_pb2.EnrollmentQuality(speech_seconds=voice.speech_seconds,
                                             snr_db=voice.snr_db, speaker_match=voice.speaker_match),
        language=voice.language, engine=voice.engine, deleted_at=timestamp(voice.deleted_at),
    )


def generation_to_proto(generation: Generation) -> provenance_pb2.Generation:
    """Generation record to message."""
    return provenance_pb2.Generation(
        generation_id=generation.generation_id, voice_id=generation.voice_id,
        created_at=timestamp(generation.created_at), text_sha256=generation.text_sha256,
        duration_seconds=generation.duration_seconds, sample_rate_hz=generation.sample_rate,
        streamed=generation.streamed,
    )


def attribution_to_proto(generation: Generation) -> provenance_pb2.Attribution:
    """The attribution part of a generation record."""
    return provenance_pb2.Attribution(
        voice_id=generation.voice_id, created_at=timestamp(generation.created_at),
        text_sha256=generation.text_sha256, duration_seconds=generation.duration_seconds,
    )
