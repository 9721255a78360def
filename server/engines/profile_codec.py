"""The byte format of the embedded engines' voice profiles: one ``.npz`` archive of float32
arrays plus a JSON header, with one reading that refuses damaged or foreign data clearly.

Both embedded engines (``embedded``, ``embedded-neural``) store their speaker profiles this
way; the voice model envelope (``VoiceModel``) wraps the bytes.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from server.errors import FailedPrecondition

_META = "__meta__"


def pack_profile(profile_format: int, meta: Mapping[str, Any],
                 arrays: Mapping[str, np.ndarray]) -> bytes:
    """``meta`` (JSON, with ``format`` added) and ``arrays`` (stored as float32) as bytes."""
    payload = {name: np.asarray(value, dtype=np.float32) for name, value in arrays.items()}
    header = {**meta, "format": profile_format}
    payload[_META] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **payload)  # type: ignore[arg-type]
    return buffer.getvalue()


def unpack_profile(data: bytes, profile_format: int,
                   engine: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the float64 arrays of :func:`pack_profile` output.

    Raises :class:`FailedPrecondition` naming ``engine`` when the bytes are not a profile or
    are of another format (the caller should enroll the voice again).
    """
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop(_META).astype(np.uint8).tobytes().decode())
        if not isinstance(meta, dict):
            raise TypeError("the profile header is not an object")
    except (ValueError, KeyError, OSError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise FailedPrecondition(f"stored {engine} voice profile is corrupt; enroll again") from exc
    if meta.get("format") != profile_format:
        raise FailedPrecondition(
            f"{engine} voice profile format {meta.get('format')} is not supported (this build "
            f"reads format {profile_format}); enroll the voice again"
        )
    return meta, {name: value.astype(np.float64) for name, value in arrays.items()}
