"""The embedded engine's speaker profile: what enrollment learns and synthesis applies.

A profile is a handful of named float arrays plus a little metadata, serialised as an
uncompressed-safe ``.npz`` (no pickle) inside :attr:`VoiceModel.data`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from server.engines.profile_codec import pack_profile, unpack_profile
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
        meta = {"variant": self.variant, "rate_factor": float(self.rate_factor)}
        return pack_profile(PROFILE_FORMAT, meta, self.arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> SpeakerProfile:
        """Parse :meth:`to_bytes` output; raises :class:`FailedPrecondition` if unreadable."""
        meta, arrays = unpack_profile(data, PROFILE_FORMAT, "embedded")
        try:
            return cls(variant=str(meta["variant"]), rate_factor=float(meta["rate_factor"]),
                       arrays=arrays)
        except (KeyError, TypeError, ValueError) as exc:
            raise FailedPrecondition("stored embedded voice profile is corrupt; enroll again") from exc
