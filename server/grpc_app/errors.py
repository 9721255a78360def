"""The one mapping from domain exceptions to gRPC status codes and rich error details.

Every refusal carries a standard ``google.rpc.Status`` in the ``grpc-status-details-bin``
trailer, which gRPC libraries in every language decode (Go ``status.FromError``, Java
``StatusProto.fromThrowable``, Python ``grpc_status.rpc_status.from_call``):

- ``google.rpc.ErrorInfo``: ``reason`` names the error class (``INVALID_AUDIO``,
  ``RESOURCE_EXHAUSTED``, ...), ``domain`` is ``voxguard.dev`` and ``metadata`` holds the
  machine-readable facts (values JSON-encoded when they are not strings), except those that
  travel in a detail of their own below (each fact appears once);
- ``google.rpc.RetryInfo`` when the caller should retry after a delay;
- ``google.rpc.BadRequest`` naming the offending field, when one is known;
- ``google.rpc.ResourceInfo`` naming the resource type, when one is known.
"""

from __future__ import annotations

import json
import re
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from server import errors

ERROR_DOMAIN = "voxguard.dev"
#: Facts carried by RetryInfo, BadRequest and ResourceInfo rather than ErrorInfo metadata.
_OWN_DETAIL_KEYS = frozenset({"retry_after_seconds", "field", "resource_type", "resource_name"})
STATUS_DETAILS_KEY = "grpc-status-details-bin"

_CODES: tuple[tuple[type[errors.VoxguardError], grpc.StatusCode], ...] = (
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.Internal, grpc.StatusCode.INTERNAL),
    (errors.DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (errors.Cancelled, grpc.StatusCode.CANCELLED),
)


def status_for(error: errors.VoxguardError) -> grpc.StatusCode:
    """The gRPC status code of a domain error (most specific class wins)."""
    for error_type, code in _CODES:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.UNKNOWN


def error_reason(error: errors.VoxguardError) -> str:
    """``InvalidAudio`` -> ``INVALID_AUDIO``: the ErrorInfo reason of a domain error."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).upper()


def status_proto(error: errors.VoxguardError) -> status_pb2.Status:
    """The ``google.rpc.Status`` with every detail voxguard knows about ``error``."""
    code = status_for(error)
    status = status_pb2.Status(code=getattr(code_pb2, code.name, code_pb2.UNKNOWN),
                               message=error.message)
    info = error_details_pb2.ErrorInfo(reason=error_reason(error), domain=ERROR_DOMAIN)
    for key, value in error.details.items():
        if key in _OWN_DETAIL_KEYS:
            continue
        info.metadata[str(key)] = value if isinstance(value, str) else json.dumps(value)
    status.details.add().Pack(info)
    retry = error.details.get("retry_after_seconds")
    if retry is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(float(retry) * 1e9))
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    field = error.details.get("field")
    if isinstance(field, str):
        violation = error_details_pb2.BadRequest.FieldViolation(field=field,
                                                                description=error.message)
        status.details.add().Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    resource = error.details.get("resource_type")
    if isinstance(resource, str):
        status.details.add().Pack(error_details_pb2.ResourceInfo(
            resource_type=resource, resource_name=str(error.details.get("resource_name", "")),
            description=error.message))
    return status


def trailing_metadata(error: errors.VoxguardError) -> tuple[tuple[str, Any], ...]:
    """The trailer that carries :func:`status_proto` (binary, as gRPC defines it)."""
    return ((STATUS_DETAILS_KEY, status_proto(error).SerializeToString()),)


def decode_status_details(error: grpc.RpcError) -> dict[str, Any] | None:
    """Client side: the details of a failed call as a plain dict, or None if it sent none.

    ``{"reason", "domain", "metadata", "retry_after_seconds"?, "field_violations"?,
    "resource"?}``; ``metadata`` values are decoded back from JSON where they were encoded.
    """
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    raw = next((value for key, value in trailers or () if key == STATUS_DETAILS_KEY), None)
    if not isinstance(raw, bytes):
        return None
    status = status_pb2.Status.FromString(raw)
    found: dict[str, Any] = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            found.update(reason=info.reason, domain=info.domain,
                         metadata={k: _maybe_json(v) for k, v in info.metadata.items()})
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            found["retry_after_seconds"] = retry.retry_delay.ToNanoseconds() / 1e9
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found["field_violations"] = [v.field for v in bad.field_violations]
        elif detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            resource = error_details_pb2.ResourceInfo()
            detail.Unpack(resource)
            found["resource"] = {"type": resource.resource_type, "name": resource.resource_name}
    return found or None


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value
