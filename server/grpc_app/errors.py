"""The one mapping from domain exceptions to gRPC status codes."""

from __future__ import annotations

import json

import grpc

from server import errors

DETAILS_METADATA_KEY = "voxguard-error-details"
RETRY_METADATA_KEY = "voxguard-retry-after-seconds"

_CODES: tuple[tuple[type[errors.VoxguardError], grpc.StatusCode], ...] = (
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (errors.Cancelled, grpc.StatusCode.CANCELLED),
)


def status_for(error: errors.VoxguardError) -> grpc.StatusCode:
    """The gRPC status code of a domain error (most specific class wins)."""
    for error_type, code in _CODES:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.UNKNOWN


def trailing_metadata(error: errors.VoxguardError) -> tuple[tuple[str, str], ...]:
    """Machine-readable details as trailers: a JSON object and, if any, a retry hint."""
    trailers: list[tuple[str, str]] = []
    if error.details:
        trailers.append((DETAILS_METADATA_KEY, json.dumps(error.details, sort_keys=True)))
    retry = error.details.get("retry_after_seconds")
    if retry is not None:
        trailers.append((RETRY_METADATA_KEY, str(retry)))
    return tuple(trailers)
