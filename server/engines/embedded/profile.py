"""The embedded engine's speaker profile: what enrollment learns and synthesis applies.

A profile is a handful of named float arrays plus a little metadata, serialised as an
uncompressed-safe ``.npz`` (no pickle) inside :attr:`VoiceModel.data`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

from server.errors import FailedPrecondition

PROFILE_FORMAT = 1


@dataclass
class SpeakerProfile:
    """Per-speaker conversion parameters.

    ``variant`` is the eSpeak NG voice variant (e.g. ``m3``) chosen at enrollment;
    ``rate_factor`` scales its speaking rate toward the speaker's; ``arrays`` holds the
    statistics and transforms the converter uses (speaker and base-voice statistics).
    """

    variant: str
    rate_factor: float
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Serialise to bytes (float arrays stored as float32)."""
        meta = {
            "format": PROFILE_FORMAT,
            "variant": self.variant,
            "rate_factor": float(self.rate_factor),
        }
        buffer = io.BytesIO()
        payload = {name: np.asarray(value, dtype=np.float32) for name, value in self.arrays.items()}
        payload["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        np.savez_compressed(buffer, **payload)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SpeakerProfile:
        """Parse :meth:`to_bytes` output; raises :class:`FailedPrecondition` if unreadable."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays.pop("__meta__").tobytes().decode())
        except (ValueError, KeyError, OSError) as exc:
            raise FailedPrecondition("stored embedded voice profile is corrupt; enroll again") from exc
        if meta.get("format") != PROFILE_FORMAT:
            raise FailedPrecondition(
                f"embedded voice profile format {meta.get('format')} is not supported "
                f"(this build reads format {PROFILE_FORMAT}); enroll the voice again"
            )
        return cls(
            variant=str(meta["variant"]),
            rate_factor=float(meta["rate_factor"]),
            arrays={name: value.astype(np.float64) for name, value in arrays.items()},
        )
