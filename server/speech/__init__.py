"""Speech checks for consent and enrollment audio.

- :mod:`server.speech.quality` measures a recording (speech seconds, SNR, clipping, level);
  :mod:`server.speech.checks` turns those figures into caller-facing refusals.
- :mod:`server.speech.speaker` embeds speakers and verifies that two recordings share one.
- :mod:`server.speech.asr` transcribes consent recordings; :mod:`server.speech.statement`
  writes the consent statement and checks a transcript against it.

Importing this package loads no model: the encoder and the recognizer load on first use.
"""

from server.speech.checks import (
    ConsentLimits,
    EnrollmentLimits,
    check_consent_audio,
    check_enrollment_audio,
)
from server.speech.quality import AnalysisSettings, SpeechQuality, analyze_speech
from server.speech.speaker import SpeakerEncoder, SpeakerMatch, SpeakerVerifier

__all__ = [
    "AnalysisSettings",
    "ConsentLimits",
    "EnrollmentLimits",
    "SpeakerEncoder",
    "SpeakerMatch",
    "SpeakerVerifier",
    "SpeechQuality",
    "analyze_speech",
    "check_consent_audio",
    "check_enrollment_audio",
]
