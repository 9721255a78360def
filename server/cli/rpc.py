"""Connecting the CLI to a running server, and reporting gRPC failures in one format.

A failed call prints ``error: <CODE>: <message>`` on stderr, followed by the server's
machine-readable details (the ``google.rpc.Status`` details trailer) when it sent any, and
the command exits 2. No traceback ever reaches the user.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from server.cli.output import EXIT_ERROR, fail
from server.errors import VoxguardError

DEFAULT_SERVER = "127.0.0.1:50051"
#: The client's own variable: the server's bind address (VOXGUARD_LISTEN) is often a
#: wildcard or a private interface, not where a client should connect.
SERVER_ENV = "VOXGUARD_SERVER"
API_KEY_ENV = "VOXGUARD_API_KEY"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

Handler = Callable[[argparse.Namespace], int]


@dataclass
class Connection:
    """A channel to the server and the metadata that authenticates every call."""

    channel: grpc.Channel
    metadata: tuple[tuple[str, str], ...]
    timeout: float | None

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """The flags every client command takes: where the server is and how to authenticate."""
    group = parser.add_argument_group("connection")
    group.add_argument("--server", help=f"host:port (default: ${SERVER_ENV} or {DEFAULT_SERVER})")
    group.add_argument("--api-key", help=f"tenant API key (default: ${API_KEY_ENV})")
    group.add_argument("--tls-ca", type=Path, help="PEM CA bundle: use TLS and trust this CA")
    group.add_argument("--tls", action="store_true", help="use TLS with the system's CA roots")
    group.add_argument("--timeout", type=float, default=600.0,
                       help="deadline of each call in seconds (default 600)")


def server_target(flag: str | None, environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """Where to connect: the flag, else $VOXGUARD_SERVER (a wildcard host means this machine)."""
    target = flag or environ.get(SERVER_ENV) or DEFAULT_SERVER
    host, _, port = target.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    return f"{host}:{port}"


def connect(args: argparse.Namespace) -> Connection:
    """Open a channel from the connection flags (API key required)."""
    api_key = args.api_key or os.environ.get(API_KEY_ENV)
    if not api_key:
        raise VoxguardError(f"no API key: pass --api-key or set {API_KEY_ENV}")
    return open_connection(server_target(args.server), api_key, tls_ca=args.tls_ca,
                           tls=args.tls, timeout=args.timeout)


def open_connection(target: str, token: str, *, tls_ca: Path | None = None, tls: bool = False,
                    timeout: float | None = 600.0) -> Connection:
    """A channel to ``target`` whose calls carry ``authorization: Bearer <token>``."""
    options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
               ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
    if tls_ca is not None or tls:
        roots = tls_ca.read_bytes() if tls_ca is not None else None
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(roots), options=options)
    else:
        channel = grpc.insecure_channel(target, options=options)
    return Connection(channel, (("authorization", f"Bearer {token}"),), timeout)


def reports_rpc_errors(handler: Handler) -> Handler:
    """Run a client command; gRPC and local failures become one stderr line and exit 2."""

    @functools.wraps(handler)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except grpc.RpcError as exc:
            print_rpc_error(exc)
            return EXIT_ERROR
        except VoxguardError as exc:
            return fail(exc.message)
        except OSError as exc:
            return fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))

    return wrapper


def print_rpc_error(error: grpc.RpcError) -> None:
    """``error: CODE: message`` (+ ``details: {...}``) on stderr."""
    code = error.code() if hasattr(error, "code") else None
    message = error.details() if hasattr(error, "details") else str(error)
    name = code.name if code is not None else "UNKNOWN"
    print(f"error: {name}: {message}", file=sys.stderr)
    details = error_details(error)
    if details is not None:
        print(f"details: {json.dumps(details, sort_keys=True)}", file=sys.stderr)


def error_details(error: grpc.RpcError) -> Any:
    """The server's ``google.rpc.Status`` details of a failed call as a dict, or None."""
    from server.grpc_app.errors import decode_status_details

    return decode_status_details(error)


def message_dict(message: Message) -> dict[str, Any]:
    """A protobuf message as JSON-ready dict (proto field names, enums as names).

    Scalars at their default value (``detected: false``, ``0``) are included, so scripts
    can rely on every field being present.
    """
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def when(message: Message, field: str) -> datetime | None:
    """A Timestamp field as an aware UTC datetime, or None when unset."""
    if not message.HasField(field):
        return None
    return getattr(message, field).ToDatetime(tzinfo=UTC)


def file_chunks(path: Path, size: int) -> Iterator[bytes]:
    """A file's bytes in chunks, read as they are sent (never whole into memory)."""
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk
