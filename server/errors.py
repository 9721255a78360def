"""Domain exceptions, one per failure class a caller can act on.

Every layer (audio, watermark, engines, tenants, storage) raises these; one gRPC
interceptor maps them to status codes (``server.grpc_app.errors``). Messages are written
for the caller: they say what was wrong and what to change, and never carry internals
(paths, SQL, stack traces) or facts about another tenant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any


class VoxguardError(Exception):
    """Base class of every error voxguard reports to a caller.

    ``details`` holds machine-readable facts (for example a speaker-match score) that the
    interceptor attaches to the status as trailing metadata. Every subclass can be rebuilt
    from its :attr:`kind`, message and details (:func:`error_of_kind`), which is how an
    error crosses from a worker process to the server with nothing lost.
    """

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _KINDS[cls.__name__] = cls

    @property
    def kind(self) -> str:
        """The error's class name (``InvalidAudio``), which :func:`error_of_kind` reads."""
        return type(self).__name__


_KINDS: dict[str, type[VoxguardError]] = {"VoxguardError": VoxguardError}


def error_of_kind(kind: str, message: str, details: Mapping[str, Any]) -> VoxguardError:
    """The domain error ``kind`` names, with ``message`` and ``details``; an unknown kind
    (a newer worker, say) becomes :class:`Internal`, never a silently different class."""
    error_type = _KINDS.get(kind)
    if error_type is None:
        return Internal(message, details=details)
    return error_type(message, details=details)


class InvalidArgument(VoxguardError):
    """The request itself is wrong (bad field, undecodable audio, text too long).

    ``field`` names the offending field of the request message when there is one (``speed``,
    ``metadata.display_name``); callers get it as a ``google.rpc.BadRequest`` violation.
    """

    def __init__(self, message: str, *, field: str | None = None,
                 details: Mapping[str, Any] | None = None) -> None:
        merged = dict(details or {})
        if field is not None:
            merged["field"] = field
        super().__init__(message, details=merged)

    @property
    def field(self) -> str | None:
        """The offending request field, if the error is about one."""
        value = self.details.get("field")
        return value if isinstance(value, str) else None


class InvalidAudio(InvalidArgument):
    """Audio that cannot be decoded or does not meet the stated requirements."""


class NotFound(VoxguardError):
    """The object does not exist, or belongs to another tenant (indistinguishable)."""


class AlreadyExists(VoxguardError):
    """An object with the same identity already exists."""


class FailedPrecondition(VoxguardError):
    """The request is well-formed but the system is not in a state that allows it."""


class ResourceExhausted(VoxguardError):
    """A quota, rate limit or queue is full; ``retry_after_seconds`` hints when to retry."""

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        merged = dict(details or {})
        if retry_after_seconds is not None:
            merged["retry_after_seconds"] = round(retry_after_seconds, 3)
        super().__init__(message, details=merged)

    @property
    def retry_after_seconds(self) -> float | None:
        """Seconds after which a retry is likely to find room, when known."""
        value = self.details.get("retry_after_seconds")
        return float(value) if value is not None else None


class Unauthenticated(VoxguardError):
    """No credential, or a credential that is unknown, malformed or revoked."""


class PermissionDenied(VoxguardError):
    """A valid credential that lacks the scope the call needs."""


class Unavailable(VoxguardError):
    """A transient failure (a worker crashed, the service is shutting down); retry."""


class Internal(VoxguardError):
    """A defect inside voxguard (an engine bug): not the caller's fault and not worth a
    retry. The message names the request id the operator finds in the log."""


class DeadlineExceeded(VoxguardError):
    """The caller's deadline passed before the work finished."""


class Cancelled(VoxguardError):
    """The caller cancelled the request."""


@contextmanager
def about_field(name: str) -> Iterator[None]:
    """Name ``name`` as the offending field of an :class:`InvalidArgument` raised inside
    that names none (for checks, such as audio decoding, that do not know the request)."""
    try:
        yield
    except InvalidArgument as error:
        error.details.setdefault("field", name)
        raise


class DecryptionError(Exception):
    """A ciphertext failed to open: wrong key, wrong associated data, or tampering.

    Deliberately opaque (like Fernet's InvalidToken): it never says which of those it was.
    It is not a ``VoxguardError`` because it must never reach a caller as such; the layer
    that sees it decides what the caller is told.
    """


class ModelFilesError(FailedPrecondition):
    """An engine's model files are missing, damaged, foreign or do not belong together."""
