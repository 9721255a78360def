"""The records the batched decoder shares with the model stack, and what it needs of it.

Kept apart from :mod:`~server.engines.gpt_sovits.models` (which loads the models and runs
a batch of one through :class:`~server.engines.gpt_sovits.batcher.SynthesisBatch`) so that
the batcher depends on these records and a Protocol, not on the pipeline: no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from server.engines.gpt_sovits.t2s_backend import T2SBackend
from server.engines.gpt_sovits.t2s_decode import MAX_NEW_TOKENS
from server.engines.gpt_sovits.text.frontend import PhoneSegment

#: The official pause after each text segment, in seconds.
FRAGMENT_INTERVAL = 0.3


@dataclass(frozen=True)
class InferenceOptions:
    """One request's settings; the defaults are the official ``TTS.run`` ones."""

    top_k: int = 15
    top_p: float = 1.0
    temperature: float = 1.0
    repetition_penalty: float = 1.35
    noise_scale: float = 0.5
    speed: float = 1.0
    seed: int | None = None
    max_new_tokens: int = MAX_NEW_TOKENS
    text_split: str = "cut1"


@dataclass(frozen=True)
class PreparedVoice:
    """A voice's tensors, ready for any number of requests."""

    language: str
    prompt: PhoneSegment
    prompt_codes: torch.Tensor  # (T25,) int64
    refer_spec: torch.Tensor  # (1, 1025, Tr)
    sv_embedding: torch.Tensor | None  # (1, 20480)


class DecodingModels(Protocol):
    """What :class:`~server.engines.gpt_sovits.batcher.SynthesisBatch` needs of the model
    stack (``pipeline.GptSovitsModels``): the T2S model and the SoVITS decode."""

    t2s: T2SBackend
    device: torch.device
    dtype: torch.dtype

    def decode_segment(
        self, voice: PreparedVoice, segment: PhoneSegment, tokens: torch.Tensor,
        options: InferenceOptions, noise: torch.Tensor | None,
        generator: torch.Generator | None, *, normalize: bool = True,
    ) -> np.ndarray:
        """SoVITS audio (32 kHz float32) of one segment's semantic tokens."""
        ...
