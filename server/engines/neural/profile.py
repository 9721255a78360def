"""What the embedded-neural engine learns at enrollment, serialised without pickle.

A profile holds the speaker's pitch statistics, the formant warp, the speaker's mel
statistics and, per base voice, the base voice's mel statistics after the pitch/warp step
(measured at enrollment on a fixed passage, because they depend on the speaker's pitch
and warp). About 4 KB per voice (3.6 KB measured).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from server.engines.neural.convert import PitchStats
from server.engines.profile_codec import pack_profile, unpack_profile
from server.errors import FailedPrecondition

PROFILE_FORMAT = 1

MelStats = tuple[np.ndarray, np.ndarray]


@dataclass
class NeuralProfile:
    """Per-speaker parameters of the embedded-neural engine.

    ``base_pitch`` and ``base_mel`` are keyed by base voice (``piper`` for English,
    ``espeak`` for every other language); ``espeak_variant`` is the eSpeak NG variant used
    as the non-English base voice; ``rate_factor`` scales the base voices' speaking rate
    toward the speaker's.
    """

    speaker_pitch: PitchStats
    warp: float
    speaker_mel: MelStats
    espeak_variant: str
    rate_factor: float = 1.0
    base_pitch: dict[str, PitchStats] = field(default_factory=dict)
    base_mel: dict[str, MelStats] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Serialise (``.npz`` of float32 arrays plus a JSON header)."""
        meta = {
            "speaker_pitch": [self.speaker_pitch.mean, self.speaker_pitch.std],
            "warp": self.warp,
            "espeak_variant": self.espeak_variant,
            "rate_factor": self.rate_factor,
            "base_pitch": {k: [v.mean, v.std] for k, v in self.base_pitch.items()},
            "bases": sorted(self.base_mel),
        }
        arrays = {"speaker_mean": self.speaker_mel[0], "speaker_std": self.speaker_mel[1]}
        for name, (mean, std) in self.base_mel.items():
            arrays[f"{name}_mean"] = mean
            arrays[f"{name}_std"] = std
        return pack_profile(PROFILE_FORMAT, meta, arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> NeuralProfile:
        """Parse :meth:`to_bytes` output; :class:`FailedPrecondition` if it is unreadable."""
        meta, arrays = unpack_profile(data, PROFILE_FORMAT, "embedded-neural")
        try:
            return cls(
                speaker_pitch=PitchStats(*map(float, meta["speaker_pitch"])),
                warp=float(meta["warp"]),
                speaker_mel=(arrays["speaker_mean"], arrays["speaker_std"]),
                espeak_variant=str(meta["espeak_variant"]),
                rate_factor=float(meta["rate_factor"]),
                base_pitch={k: PitchStats(*map(float, v)) for k, v in meta["base_pitch"].items()},
                base_mel={b: (arrays[f"{b}_mean"], arrays[f"{b}_std"]) for b in meta["bases"]},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise FailedPrecondition(
                "stored embedded-neural voice profile is corrupt; enroll again"
            ) from exc
