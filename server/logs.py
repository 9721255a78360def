"""Process logging: one JSON object per line, each tagged with the request it belongs to.

Every RPC gets a request id (the caller's ``x-request-id`` when it is a sane token, else a
fresh one); the interceptor puts it in a context variable and sends it back to the caller
as ``x-request-id`` initial metadata, and every log line written while the RPC runs
carries it. Log lines name what happened and which ids were involved: never request text,
audio, API keys, tokens or key material (a test drives a server and searches the logs).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
from datetime import UTC, datetime

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def request_id_from(metadata: tuple[tuple[str, object], ...] | None) -> str:
    """The caller's request id if it is a sane token, else a new random one."""
    sent = next((v for k, v in metadata or () if k == REQUEST_ID_HEADER), None)
    if isinstance(sent, str) and _SANE_ID.fullmatch(sent):
        return sent
    return "req_" + secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id"?, ...extra, "exception"?}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | str) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _RequestIdText(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


def configure_logging(level: str, fmt: str = "json") -> None:
    """Send the process's logs to stderr as JSON lines (``fmt="json"``) or plain text."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.addFilter(_RequestIdText())
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library warnings (deprecations, pkg_resources, ...) become log records too, so stderr
    # carries nothing but log lines.
    logging.captureWarnings(True)
