"""Conversion of base-voice WORLD features toward the enrolled speaker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server.engines.embedded.profile import SpeakerProfile
from server.engines.world import WorldFeatures


@dataclass(frozen=True)
class ConversionSettings:
    """Knobs of the statistical mapping (defaults are the benchmarked best).

    ``max_std_ratio`` caps how much an envelope coefficient's spread may grow (speaker
    std / base std); ``envelope_variance`` False maps means only; ``pitch_variance``
    False keeps the base voice's pitch excursions (only the register moves).
    """

    max_std_ratio: float = 10.0
    envelope_variance: bool = True
    pitch_variance: bool = True
    map_unvoiced: bool = True


def convert(
    features: WorldFeatures,
    mask: np.ndarray,
    profile: SpeakerProfile,
    settings: ConversionSettings = ConversionSettings(),
) -> WorldFeatures:
    """Map pitch and envelope statistics of the base voice onto the speaker's.

    Log-F0 and each envelope coefficient (but the level, c0, which is only shifted) are
    mean/variance normalised with the base voice's statistics and de-normalised with the
    speaker's, voiced and unvoiced speech frames separately. Aperiodicity is not
    converted but set: every frame gets the speaker's average for its voicing, so
    ``features.aperiodicity_db`` is ignored and need not be analysed. eSpeak NG's own
    aperiodicity says little beyond voicing: on the corpus, skipping its analysis (D4C,
    the costliest WORLD step) gave similarity 0.652 against 0.654 and WER 13.2 % against
    12.9 % in paired runs, while synthesis ran almost twice as fast (docs/engines.md).
    """
    a = profile.arrays
    f0 = features.f0.copy()
    voiced = f0 > 0
    log_f0 = np.log(f0[voiced]) - a["base_lf0_mean"][0]
    if settings.pitch_variance:
        log_f0 *= a["spk_lf0_std"][0] / a["base_lf0_std"][0]
    f0[voiced] = np.exp(log_f0 + a["spk_lf0_mean"][0])

    envelope = features.envelope.copy()
    aperiodicity = np.where(voiced[:, None], a["spk_ap_v_mean"][None, :], a["spk_ap_u_mean"][None, :])
    # The level coefficient (c0) is only shifted: scaling its spread would lift the base
    # voice's near-silent closures up to fricative level and add hiss.
    envelope[:, 0] += a["spk_env_v_mean"][0] - a["base_env_v_mean"][0]
    kinds = [(voiced & mask, "v")]
    if settings.map_unvoiced:
        kinds.append((~voiced & mask, "u"))
    for frames, kind in kinds:
        centred = envelope[frames, 1:] - a[f"base_env_{kind}_mean"][1:]
        if settings.envelope_variance:
            ratio = a[f"spk_env_{kind}_std"][1:] / a[f"base_env_{kind}_std"][1:]
            centred *= np.minimum(ratio, settings.max_std_ratio)
        envelope[frames, 1:] = centred + a[f"spk_env_{kind}_mean"][1:]
    return WorldFeatures(f0=f0, envelope=envelope, aperiodicity_db=np.minimum(aperiodicity, 0.0))
