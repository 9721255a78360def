"""Keyset pagination over (created_at, id), shared by every List RPC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, tuple_

from server.db.session import Database
from tenants.ids import clamp_page_size, decode_page_token, encode_page_token
from tenants.records import Page


def paginate(db: Database, query: Select[Any], model: Any, page_size: int, page_token: str,
             to_record: Callable[[Any], object], *, newest_first: bool = True) -> Page:
    """Run ``query`` (already filtered) one page at a time, ordered by ``model``'s
    ``created_at`` and ``id``; the token is the cursor after the last item returned."""
    size = clamp_page_size(page_size)
    key = tuple_(model.created_at, model.id)
    if page_token:
        cursor = decode_page_token(page_token)
        query = query.where(key < cursor if newest_first else key > cursor)
    order = (model.created_at.desc(), model.id.desc()) if newest_first else (model.created_at, model.id)
    with db.transaction(write=False) as session:
        rows = list(session.execute(query.order_by(*order).limit(size + 1)).scalars())
    more = len(rows) > size
    rows = rows[:size]
    token = encode_page_token(rows[-1].created_at, rows[-1].id) if more else ""
    return Page(items=tuple(to_record(row) for row in rows), next_page_token=token)
