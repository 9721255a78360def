"""Keyset pagination over (created_at, id), shared by every List RPC.

Page tokens are opaque and tamper-evident: ``<cursor>.<tag>`` where the cursor is the
base64 JSON ``[created_at, id]`` of the last item returned and the tag an HMAC-SHA256 (128
bits) over the listing's name and the cursor, under a server-wide secret. A forged or
edited token is refused before its contents are parsed, so no crafted date or id ever
reaches the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, tuple_

from server.db.session import Database
from server.errors import InvalidArgument
from tenants.ids import clamp_page_size
from tenants.records import Page, T

_TAG_BYTES = 16
_DOMAIN = b"voxguard/page-token/v1"


class PageTokens:
    """Issues and checks page tokens under one secret key (see the module docstring)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("page token key must be at least 16 bytes")
        self._key = bytes(key)

    @classmethod
    def ephemeral(cls) -> PageTokens:
        """Tokens valid in this process only (tests, tools without a server secret)."""
        return cls(secrets.token_bytes(32))

    def encode(self, listing: str, created_at: datetime, object_id: str) -> str:
        """The token for the cursor after (created_at, object_id) in ``listing``."""
        cursor = _b64(json.dumps([created_at.isoformat(), object_id]).encode())
        return f"{cursor}.{_b64(self._tag(listing, cursor))}"

    def decode(self, listing: str, token: str) -> tuple[datetime, str]:
        """The cursor of a token this server issued for ``listing``; INVALID_ARGUMENT otherwise."""
        cursor, _, tag = token.partition(".")
        try:
            expected = self._tag(listing, cursor)
            valid = hmac.compare_digest(_unb64(tag), expected)
        except ValueError:
            valid = False
        if not valid:
            raise InvalidArgument(
                "page_token is not valid for this listing; pass next_page_token unchanged",
                field="page_token",
            )
        created, object_id = json.loads(_unb64(cursor))
        return datetime.fromisoformat(created), str(object_id)

    def _tag(self, listing: str, cursor: str) -> bytes:
        message = b"|".join((_DOMAIN, listing.encode(), cursor.encode()))
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError("not base64") from exc


def paginate(db: Database, tokens: PageTokens, query: Select[Any], model: Any, page_size: int,
             page_token: str, to_record: Callable[[Any], T], *,
             newest_first: bool = True) -> Page[T]:
    """Run ``query`` (already filtered) one page at a time, ordered by ``model``'s
    ``created_at`` and ``id``; the token is the cursor after the last item returned."""
    size = clamp_page_size(page_size)
    key = tuple_(model.created_at, model.id)
    listing = str(model.__tablename__)
    if page_token:
        cursor = tokens.decode(listing, page_token)
        query = query.where(key < cursor if newest_first else key > cursor)
    order = (model.created_at.desc(), model.id.desc()) if newest_first else (model.created_at, model.id)
    with db.transaction(write=False) as session:
        rows = list(session.execute(query.order_by(*order).limit(size + 1)).scalars())
    more = len(rows) > size
    rows = rows[:size]
    token = tokens.encode(listing, rows[-1].created_at, rows[-1].id) if more else ""
    return Page(items=tuple(to_record(row) for row in rows), next_page_token=token)
