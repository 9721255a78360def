"""Telling every replica about erased voices: PostgreSQL ``LISTEN``/``NOTIFY``.

Several servers may share one PostgreSQL database. The replica (or the offline
``voxguard admin`` command) that commits an erasure also stops its own jobs, but queued and
running jobs of the voice in other replicas must stop too, within a second.

- :func:`announce_erasure` runs ``pg_notify`` inside the erasure's own transaction, so the
  message is delivered exactly when (and only if) the erasure commits.
- :class:`ErasureListener` holds one dedicated connection per server that ``LISTEN``\\s and
  hands each message's voice ids to a callback (the synthesis pool's eviction). It
  reconnects after a lost connection and, having reconnected, reports nothing it missed
  (the periodic sweep and every request's own consent check still refuse deleted voices).

SQLite deployments are single-process, so both are no-ops there.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "voxguard_erasure"
#: PostgreSQL refuses NOTIFY payloads of 8000 bytes or more: long lists go in several.
_MAX_IDS_PER_MESSAGE = 100


def announce_erasure(session: Session, voice_ids: Sequence[str]) -> None:
    """Queue a notification of ``voice_ids`` in ``session``'s transaction (PostgreSQL only)."""
    if not voice_ids or session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted(voice_ids)
    for start in range(0, len(ids), _MAX_IDS_PER_MESSAGE):
        payload = json.dumps({"voice_ids": ids[start : start + _MAX_IDS_PER_MESSAGE]})
        session.execute(text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": CHANNEL, "payload": payload})


class ErasureListener:
    """A background thread that LISTENs for erasures and reports their voice ids."""

    def __init__(self, database_url: str, on_voices: Callable[[list[str]], None], *,
                 poll_seconds: float = 0.2) -> None:
        url = make_url(database_url)
        if url.get_backend_name() != "postgresql":
            raise ValueError("erasure notifications need PostgreSQL")
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._on_voices = on_voices
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="erasure-listener", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once the LISTEN is in place (or after ``timeout``)."""
        self._thread.start()
        self._listening.wait(timeout)

    def stop(self) -> None:
        """Stop listening and close the connection."""
        self._stop.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    while not self._stop.is_set():
                        for note in connection.notifies(timeout=self._poll, stop_after=50):
                            self._deliver(note.payload)
            except Exception:
                log.exception("erasure listener lost its database connection; reconnecting")
                self._stop.wait(1.0)

    def _deliver(self, payload: str) -> None:
        try:
            voice_ids = [str(v) for v in json.loads(payload)["voice_ids"]]
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed erasure notification")
            return
        try:
            self._on_voices(voice_ids)
        except Exception:
            log.exception("erasure callback failed")
