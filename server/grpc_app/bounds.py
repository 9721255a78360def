"""Size limits on identifier fields, checked at the edge before any service sees a request.

Identifiers are echoed in error messages ("voice 'x' not found"); an unbounded one made the
error itself larger than the client's metadata limit. Every ``*_id`` field and every page
token is bounded here, and the refusal never repeats the value.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from server.errors import InvalidArgument

#: Longer than any id voxguard issues (``voice_`` + 20 characters, 16 hex digits, ...).
MAX_ID_CHARS = 128
#: Page tokens are short base64 cursors.
MAX_PAGE_TOKEN_CHARS = 512


def check_identifier_bounds(message: Message) -> None:
    """Raise :class:`InvalidArgument` for an over-long id or page token anywhere in ``message``."""
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            values = value if _repeated(field) else [value]
            for item in values:
                check_identifier_bounds(item)
            continue
        if field.type != FieldDescriptor.TYPE_STRING:
            continue
        limit = _limit(field.name)
        if limit is None:
            continue
        for item in value if _repeated(field) else [value]:
            if len(item) > limit:
                raise InvalidArgument(
                    f"{field.name} is longer than {limit} characters; send a value the API "
                    "returned",
                    field=field.name,
                )


def _limit(name: str) -> int | None:
    if name == "page_token":
        return MAX_PAGE_TOKEN_CHARS
    if name.endswith(("_id", "_ids")):
        return MAX_ID_CHARS
    return None


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)
